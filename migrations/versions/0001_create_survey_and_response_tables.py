"""create survey and response tables

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 07:27:46.542635

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('survey_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_series')),
    sa.UniqueConstraint('code', name=op.f('uq_survey_series_code'))
    )
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('wave', sa.String(length=32), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('intro', sa.JSON(), nullable=False),
    sa.Column('default_language', sa.String(length=16), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f('ck_surveys_status')),
    sa.CheckConstraint('closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at', name=op.f('ck_surveys_dates')),
    sa.ForeignKeyConstraint(['series_id'], ['survey_series.id'], name=op.f('fk_surveys_series_id_survey_series'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('series_id', 'wave', name=op.f('uq_surveys_series_id_wave')),
    sa.UniqueConstraint('slug', name=op.f('uq_surveys_slug'))
    )
    op.create_table('questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('sensitive', sa.Boolean(), nullable=False),
    sa.Column('max_choices', sa.Integer(), nullable=True),
    sa.Column('max_length', sa.Integer(), nullable=True),
    sa.Column('text', sa.JSON(), nullable=False),
    sa.Column('hint', sa.JSON(), nullable=False),
    sa.CheckConstraint("max_choices IS NULL OR (type = 'multi' AND max_choices >= 1)", name=op.f('ck_questions_max_choices')),
    sa.CheckConstraint("max_length IS NULL OR (type = 'text' AND max_length >= 1)", name=op.f('ck_questions_max_length')),
    sa.CheckConstraint("type IN ('single', 'multi', 'matrix', 'text')", name=op.f('ck_questions_type')),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_questions_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
    sa.UniqueConstraint('survey_id', 'code', name=op.f('uq_questions_survey_id_code')),
    sa.UniqueConstraint('survey_id', 'id', name=op.f('uq_questions_survey_id_id'))
    )
    op.create_table('responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('online', 'paper', 'event', 'phone')", name=op.f('ck_responses_channel')),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_responses_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responses')),
    sa.UniqueConstraint('survey_id', 'id', name=op.f('uq_responses_survey_id_id')),
    sa.UniqueConstraint('survey_id', 'uid', name=op.f('uq_responses_survey_id_uid'))
    )
    op.create_table('matrix_items',
    sa.Column('same_as', sa.JSON(), server_default='[]', nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_matrix_items_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matrix_items')),
    sa.UniqueConstraint('question_id', 'code', name=op.f('uq_matrix_items_question_id_code')),
    sa.UniqueConstraint('question_id', 'id', name=op.f('uq_matrix_items_question_id_id'))
    )
    op.create_table('options',
    sa.Column('exclusive', sa.Boolean(), nullable=False),
    sa.Column('same_as', sa.JSON(), server_default='[]', nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_options_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_options')),
    sa.UniqueConstraint('question_id', 'code', name=op.f('uq_options_question_id_code')),
    sa.UniqueConstraint('question_id', 'id', name=op.f('uq_options_question_id_id'))
    )
    op.create_table('scale_points',
    sa.Column('top_box', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_scale_points_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scale_points')),
    sa.UniqueConstraint('question_id', 'code', name=op.f('uq_scale_points_question_id_code')),
    sa.UniqueConstraint('question_id', 'id', name=op.f('uq_scale_points_question_id_id'))
    )
    op.create_table('answers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('scale_point_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.CheckConstraint('(option_id IS NOT NULL AND item_id IS NULL AND scale_point_id IS NULL AND text IS NULL) OR (option_id IS NULL AND item_id IS NOT NULL AND scale_point_id IS NOT NULL AND text IS NULL) OR (option_id IS NULL AND item_id IS NULL AND scale_point_id IS NULL AND text IS NOT NULL)', name=op.f('ck_answers_one_kind')),
    sa.ForeignKeyConstraint(['question_id', 'item_id'], ['matrix_items.question_id', 'matrix_items.id'], name=op.f('fk_answers_question_id_item_id_matrix_items')),
    sa.ForeignKeyConstraint(['question_id', 'option_id'], ['options.question_id', 'options.id'], name=op.f('fk_answers_question_id_option_id_options')),
    sa.ForeignKeyConstraint(['question_id', 'scale_point_id'], ['scale_points.question_id', 'scale_points.id'], name=op.f('fk_answers_question_id_scale_point_id_scale_points')),
    sa.ForeignKeyConstraint(['survey_id', 'question_id'], ['questions.survey_id', 'questions.id'], name=op.f('fk_answers_survey_id_question_id_questions')),
    sa.ForeignKeyConstraint(['survey_id', 'response_id'], ['responses.survey_id', 'responses.id'], name=op.f('fk_answers_survey_id_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answers'))
    )
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_index('ix_answers_counting', ['question_id', 'option_id', 'item_id', 'scale_point_id', 'response_id'], unique=False)
    # Autogenerate cannot see expression indexes: written by hand, as in survey/models.py.
    op.create_index(
        'uq_answers_one_per_choice',
        'answers',
        ['response_id', 'question_id', sa.text('coalesce(option_id, item_id, 0)')],
        unique=True,
    )



def downgrade():
    op.drop_index('uq_answers_one_per_choice', table_name='answers')
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_counting')

    op.drop_table('answers')
    op.drop_table('scale_points')
    op.drop_table('options')
    op.drop_table('matrix_items')
    op.drop_table('responses')
    op.drop_table('questions')
    op.drop_table('surveys')
    op.drop_table('survey_series')
