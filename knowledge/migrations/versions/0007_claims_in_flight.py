"""Questions in flight survive their process: a claim records its state (claimed, answering, answered,
abandoned), who holds it and until when (a lease its holder renews), the placeholder posted for it, the question
and where to answer it, and how many times another process took it over. Claims taken before are finished.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handled_events") as table:
        table.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="answered"))
        table.add_column(sa.Column("holder", sa.String(200), nullable=True))
        table.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("placeholder", sa.String(128), nullable=True))
        table.add_column(sa.Column("question", sa.Text, nullable=True))
        table.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        table.create_index("handled_events_unfinished", ["state"])


def downgrade() -> None:
    with op.batch_alter_table("handled_events") as table:
        table.drop_index("handled_events_unfinished")
        for column in ("attempts", "question", "placeholder", "lease_until", "holder", "state"):
            table.drop_column(column)
