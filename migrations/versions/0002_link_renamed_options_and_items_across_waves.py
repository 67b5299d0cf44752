"""link renamed options and items across waves

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:19:26.868309

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('matrix_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('same_as', sa.JSON(), server_default='[]', nullable=False))

    with op.batch_alter_table('options', schema=None) as batch_op:
        batch_op.add_column(sa.Column('same_as', sa.JSON(), server_default='[]', nullable=False))



def downgrade():
    with op.batch_alter_table('options', schema=None) as batch_op:
        batch_op.drop_column('same_as')

    with op.batch_alter_table('matrix_items', schema=None) as batch_op:
        batch_op.drop_column('same_as')

