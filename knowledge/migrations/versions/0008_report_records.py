"""What the knowledge-gap report needs of every question: the retrieval's best cosine, the question's vector
(and the model that made it: clustering needs no re-embedding), the collections it was asked against, the time to
the first words and to the whole answer; the escalations ("Ask a human": who, when); and an index on the answers'
time, which the report and the retention purge both filter on.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as table:
        table.add_column(sa.Column("best_score", sa.Float, nullable=True))
        table.add_column(sa.Column("embedding", sa.LargeBinary, nullable=True))
        table.add_column(sa.Column("embedding_model", sa.String(200), nullable=True))
        table.add_column(sa.Column("collections", sa.Text, nullable=True))
        table.add_column(sa.Column("first_words_seconds", sa.Float, nullable=True))
        table.add_column(sa.Column("total_seconds", sa.Float, nullable=True))
        table.create_index("answers_created_at", ["created_at"])
    op.create_table(
        "escalations",
        sa.Column("answer_id", sa.String(32), primary_key=True),
        sa.Column("user", sa.String(128), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("feedback") as table:
        table.create_index("feedback_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("feedback") as table:
        table.drop_index("feedback_created_at")
    op.drop_table("escalations")
    with op.batch_alter_table("answers") as table:
        table.drop_index("answers_created_at")
        for column in ("total_seconds", "first_words_seconds", "collections", "embedding_model", "embedding",
                       "best_score"):  # fmt: skip
            table.drop_column(column)
