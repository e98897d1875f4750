"""The questions of a period as the report reads them from the records: one value per question, with its outcome,
its ratings and escalations counted (never who gave them), and its vector when one was recorded."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Engine, func, select

from bot.records import answers_table, escalations_table, feedback_table, vector_of


@dataclass(frozen=True)
class Question:
    """One question of the period and what became of it."""

    id: str
    created_at: datetime
    platform: str
    channel: str
    user: str
    language: str
    status: str  # answered, abstained or failed
    question: str
    collections: tuple[str, ...]  # those it was asked of (its scope)
    cited: tuple[tuple[str, str], ...]  # (collection, path) of the documents its answer cites
    helpful: int
    not_helpful: int
    escalated: int
    first_words: float | None
    total: float | None
    embedding: np.ndarray | None = field(compare=False, repr=False)
    embedding_model: str | None = None

    @property
    def where(self) -> str:
        """The channel as the report names it: `platform:channel`."""
        return f"{self.platform}:{self.channel}"

    @property
    def self_served(self) -> bool:
        """Answered, and nobody said it did not help or asked for a person."""
        return self.status == "answered" and not self.not_helpful and not self.escalated

    @property
    def gap(self) -> bool:
        """What the knowledge base did not answer well: abstained, rated 👎 or escalated."""
        return self.status == "abstained" or bool(self.not_helpful) or bool(self.escalated)


def asked_between(engine: Engine, *, since: datetime, until: datetime, channel: str | None = None) -> list[Question]:
    """The questions asked in [since, until), oldest first; `channel`: one channel's only (`C1`, or `PLATFORM:C1`
    to tell platforms apart)."""
    answers = answers_table.c
    query = select(answers_table).where(answers.created_at >= since, answers.created_at < until)
    if channel:
        platform, _, name = channel.rpartition(":")
        query = query.where(answers.channel == name)
        if platform:
            query = query.where(answers.platform == platform)
    with engine.connect() as db:
        rows = list(db.execute(query.order_by(answers.created_at)).mappings())
        ids = [row["id"] for row in rows]
        ratings = _counted(db, ids)
        escalated: dict[str, int] = dict(
            db.execute(
                select(escalations_table.c.answer_id, func.count())
                .where(escalations_table.c.answer_id.in_(ids))
                .group_by(escalations_table.c.answer_id)
            ).all()
        )
    return [_asked(dict(row), ratings.get(row["id"], {}), escalated.get(row["id"], 0)) for row in rows]


def _counted(db: object, ids: Sequence[str]) -> dict[str, dict[str, int]]:
    query = (
        select(feedback_table.c.answer_id, feedback_table.c.rating, func.count())
        .where(feedback_table.c.answer_id.in_(ids))
        .group_by(feedback_table.c.answer_id, feedback_table.c.rating)
    )
    counted: dict[str, dict[str, int]] = {}
    for answer_id, rating, count in db.execute(query).all():  # type: ignore[attr-defined]
        counted.setdefault(answer_id, {})[rating] = count
    return counted


def _asked(row: Mapping[str, object], ratings: dict[str, int], escalated: int) -> Question:
    sources = json.loads(str(row["sources"]))
    created = row["created_at"]
    assert isinstance(created, datetime)
    return Question(
        id=str(row["id"]), created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        platform=str(row["platform"]), channel=str(row["channel"]), user=str(row["user"]),
        language=str(row["language"]), status=str(row["status"]), question=str(row["question"]),
        collections=tuple(json.loads(str(row["collections"] or "[]"))),
        cited=tuple(dict.fromkeys((s["collection"], s["path"]) for s in sources)) if row["status"] == "answered"
        else (),
        helpful=ratings.get("helpful", 0), not_helpful=ratings.get("not_helpful", 0), escalated=escalated,
        first_words=_float(row["first_words_seconds"]), total=_float(row["total_seconds"]),
        embedding=vector_of(row["embedding"]),  # type: ignore[arg-type]
        embedding_model=str(row["embedding_model"]) if row["embedding_model"] else None,
    )  # fmt: skip


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
