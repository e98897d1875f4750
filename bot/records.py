"""What the bot remembers of its work: events already claimed (exactly once), answers given (with what the report
needs of each question), feedback and escalations; kept `records.retention_days`, then purged."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

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
    # For the report (bot/report): the retrieval's best cosine, the question's vector as float32 bytes and the
    # model that made it (gaps cluster without re-embedding), the collections it was asked against (JSON), the
    # seconds to the first words and to the whole answer.
    Column("best_score", Float, nullable=True),
    Column("embedding", LargeBinary, nullable=True),
    Column("embedding_model", String(200), nullable=True),
    Column("collections", Text, nullable=True),
    Column("first_words_seconds", Float, nullable=True),
    Column("total_seconds", Float, nullable=True),
    Index("answers_created_at", "created_at"),
)
feedback_table = Table(
    "feedback",
    METADATA,
    Column("answer_id", String(32), primary_key=True),
    Column("user", String(128), primary_key=True),
    Column("rating", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("feedback_created_at", "created_at"),
)
escalations_table = Table(  # "Ask a human" pressed under an answer: by whom, when (once a person and answer)
    "escalations",
    METADATA,
    Column("answer_id", String(32), primary_key=True),
    Column("user", String(128), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

log = logging.getLogger(__name__)
PURGE_EVERY = 3600.0  # seconds between two purges of old records by one process
PURGE_BATCH = 500  # answers deleted in one transaction (each a few kB: its question, answer, sources and vector)

Rating = Literal["helpful", "not_helpful"]


@dataclass(frozen=True)
class Asked:
    """What retrieval knew of a question, logged with its answer for the report."""

    best_score: float | None = None  # the best dense cosine (on the embedding model's own scale)
    embedding: Sequence[float] = ()
    embedding_model: str | None = None
    collections: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThreadRecord:
    askers: frozenset[str]  # the users the bot answered in the thread (within the log's retention)
    handed_over: bool  # someone asked for a person under one of its answers


@dataclass(frozen=True)
class Purged:
    answers: int
    feedback: int
    escalations: int


class Records:
    def __init__(self, engine: Engine, *, retention_days: float | None = None) -> None:
        """With `retention_days`, recording an answer also deletes what is older (at most once an hour)."""
        self._engine = engine
        self._retention = timedelta(days=retention_days) if retention_days else None
        self._purged_at: float | None = None
        self._purging: threading.Thread | None = None  # the purge under way, beside the answers
        self._purge_lock = threading.Lock()

    def claim(self, platform: str, event_key: str) -> bool:
        """True for the first caller only, across processes, for an event handled in one step (nothing to recover
        if the process dies); a question to answer is claimed with bot.inflight.InFlight.claim."""
        from bot.inflight import InFlight  # it builds on this module's table

        return InFlight(self._engine).claim(platform, event_key)

    def unclaim(self, platform: str, event_key: str) -> None:
        """Gives a one-step claim back (its work failed): the next claim of that key wins again."""
        key = (claims_table.c.platform == platform, claims_table.c.event_key == event_key)
        with self._engine.begin() as db:
            db.execute(delete(claims_table).where(*key))

    def record_answer(self, message: IncomingMessage, answer: Answer, asked: Asked | None = None) -> str:
        answer_id = uuid.uuid4().hex
        asked = asked or Asked()
        timings = answer.timings
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
                    best_score=asked.best_score, embedding=_vector_bytes(asked.embedding),
                    embedding_model=asked.embedding_model if asked.embedding else None,
                    collections=json.dumps(list(asked.collections)), first_words_seconds=timings.first_token,
                    total_seconds=timings.retrieval + timings.generation,
                )
            )  # fmt: skip
        self._purge_now_and_then()
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

    def record_escalation(self, answer_id: str, *, user: str) -> bool:
        """Someone asked for a person under this answer (once a person); False for an unknown answer."""
        if self.answer(answer_id) is None:
            return False
        key = (escalations_table.c.answer_id == answer_id, escalations_table.c.user == user)
        with self._engine.begin() as db:
            if not db.execute(select(escalations_table).where(*key)).first():
                db.execute(insert(escalations_table).values(answer_id=answer_id, user=user, created_at=_now()))
        return True

    def unresolved(self, platform: str, channel: str, thread: str, *,
                   before: datetime | None = None) -> dict[str, object] | None:  # fmt: skip
        """The thread's latest answer the bot could not give or that did not help: abstained, rated 👎 by anyone,
        or escalated to a person; None when every answer in the thread stood (or the bot never answered there).
        A person's reply in such a thread is what may become knowledge (bot/learning.py); `before`: when the reply
        was written (the bot may have taken the reply itself for a follow-up, and answered it after)."""
        answers = answers_table.c
        rated_down = select(feedback_table.c.answer_id).where(feedback_table.c.rating == "not_helpful")
        query = (
            select(answers_table)
            .where(answers.platform == platform, answers.channel == channel, answers.thread == thread)
            .where((answers.status == "abstained") | answers.id.in_(rated_down)
                   | answers.id.in_(select(escalations_table.c.answer_id)))
            .order_by(answers.created_at.desc())
            .limit(1)
        )  # fmt: skip
        if before is not None:
            query = query.where(answers.created_at < before)
        with self._engine.connect() as db:
            row = db.execute(query).mappings().first()
        return dict(row) if row else None

    def thread(self, platform: str, channel: str, thread: str) -> ThreadRecord:
        """Whom the bot answered in a thread, and whether anyone there asked for a person since."""
        answers = answers_table.c
        where = (answers.platform == platform, answers.channel == channel, answers.thread == thread)
        askers = select(answers.user).where(*where).distinct()
        handed = (select(escalations_table.c.answer_id)
                  .join(answers_table, answers.id == escalations_table.c.answer_id).where(*where).limit(1))  # fmt: skip
        with self._engine.connect() as db:
            return ThreadRecord(frozenset(db.scalars(askers)), db.execute(handed).first() is not None)

    def escalations(self, answer_id: str) -> list[str]:
        """Who asked for a person under this answer, first first."""
        query = select(escalations_table.c.user).where(escalations_table.c.answer_id == answer_id)
        with self._engine.connect() as db:
            return list(db.scalars(query.order_by(escalations_table.c.created_at)))

    def purge(self, before: datetime) -> Purged:
        """Delete the questions and answers asked before then, with their feedback and escalations, and any
        feedback or escalation given before then. In batches of PURGE_BATCH answers, a transaction each: on SQLite
        a delete holds the one write lock, and the answers being recorded meanwhile wait for it (a first purge of
        months of records in one transaction could outlast their wait and lose them)."""
        children = {"feedback": feedback_table, "escalations": escalations_table}
        answers, removed = 0, dict.fromkeys(children, 0)
        while True:
            with self._engine.begin() as db:
                ids = list(db.scalars(select(answers_table.c.id).where(answers_table.c.created_at < before)
                                      .limit(PURGE_BATCH)))  # fmt: skip
                if not ids:
                    break
                for name, table in children.items():
                    removed[name] += db.execute(delete(table).where(table.c.answer_id.in_(ids))).rowcount
                answers += db.execute(delete(answers_table).where(answers_table.c.id.in_(ids))).rowcount
        with self._engine.begin() as db:  # given before then under answers still kept
            for name, table in children.items():
                removed[name] += db.execute(delete(table).where(table.c.created_at < before)).rowcount
        return Purged(answers=answers, **removed)

    def _purge_now_and_then(self) -> None:
        """At most once an hour, a purge in a thread of its own: the answer that falls due for it is posted without
        waiting for the delete (seconds on a large table)."""
        if self._retention is None:
            return
        with self._purge_lock:
            if self._purged_at is not None and time.monotonic() - self._purged_at < PURGE_EVERY:
                return
            self._purged_at = time.monotonic()
            self._purging = threading.Thread(target=self._purge_old, args=(_now() - self._retention,),
                                             name="records-purge", daemon=True)  # fmt: skip
            self._purging.start()

    def _purge_old(self, before: datetime) -> None:
        try:
            purged = self.purge(before)
        except Exception:  # the next hour tries again; the answers go on meanwhile
            log.exception("Could not delete the records older than records.retention_days")
            return
        if purged.answers:
            log.info("Deleted %d answer(s) older than records.retention_days", purged.answers)

    def wait_for_purge(self, timeout: float | None = None) -> bool:
        """Waits for the purge under way, if any; True once none is (False: still running after `timeout`)."""
        purging = self._purging
        if purging is not None:
            purging.join(timeout)
        return purging is None or not purging.is_alive()

    def feedback(self, answer_id: str) -> dict[str, str]:
        with self._engine.connect() as db:
            rows = db.execute(select(feedback_table).where(feedback_table.c.answer_id == answer_id))
            return {row.user: row.rating for row in rows}


def _now() -> datetime:
    return datetime.now(UTC)


def _vector_bytes(vector: Sequence[float]) -> bytes | None:
    return np.asarray(vector, dtype="<f4").tobytes() if len(vector) else None


def vector_of(stored: bytes | None) -> np.ndarray | None:
    """A question's vector as recorded (float32), or None."""
    return np.frombuffer(stored, dtype="<f4") if stored else None
