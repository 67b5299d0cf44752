"""answers stored in counting order: keyed by (question, choice, scale point, response)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00

The analysis counts answers by question, then option or matrix cell, then respondent. Until
now that order was a third index beside the table's own id and the one-per-choice index, and
importing a wave spent most of its time keeping it. The table's primary key is now that order
itself: ``choice_key`` (the option or item id, 0 for a text) and ``point_key`` (the scale point
id, 0 outside a matrix) repeat the nullable columns, so the key has no NULL, and a CHECK keeps
them equal. The answer id goes; nothing referred to it. On SQLite the table is rebuilt WITHOUT
ROWID, so the key is the table: one tree and one index per answer instead of three trees.
On PostgreSQL the columns are added and the id, its sequence and the counting index dropped.

Downgrade gives every answer an id again and restores both indexes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

CHOICE_KEY = 'coalesce(option_id, item_id, 0)'
POINT_KEY = 'coalesce(scale_point_id, 0)'
ONE_KIND = (
    '(option_id IS NOT NULL AND item_id IS NULL AND scale_point_id IS NULL AND text IS NULL)'
    ' OR (option_id IS NULL AND item_id IS NOT NULL AND scale_point_id IS NOT NULL AND text IS NULL)'
    ' OR (option_id IS NULL AND item_id IS NULL AND scale_point_id IS NULL AND text IS NOT NULL)'
)
ANSWER_COLUMNS = 'response_id, survey_id, question_id, option_id, item_id, scale_point_id, text'


def _foreign_keys():
    return [
        sa.ForeignKeyConstraint(['question_id', 'item_id'], ['matrix_items.question_id', 'matrix_items.id'], name=op.f('fk_answers_question_id_item_id_matrix_items')),
        sa.ForeignKeyConstraint(['question_id', 'option_id'], ['options.question_id', 'options.id'], name=op.f('fk_answers_question_id_option_id_options')),
        sa.ForeignKeyConstraint(['question_id', 'scale_point_id'], ['scale_points.question_id', 'scale_points.id'], name=op.f('fk_answers_question_id_scale_point_id_scale_points')),
        sa.ForeignKeyConstraint(['survey_id', 'question_id'], ['questions.survey_id', 'questions.id'], name=op.f('fk_answers_survey_id_question_id_questions')),
        sa.ForeignKeyConstraint(['survey_id', 'response_id'], ['responses.survey_id', 'responses.id'], name=op.f('fk_answers_survey_id_response_id_responses'), ondelete='CASCADE'),
    ]


def _value_columns():
    return [
        sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('option_id', sa.Integer(), nullable=True),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('scale_point_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
    ]


def _rebuild_sqlite(table_args, columns, insert_columns, select_columns, order_by, with_rowid):
    """SQLite cannot change a table's key in place: build the new table, copy, swap (foreign keys are off)."""
    op.create_table('_answers_new', *columns, *table_args, sqlite_with_rowid=with_rowid)
    op.execute(f'INSERT INTO _answers_new ({insert_columns}) SELECT {select_columns} FROM answers ORDER BY {order_by}')
    op.drop_table('answers')
    op.rename_table('_answers_new', 'answers')


def upgrade():
    keys = f'{ANSWER_COLUMNS}, choice_key, point_key'
    if op.get_context().dialect.name == 'sqlite':
        _rebuild_sqlite(
            [
                sa.CheckConstraint(ONE_KIND, name=op.f('ck_answers_one_kind')),
                sa.CheckConstraint(f'choice_key = {CHOICE_KEY} AND point_key = {POINT_KEY}', name=op.f('ck_answers_keys_match')),
                *_foreign_keys(),
                sa.PrimaryKeyConstraint('question_id', 'choice_key', 'point_key', 'response_id', name=op.f('pk_answers')),
            ],
            [
                *_value_columns(),
                sa.Column('choice_key', sa.Integer(), nullable=False),
                sa.Column('point_key', sa.Integer(), nullable=False),
            ],
            keys,
            f'{ANSWER_COLUMNS}, {CHOICE_KEY}, {POINT_KEY}',
            f'question_id, {CHOICE_KEY}, {POINT_KEY}, response_id',
            with_rowid=False,
        )
    else:
        op.drop_index('ix_answers_counting', table_name='answers')
        op.drop_index('uq_answers_one_per_choice', table_name='answers')
        op.add_column('answers', sa.Column('choice_key', sa.Integer(), nullable=True))
        op.add_column('answers', sa.Column('point_key', sa.Integer(), nullable=True))
        op.execute(f'UPDATE answers SET choice_key = {CHOICE_KEY}, point_key = {POINT_KEY}')
        op.alter_column('answers', 'choice_key', nullable=False)
        op.alter_column('answers', 'point_key', nullable=False)
        op.drop_constraint('pk_answers', 'answers', type_='primary')
        op.drop_column('answers', 'id')
        op.create_primary_key('pk_answers', 'answers', ['question_id', 'choice_key', 'point_key', 'response_id'])
        op.create_check_constraint(op.f('ck_answers_keys_match'), 'answers', sa.text(f'choice_key = {CHOICE_KEY} AND point_key = {POINT_KEY}'))
    op.create_index('uq_answers_one_per_choice', 'answers', ['response_id', 'question_id', 'choice_key'], unique=True)
    if op.get_context().dialect.name == 'postgresql':
        op.execute('ANALYZE answers')  # statistics for the new key; VACUUM (outside a transaction) can follow at leisure


def downgrade():
    op.drop_index('uq_answers_one_per_choice', table_name='answers')
    if op.get_context().dialect.name == 'sqlite':
        _rebuild_sqlite(
            [
                sa.CheckConstraint(ONE_KIND, name=op.f('ck_answers_one_kind')),
                *_foreign_keys(),
                sa.PrimaryKeyConstraint('id', name=op.f('pk_answers')),
            ],
            [sa.Column('id', sa.Integer(), nullable=False), *_value_columns()],
            ANSWER_COLUMNS,
            ANSWER_COLUMNS,
            'response_id, question_id, choice_key',
            with_rowid=True,
        )
    else:
        op.drop_constraint(op.f('ck_answers_keys_match'), 'answers', type_='check')
        op.drop_constraint('pk_answers', 'answers', type_='primary')
        op.execute('ALTER TABLE answers ADD COLUMN id BIGSERIAL')  # numbers the rows there are, as 0001's column did
        op.create_primary_key('pk_answers', 'answers', ['id'])
        op.drop_column('answers', 'point_key')
        op.drop_column('answers', 'choice_key')
    op.create_index('ix_answers_counting', 'answers', ['question_id', 'option_id', 'item_id', 'scale_point_id', 'response_id'], unique=False)
    op.create_index('uq_answers_one_per_choice', 'answers', ['response_id', 'question_id', sa.text(CHOICE_KEY)], unique=True)
