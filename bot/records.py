"""What the bot remembers of its work: events already claimed (exactly once), answers given, and feedback."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Column, DateTime, Engine, Float, Index, Integer, String, Table, Text, insert, select, update

from bot.messages import Answer, IncomingMessage, Source
from knowledge.database import METADATA

claims_table = Table(
    "handled_events",
    METADATA,
    Column("platform", String(32), primary_key=True),
    Column("event_key", String(256), primary_key=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    # A question in flight (bot/inflight.py): claimed -> answering (a placeholder is posted) -> answered, or
    # abandoned; its holder renews `lease_until` while it lives, and another process takes over once it lapses.
    Column("state", String(16), nullable=False, server_default="answered"),
    Column("holder", String(200), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("placeholder", String(128), nullable=True),  # the message that stands for the answer until it comes
    Column("question", Text, nullable=True),  # the question and where to answer it, while it is in flight
    Column("attempts", Integer, nullable=False, server_default="0"),  # takings-over by another process
    Index("handled_events_unfinished", "state"),
)
answers_table = Table(
    "answers",
    METADATA,
    Column("id", String(32), primary_key=True),
    Column("platform", String(32), nullable=False),
    Column("workspace", String(128), nullable=False),
    Column("channel", String(128), nullable=False),
    Column("thread", String(128), nullable=False),
    Column("user", String(128), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("language", String(8), nullable=False),
    Column("model", String(200), nullable=True),
    Column("sources", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Grounding (bot/checks/grounding.py): the share of sentences a cited passage supports; sentences dropped as
    # invented.
    Column("supported", Float, nullable=True),
    Column("invented_sentences", Integer, nullable=True),
)
feedback_table = Table(
    "feedback",
    METADATA,
    Column("answer_id", String(32), primary_key=True),
    Column("user", String(128), primary_key=True),
    Column("rating", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

Rating = Literal["helpful", "not_helpful"]


class Records:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, platform: str, event_key: str) -> bool:
        """True for the first caller only, across processes, for an event handled in one step (nothing to recover
        if the process dies); a question to answer is claimed with bot.inflight.InFlight.claim."""
        from bot.inflight import InFlight  # it builds on this module's table

        return InFlight(self._engine).claim(platform, event_key)

    def record_answer(self, message: IncomingMessage, answer: Answer) -> str:
        answer_id = uuid.uuid4().hex
        sources = [{"title": s.title, "path": s.path, "url": s.url, "collection": s.collection} for s in answer.sources]
        with self._engine.begin() as db:
            db.execute(
                insert(answers_table).values(
                    id=answer_id, platform=message.platform, workspace=message.workspace, channel=message.channel,
                    thread=message.thread, user=message.user, question=message.text, answer=answer.text,
                    status=answer.status, language=answer.language, model=answer.model,
                    sources=json.dumps(sources, ensure_ascii=False), created_at=_now(),
                    supported=answer.supported,
                    invented_sentences=answer.sentences.invented if answer.sentences else None,
                )
            )  # fmt: skip
        return answer_id

    def recorded(self, message: IncomingMessage, *, since: datetime) -> Answer | None:
        """The answer this question got since then, if one was written and logged (a process that died before
        posting it leaves it here: posting it beats asking the model again)."""
        query = (
            select(answers_table)
            .where(
                answers_table.c.platform == message.platform, answers_table.c.channel == message.channel,
                answers_table.c.thread == message.thread, answers_table.c.user == message.user,
                answers_table.c.question == message.text, answers_table.c.created_at >= since,
            )
            .order_by(answers_table.c.created_at.desc())
            .limit(1)
        )  # fmt: skip
        with self._engine.connect() as db:
            row = db.execute(query).mappings().first()
        if row is None:
            return None
        sources = tuple(
            Source(title=s["title"], heading="", path=s["path"], url=s["url"], collection=s["collection"])
            for s in json.loads(row["sources"])
        )
        return Answer(text=row["answer"], sources=sources, language=row["language"], status=row["status"],
                      model=row["model"], id=row["id"])  # fmt: skip

    def answer(self, answer_id: str) -> dict[str, object] | None:
        with self._engine.connect() as db:
            row = db.execute(select(answers_table).where(answers_table.c.id == answer_id)).mappings().first()
        return dict(row) if row else None

    def record_feedback(self, answer_id: str, *, user: str, rating: Rating) -> bool:
        """One vote per person and answer (a second click changes it); False for an unknown answer."""
        if self.answer(answer_id) is None:
            return False
        key = (feedback_table.c.answer_id == answer_id, feedback_table.c.user == user)
        with self._engine.begin() as db:
            if db.execute(select(feedback_table).where(*key)).first():
                db.execute(update(feedback_table).where(*key).values(rating=rating, created_at=_now()))
            else:
                db.execute(
                    insert(feedback_table).values(answer_id=answer_id, user=user, rating=rating, created_at=_now())
                )
        return True

    def feedback(self, answer_id: str) -> dict[str, str]:
        with self._engine.connect() as db:
            rows = db.execute(select(feedback_table).where(feedback_table.c.answer_id == answer_id))
            return {row.user: row.rating for row in rows}


def _now() -> datetime:
    return datetime.now(UTC)
