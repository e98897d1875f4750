"""Each synced document's language and the page it is a version of, so retrieval gives one passage per page in
the asker's language (documents synced before are given theirs at the next sync, from their stored text).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_languages",
        sa.Column("collection", sa.String(64), primary_key=True),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("declared", sa.String(1024), nullable=True),
        sa.Column("page", sa.String(1024), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("page_languages")
