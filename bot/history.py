"""Thread history in the bot's database, keyed by platform, channel and thread; survives restarts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, Text, delete, insert, select

from knowledge.database import METADATA

turns_table = Table(
    "thread_turns",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False, index=True),
    Column("channel", String(128), nullable=False),
    Column("thread", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("language", String(8), nullable=True),
    # The passages given to the model with this question, as it read them (bot.prompt_format user_context).
    Column("context", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str
    language: str | None = None
    context: str | None = None  # the passages given with a question, when they travel in its turn


@dataclass(frozen=True)
class ThreadKey:
    platform: str
    channel: str
    thread: str


class SqlThreadHistory:
    """Turns of each thread, oldest first; old turns age out after `retention_days`."""

    def __init__(self, engine: Engine, *, retention_days: float = 30) -> None:
        self._engine = engine
        self._retention = timedelta(days=retention_days)

    def add(self, key: ThreadKey, turn: Turn) -> None:
        now = datetime.now(UTC)
        with self._engine.begin() as db:
            db.execute(
                insert(turns_table).values(
                    platform=key.platform, channel=key.channel, thread=key.thread,
                    role=turn.role, text=turn.text, language=turn.language, context=turn.context, created_at=now,
                )
            )  # fmt: skip
            db.execute(delete(turns_table).where(turns_table.c.created_at < now - self._retention))

    def drop_unanswered(self, key: ThreadKey, text: str) -> bool:
        """Forget the thread's last turn if it is this question, unanswered (its process died answering it), so
        that answering it again does not ask it twice."""
        newest = select(turns_table.c.id, turns_table.c.role, turns_table.c.text).where(
            turns_table.c.platform == key.platform, turns_table.c.channel == key.channel,
            turns_table.c.thread == key.thread,
        ).order_by(turns_table.c.id.desc()).limit(1)  # fmt: skip
        with self._engine.begin() as db:
            row = db.execute(newest).first()
            if row is None or row.role != "user" or row.text != text:
                return False
            db.execute(delete(turns_table).where(turns_table.c.id == row.id))
        return True

    def has_answered(self, key: ThreadKey) -> bool:
        """Whether the bot has answered in this thread (its follow-ups then need no mention)."""
        query = select(turns_table.c.id).where(
            turns_table.c.platform == key.platform, turns_table.c.channel == key.channel,
            turns_table.c.thread == key.thread, turns_table.c.role == "assistant",
        ).limit(1)  # fmt: skip
        with self._engine.connect() as db:
            return db.execute(query).first() is not None

    def is_empty(self, key: ThreadKey) -> bool:
        query = select(turns_table.c.id).where(
            turns_table.c.platform == key.platform, turns_table.c.channel == key.channel,
            turns_table.c.thread == key.thread,
        ).limit(1)  # fmt: skip
        with self._engine.connect() as db:
            return db.execute(query).first() is None

    def recent(
        self, key: ThreadKey, *, budget: int, count_tokens: Callable[[str], int], with_context: bool = False
    ) -> list[Turn]:
        """The newest turns that fit in `budget` tokens, oldest first (the oldest are dropped first). With
        `with_context`, questions keep the passages they were asked with, and those count against the budget."""
        query = (
            select(turns_table.c.role, turns_table.c.text, turns_table.c.language, turns_table.c.context)
            .where(
                turns_table.c.platform == key.platform,
                turns_table.c.channel == key.channel,
                turns_table.c.thread == key.thread,
                turns_table.c.created_at >= datetime.now(UTC) - self._retention,
            )
            .order_by(turns_table.c.id.desc())
        )
        kept: list[Turn] = []
        used = 0
        with self._engine.connect() as db:
            for row in db.execute(query):
                context = row.context if with_context else None
                bare = count_tokens(row.text) + 4  # + role markers
                whole = bare + (count_tokens(context) if context else 0)
                if used + whole <= budget:
                    kept.append(Turn(row.role, row.text, row.language, context))
                    used += whole
                    continue
                if context and used + bare <= budget:  # the question still fits without its passages
                    kept.append(Turn(row.role, row.text, row.language))
                break
        kept.reverse()
        while kept and kept[0].role != "user":  # a conversation the model sees starts with a question
            kept.pop(0)
        return kept
