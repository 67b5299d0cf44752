"""responses' (survey_id, uid) key indexed uid first, so PostgreSQL's foreign-key checks never scan it

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:10:00

Every answer row's foreign key to its response is checked with
``SELECT 1 FROM responses WHERE survey_id = $1 AND id = $2``. While ``responses`` is
empty (a new database, a survey just launched), PostgreSQL plans that check on the
unique index (survey_id, uid) - equality on survey_id, then a filter on id - and keeps
the plan for the life of the connection: each answer of a resident then read every
earlier response of the survey, so a submission cost more the more had come before.
With uid first that index cannot serve a look-up by survey, and the check uses the
(survey_id, id) key. The constraint keeps its name and its columns (ON CONFLICT
(survey_id, uid) is unchanged).

SQLite checks a foreign key on the parent key's own index, so it has nothing to gain,
and rebuilding its responses table would cascade into answers: it keeps its index.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

CONSTRAINT = 'uq_responses_survey_id_uid'


def _key_columns(columns):
    if op.get_context().dialect.name != 'postgresql':
        return
    op.drop_constraint(CONSTRAINT, 'responses', type_='unique')
    op.create_unique_constraint(CONSTRAINT, 'responses', columns)


def upgrade():
    _key_columns(['uid', 'survey_id'])


def downgrade():
    _key_columns(['survey_id', 'uid'])
