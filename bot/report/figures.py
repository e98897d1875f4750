"""The report's counts: outcomes, ratings, escalations and the self-served rate of a set of questions, grouped by
day, channel, language, platform or collection; latencies; the pages cited and never cited."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bot.report.questions import Question


@dataclass(frozen=True)
class Outcomes:
    questions: int
    answered: int
    abstained: int
    failed: int
    helpful: int  # 👍 given
    not_helpful: int  # 👎 given
    escalated: int  # questions someone asked a person about
    self_served_rate: float | None  # answered, no 👎 and no escalation, over all questions

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def outcomes(questions: Sequence[Question]) -> Outcomes:
    status = Counter(q.status for q in questions)
    served = sum(q.self_served for q in questions)
    return Outcomes(
        questions=len(questions), answered=status["answered"], abstained=status["abstained"],
        failed=status["failed"], helpful=sum(q.helpful for q in questions),
        not_helpful=sum(q.not_helpful for q in questions), escalated=sum(bool(q.escalated) for q in questions),
        self_served_rate=round(served / len(questions), 4) if questions else None,
    )  # fmt: skip


def grouped(
    questions: Iterable[Question], keys: Callable[[Question], Iterable[str]], *, by_key: bool = False
) -> dict[str, Outcomes]:
    """Outcomes per key (a question may count under several: the collections it was asked of), busiest first, or
    in the keys' order (days)."""
    groups: dict[str, list[Question]] = {}
    for question in questions:
        for key in keys(question):
            groups.setdefault(key, []).append(question)
    order = sorted(groups.items(), key=lambda kv: kv[0] if by_key else (-len(kv[1]), kv[0]))
    return {key: outcomes(group) for key, group in order}


def collections_of(question: Question) -> tuple[str, ...]:
    """The collections its answer cites, else those it was asked of."""
    cited = tuple(dict.fromkeys(collection for collection, _ in question.cited))
    return cited or question.collections or ("(none)",)


@dataclass(frozen=True)
class Percentiles:
    p50: float | None
    p95: float | None


def percentiles(values: Iterable[float | None]) -> Percentiles:
    known = [v for v in values if v is not None]
    if not known:
        return Percentiles(None, None)
    return Percentiles(round(float(np.percentile(known, 50)), 3), round(float(np.percentile(known, 95)), 3))


@dataclass(frozen=True)
class Page:
    collection: str
    path: str
    cited: int  # answers citing it
    not_helpful: int  # of those, rated 👎


def cited_pages(questions: Sequence[Question]) -> list[Page]:
    cited: Counter[tuple[str, str]] = Counter()
    disliked: Counter[tuple[str, str]] = Counter()
    for question in questions:
        for page in question.cited:
            cited[page] += 1
            disliked[page] += bool(question.not_helpful)
    return [Page(collection, path, count, disliked[(collection, path)])
            for (collection, path), count in sorted(cited.items(), key=lambda kv: (-kv[1], kv[0]))]  # fmt: skip
