"""`supportbot report` and the admin page: for a period, how many questions the bot answered, how many it could not,
what people asked that the documents do not cover (the gaps, grouped by meaning), and which pages it used or never
used. It shows counts, never who asked, unless asked to (`show_users`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from bot.report import figures
from bot.report.figures import Outcomes, Page, Percentiles
from bot.report.gaps import Closest, Embed, Gap, find_gaps
from bot.report.questions import asked_between

__all__ = ["Closest", "Gap", "Report", "Sources", "build_report"]


@dataclass(frozen=True)
class Sources:
    """What the report needs of the knowledge base: its documents, failed files and nearest pages."""

    documents: Callable[[], Mapping[str, Sequence[str]]]  # collection -> paths indexed
    failures: Callable[[], Sequence[tuple[str, str, str]]]  # (collection, path, reason) at the last sync
    closest: Callable[[Gap], Closest | None]
    embed: Embed
    model: str  # the embedding model's name, as recorded with each question's vector


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    channel: str | None
    totals: Outcomes
    per_day: dict[str, Outcomes]
    per_channel: dict[str, Outcomes]
    per_language: dict[str, Outcomes]
    per_platform: dict[str, Outcomes]
    per_collection: dict[str, Outcomes]
    first_words: Percentiles
    full_answer: Percentiles
    gaps: list[Gap]
    cited: list[Page]
    never_cited: list[tuple[str, str]]  # (collection, path)
    failed_files: list[tuple[str, str, str]]  # (collection, path, reason)
    show_users: bool = False

    def as_dict(self) -> dict[str, object]:
        """The `--json` contract."""
        return {
            "period": {"since": self.since.isoformat(), "until": self.until.isoformat(), "channel": self.channel},
            "totals": self.totals.as_dict(),
            "per_day": _dicts(self.per_day),
            "per_channel": _dicts(self.per_channel),
            "per_language": _dicts(self.per_language),
            "per_platform": _dicts(self.per_platform),
            "per_collection": _dicts(self.per_collection),
            "latency": {
                "first_words": {"p50": self.first_words.p50, "p95": self.first_words.p95},
                "full_answer": {"p50": self.full_answer.p50, "p95": self.full_answer.p95},
            },
            "gaps": [self._gap(gap) for gap in self.gaps],
            "cited": [
                {"collection": p.collection, "path": p.path, "count": p.cited, "not_helpful": p.not_helpful}
                for p in self.cited
            ],
            "never_cited": [{"collection": c, "path": p} for c, p in self.never_cited],
            "failed_files": [{"collection": c, "path": p, "reason": r} for c, p, r in self.failed_files],
        }

    def _gap(self, gap: Gap) -> dict[str, object]:
        closest = gap.closest
        shown: dict[str, object] = {
            "label": gap.label, "size": gap.size, "examples": gap.examples, "channels": gap.channels,
            "languages": gap.languages,
            "closest": {"collection": closest.collection, "path": closest.path, "title": closest.title}
            if closest else None,
            "abstained": sum(q.status == "abstained" for q in gap.questions),
            "not_helpful": sum(bool(q.not_helpful) for q in gap.questions),
            "escalated": sum(bool(q.escalated) for q in gap.questions),
        }  # fmt: skip
        if self.show_users:
            shown["users"] = sorted({q.user for q in gap.questions})
        return shown


def build_report(
    engine: Engine, *, since: datetime, until: datetime, sources: Sources, channel: str | None = None,
    show_users: bool = False,
) -> Report:  # fmt: skip
    questions = asked_between(engine, since=since, until=until, channel=channel)
    cited = figures.cited_pages(questions)
    used = {(p.collection, p.path) for p in cited}
    documents = sources.documents()
    return Report(
        since=since, until=until, channel=channel, totals=figures.outcomes(questions),
        per_day=figures.grouped(questions, lambda q: [q.created_at.date().isoformat()], by_key=True),
        per_channel=figures.grouped(questions, lambda q: [q.where]),
        per_language=figures.grouped(questions, lambda q: [q.language]),
        per_platform=figures.grouped(questions, lambda q: [q.platform]),
        per_collection=figures.grouped(questions, figures.collections_of),
        first_words=figures.percentiles(q.first_words for q in questions if q.status == "answered"),
        full_answer=figures.percentiles(q.total for q in questions),
        gaps=find_gaps(questions, embed=sources.embed, model=sources.model, closest=sources.closest),
        cited=cited,
        never_cited=sorted((c, p) for c, paths in documents.items() for p in paths if (c, p) not in used),
        failed_files=sorted(sources.failures()), show_users=show_users,
    )  # fmt: skip


def _dicts(groups: Mapping[str, Outcomes]) -> dict[str, dict[str, object]]:
    return {key: value.as_dict() for key, value in groups.items()}
