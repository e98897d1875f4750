"""The lexical copy of the store for hybrid retrieval: each chunk's words and vector, and a version a collection.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lexical_chunks",
        sa.Column("collection", sa.String(64), primary_key=True),
        sa.Column("chunk_id", sa.String(200), primary_key=True),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("heading", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "lexical_versions",
        sa.Column("collection", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lexical_versions")
    op.drop_table("lexical_chunks")
