"""Re-ranking by sentences: a passage answers a question when one of its sentences does, and a chunk's one vector
blurs that sentence with its neighbours. The first passages retrieval found are ranked again by their cosine plus
`weight` times their best sentence's (or clause's) cosine with the question (two cosines of one embedding model, so
the sum ranks alike on multilingual-e5-small's 0.7-0.9 and all-MiniLM-L6-v2's 0.1-0.6), and that ranking is fused
with retrieval's. Measured with benchmarks/retrieval_quality.py (the "sentences" options)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.checks.sentences import clauses
from knowledge.documents import Hit
from knowledge.retrieval import fuse
from knowledge.vectors import PassageVectors

DEPTH = 10  # passages looked at again (20 measured the same): the rest keep their place after them


def units(text: str) -> list[str]:
    """A passage's sentences and long sentences' clauses, fragments of under three words left out (unless CJK, where
    words are not spaced: twelve characters)."""
    found = [unit for unit in clauses(text) if len(unit.split()) >= 3 or len(unit) >= 12]
    return found or [text]


class SentenceRerank:
    def __init__(self, vectors: PassageVectors, *, weight: float, depth: int = DEPTH) -> None:
        self._vectors = vectors
        self._weight = weight
        self._depth = depth

    def __call__(self, query: Sequence[float], hits: list[Hit]) -> list[Hit]:
        head, tail = hits[: self._depth], hits[self._depth :]
        if len(head) < 2:
            return hits
        vector = np.asarray(query, dtype=np.float64)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        pieces = [units(hit.text) for hit in head]
        cosines = self._vectors([unit for found in pieces for unit in found]) @ vector
        best, start = [], 0
        for found in pieces:
            best.append(float(cosines[start : start + len(found)].max()))
            start += len(found)
        by_sentence = sorted(range(len(head)), key=lambda i: -(head[i].score + self._weight * best[i]))
        # Fused by rank with retrieval's own order, which holds what the cosines do not: the words BM25 matched and
        # the titles. Sorting by the sum alone lifted real questions as much but lost titles and the examples
        # their first passage (recall@1 0.86 -> 0.80, 0.91 -> 0.89).
        order = fuse([[str(i) for i in range(len(head))], [str(i) for i in by_sentence]])
        return [head[int(i)] for i in order] + tail
