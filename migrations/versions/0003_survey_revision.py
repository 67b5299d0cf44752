"""survey revision: a mark that changes with every edit of a survey's content

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:20:00

Each worker process keeps the questionnaires it serves to residents and compares
this mark (one small query per request) to know when an edit made its copy stale.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.String(length=32), server_default='initial', nullable=False))


def downgrade():
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_column('revision')
