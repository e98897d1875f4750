"""The tables `create_all` made before migrations existed: sync manifest, thread history, records.

Each table is created only where it is missing, so a database made before migrations (holding all or, from
older versions of supportbot, some of these tables, never a different shape of them) is adopted by this
revision as it is.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def _tables() -> dict[str, list[sa.Column[object]]]:
    return {
        "sync_files": [
            sa.Column("collection", sa.String(64), primary_key=True),
            sa.Column("path", sa.String(1024), primary_key=True),
            sa.Column("content_hash", sa.String(64), nullable=True),
            sa.Column("chunk_ids", sa.Text, nullable=False),
            sa.Column("chunks", sa.Integer, nullable=False),
            sa.Column("synced_at", _TZ, nullable=True),
            sa.Column("error", sa.Text, nullable=True),
            sa.Column("error_at", _TZ, nullable=True),
        ],
        "sync_garbage": [
            sa.Column("collection", sa.String(64), primary_key=True),
            sa.Column("chunk_id", sa.String(200), primary_key=True),
        ],
        "sync_collections": [
            sa.Column("collection", sa.String(64), primary_key=True),
            sa.Column("synced_at", _TZ, nullable=True),
        ],
        "thread_turns": [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("platform", sa.String(32), nullable=False),
            sa.Column("channel", sa.String(128), nullable=False),
            sa.Column("thread", sa.String(128), nullable=False),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("language", sa.String(8), nullable=True),
            sa.Column("created_at", _TZ, nullable=False),
        ],
        "handled_events": [
            sa.Column("platform", sa.String(32), primary_key=True),
            sa.Column("event_key", sa.String(256), primary_key=True),
            sa.Column("claimed_at", _TZ, nullable=False),
        ],
        "answers": [
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("platform", sa.String(32), nullable=False),
            sa.Column("workspace", sa.String(128), nullable=False),
            sa.Column("channel", sa.String(128), nullable=False),
            sa.Column("thread", sa.String(128), nullable=False),
            sa.Column("user", sa.String(128), nullable=False),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("answer", sa.Text, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("language", sa.String(8), nullable=False),
            sa.Column("model", sa.String(200), nullable=True),
            sa.Column("sources", sa.Text, nullable=False),
            sa.Column("created_at", _TZ, nullable=False),
        ],
        "feedback": [
            sa.Column("answer_id", sa.String(32), primary_key=True),
            sa.Column("user", sa.String(128), primary_key=True),
            sa.Column("rating", sa.String(16), nullable=False),
            sa.Column("created_at", _TZ, nullable=False),
        ],
    }


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in _tables().items():
        if name not in existing:
            op.create_table(name, *columns)
            if name == "thread_turns":
                op.create_index("ix_thread_turns_platform", "thread_turns", ["platform"])


def downgrade() -> None:
    for name in reversed(list(_tables())):
        op.drop_table(name)
