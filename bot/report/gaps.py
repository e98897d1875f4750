"""Knowledge gaps: the questions the bot did not answer well (abstained, 👎, escalated), grouped by meaning with the
embedding model the bot has loaded anyway, each group named by its most central question.

No distance is set by hand (the two test embedders put paraphrases 0.13 apart and 0.65 apart): two questions are
about one topic when they are closer than all but GAP_QUANTILE of the pairs of the shipped everyday off-topic
questions (bot/checks/abstention_reference.jsonl) asked in one language are, with this model, in the languages
asked. Measured on the report tests' week (tests/fixtures/report_records.py: five missing topics asked six ways in
English, German and French, 👎'd and escalated answers, one-off questions), adjusted Rand index against the true
topics (each one-off its own), average linkage:
    GAP_QUANTILE               0.03   0.05   0.08   0.10
    multilingual-e5-small      0.82   0.86   0.81   0.79   (en, de, fr; each topic keeps >= 16 of 18 at 0.05)
    all-MiniLM-L6-v2 (English) 0.93   0.85   0.78   0.56   (each topic keeps 6 of 6 up to 0.08)
Complete linkage split every topic (e5: 0.33-0.47). Left as it is: e5 also groups a few unrelated questions that
share a name ("Acme") into one small gap.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np

from bot.checks.abstention import REFERENCE
from bot.report.questions import Question

GAP_QUANTILE: Final = 0.05
EXAMPLES: Final = 5
# Clustering holds every pairwise distance: 4,000 questions take ~64 MB and a few seconds; beyond, the most recent.
MOST_CLUSTERED: Final = 4000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Closest:
    """The page the knowledge base has nearest a gap: the one to improve."""

    collection: str
    path: str
    title: str


@dataclass(frozen=True)
class Gap:
    label: str  # its most central question
    questions: tuple[Question, ...]  # central first
    closest: Closest | None
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)  # the label's

    @property
    def size(self) -> int:
        return len(self.questions)

    @property
    def examples(self) -> list[str]:
        return list(dict.fromkeys(q.question for q in self.questions))[:EXAMPLES]

    @property
    def channels(self) -> list[str]:
        return [where for where, _ in Counter(q.where for q in self.questions).most_common()]

    @property
    def languages(self) -> list[str]:
        return [language for language, _ in Counter(q.language for q in self.questions).most_common()]


Embed = Callable[[Sequence[str]], Sequence[Sequence[float]]]


def everyday_questions() -> list[tuple[str, str]]:
    """The shipped off-topic questions: (question, language)."""
    with REFERENCE.open(encoding="utf-8") as lines:
        return [(row["question"], row["language"]) for row in map(json.loads, lines)]


def same_topic_distance(everyday: np.ndarray, languages: Sequence[str], asked: Sequence[str]) -> float:
    """The cosine distance under which two questions are one topic, on this model's scale and in the languages
    asked (an English model puts any two German sentences close): each language's own quantile, weighted by its
    share of the questions asked."""
    distances: dict[str, list[float]] = {}
    for i, j in itertools.combinations(range(len(everyday)), 2):
        if languages[i] == languages[j]:
            distances.setdefault(languages[i], []).append(1.0 - float(everyday[i] @ everyday[j]))
    pooled = float(np.quantile([d for ds in distances.values() for d in ds], GAP_QUANTILE))
    shares = Counter(asked)
    return sum(
        count * (float(np.quantile(distances[lang], GAP_QUANTILE)) if lang in distances else pooled)
        for lang, count in shares.items()
    ) / max(len(asked), 1)


def find_gaps(
    questions: Sequence[Question], *, embed: Embed, model: str, closest: Callable[[Gap], Closest | None]
) -> list[Gap]:
    """The gap questions grouped by meaning, largest group first (then the most recent)."""
    asked = [q for q in questions if q.gap]
    if not asked:
        return []
    if len(asked) > MOST_CLUSTERED:
        log.warning("%d questions were not answered well in this period; the gaps group the %d most recent",
                    len(asked), MOST_CLUSTERED)  # fmt: skip
        asked = sorted(asked, key=lambda q: q.created_at)[-MOST_CLUSTERED:]
    vectors = _vectors(asked, embed=embed, model=model)
    everyday = everyday_questions()
    limit = same_topic_distance(
        _normalised(embed([q for q, _ in everyday])), [lang for _, lang in everyday], [q.language for q in asked]
    )
    if len(asked) == 1:
        groups = [[0]]
    else:
        # scikit-learn takes most of a second to import: only a report loads it, not every `supportbot` command
        from sklearn.cluster import AgglomerativeClustering

        labels = (
            AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=limit)
            .fit(vectors)
            .labels_
        )
        groups = [list(np.flatnonzero(labels == label)) for label in sorted(set(labels))]
    gaps = [_gap(asked, vectors, members, closest) for members in groups]
    return sorted(gaps, key=lambda g: (-g.size, -max(q.created_at for q in g.questions).timestamp()))


def _gap(
    asked: Sequence[Question], vectors: np.ndarray, members: list[int], closest: Callable[[Gap], Closest | None]
) -> Gap:
    """Members ordered by their mean likeness to the others: the first is the label."""
    inside = vectors[members]
    order = np.argsort(-(inside @ inside.T).mean(axis=1), kind="stable")
    ordered = tuple(asked[members[i]] for i in order)
    gap = Gap(label=ordered[0].question, questions=ordered, closest=None, vector=inside[order[0]])
    return replace(gap, closest=closest(gap))


def _vectors(asked: Sequence[Question], *, embed: Embed, model: str) -> np.ndarray:
    """The recorded vectors where this model made them; the others embedded now."""
    missing = [i for i, q in enumerate(asked) if q.embedding is None or q.embedding_model != model]
    fresh = iter(embed([asked[i].question for i in missing]) if missing else [])
    again = set(missing)
    rows = [np.asarray(next(fresh)) if i in again else q.embedding for i, q in enumerate(asked)]
    return _normalised(np.vstack([np.asarray(r, dtype=np.float32) for r in rows]))


def _normalised(vectors: object) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.asarray(array / np.where(norms == 0, 1, norms))
