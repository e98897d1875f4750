"""Each question's passages beside it in the thread's history, so a follow-up's prompt starts with the earlier one.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("thread_turns") as table:
        table.add_column(sa.Column("context", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("thread_turns") as table:
        table.drop_column("context")
