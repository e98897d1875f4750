"""Whether to answer at all: how much better the knowledge base matches a question than everyday off-topic questions
do, judged against what those off-topic questions themselves score on this knowledge base, in the asker's language,
with this embedding model. No cosine is set by hand.

Why this shape (benchmarks/abstention.py measures it): a raw cosine means nothing across models (the right passage
scores 0.9 with multilingual-e5-small and 0.5 with all-MiniLM-L6-v2) nor across languages (a Chinese question
scores lower against English pages than its English twin). A question's z-score within its own candidates did not
separate either: on a small knowledge base every candidate is on the same few topics. What does is the *margin*:
the best passage's cosine minus the question's cosine with its nearest everyday questions (a shipped set, in the
nine languages). A question about sourdough bread finds other cooking questions as close as any page; a question
the pages answer is closer to them than to any everyday question. The same everyday questions, asked of the
knowledge base, give the margins of off-topic questions in each language, and the bar is their quantile.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np

from knowledge.retrieval import Retrieved

log = logging.getLogger(__name__)

Level = Literal["lenient", "balanced", "strict"]
REFERENCE: Final = Path(__file__).with_name("abstention_reference.jsonl")
# How far above the shipped off-topic questions' margins (in the asker's language) a question's must be: above
# their 95th percentile (lenient), or above their highest by this many times their spread (highest - median).
# Measured with benchmarks/abstention.py, both test embedders, the examples and the gnome-help set, share of
# answerable questions wrongly abstained / of unanswerable ones abstained, overall (worst language):
#   lenient  e5 0.00 / 0.11-0.23           MiniLM 0.00 / 0.25-0.50
#   balanced e5 0.01-0.06 (0.25) / 0.39-0.54   MiniLM 0.00 / 0.25-0.62
#   strict   e5 0.05-0.17 (0.25) / 0.67-0.82   MiniLM 0.00-0.05 / 0.25-0.94
LEVELS: Final[Mapping[str, float | None]] = {"lenient": None, "balanced": 0.5, "strict": 1.0}
NEAREST: Final = 3  # everyday questions averaged: one alone is noisy, many blur into the mean
KEEP_DAYS: Final = 7  # a calibration file no process has read for this long is deleted


@dataclass(frozen=True)
class Calibration:
    """The margins of the shipped off-topic questions on one set of collections, per language, sorted."""

    margins: Mapping[str, tuple[float, ...]]

    def bar(self, language: str, level: str) -> float:
        scores = self.margins.get(language) or tuple(sorted(m for v in self.margins.values() for m in v))
        if not scores:
            return float("-inf")
        beyond = LEVELS[level]
        if beyond is None:
            return _quantile(scores, 0.95)
        return scores[-1] + beyond * (scores[-1] - _quantile(scores, 0.5))


@dataclass(frozen=True)
class Verdict:
    answer: bool
    margin: float
    bar: float


class Relevance:
    """Decides answer-or-abstain. Calibrates once per set of collections and content (the everyday questions are
    embedded in one batch and looked up: seconds), keeps the result on disk beside the store, and asks the admin
    for no number, only a level. `probe` gives many questions' best cosines and vectors at once; `stamp` names what
    a calibration is valid for: the embedding model and the collections' content."""

    def __init__(self, *, probe: Callable[[Sequence[str], Sequence[str]], list[Retrieved]],
                 stamp: Callable[[Sequence[str]], str], cache_dir: Path | None, level: Level = "balanced",
                 reference: Path = REFERENCE) -> None:  # fmt: skip
        self._probe = probe
        self._stamp = stamp
        self._cache_dir = cache_dir
        self._level = level
        self._questions = reference_questions(reference)
        self._everyday: np.ndarray | None = None  # the everyday questions' vectors, one row each
        self._calibrations: dict[str, Calibration] = {}
        self._lock = threading.Lock()

    def verdict(self, retrieved: Retrieved, *, language: str, collections: Sequence[str]) -> Verdict:
        if not retrieved.hits or not retrieved.pool:
            return Verdict(False, float("-inf"), float("inf"))
        calibration = self.calibration(collections)
        assert self._everyday is not None
        value = margin(retrieved.pool[0], np.asarray(retrieved.embedding), self._everyday)
        bar = calibration.bar(language, self._level)
        return Verdict(value > bar, value, bar)

    def calibration(self, collections: Sequence[str]) -> Calibration:
        names = sorted(collections)
        key = hashlib.sha256(self._stamp(names).encode()).hexdigest()[:16]
        with self._lock:  # two first questions at once calibrate once
            if key not in self._calibrations:
                self._calibrations[key] = self._load(key) or self._calibrate(key, names)
            return self._calibrations[key]

    def _calibrate(self, key: str, collections: Sequence[str]) -> Calibration:
        found = self._probe([question for question, _ in self._questions], collections)
        vectors = np.asarray([r.embedding for r in found], dtype=np.float32)
        if self._everyday is None:
            self._everyday = vectors
        by_language: dict[str, list[float]] = {}
        for index, ((_, language), retrieved) in enumerate(zip(self._questions, found, strict=True)):
            others = np.delete(vectors, index, axis=0)  # an everyday question is not its own neighbour
            best = retrieved.pool[0] if retrieved.pool else -1.0
            by_language.setdefault(language, []).append(margin(best, vectors[index], others))
        calibration = Calibration({lang: tuple(sorted(v)) for lang, v in by_language.items()})
        log.info("abstention calibrated on %s: bars %s", ", ".join(collections), _summary(calibration))
        self._save(key, calibration, vectors)
        return calibration

    def _save(self, key: str, calibration: Calibration, vectors: np.ndarray) -> None:
        if self._cache_dir is None:
            return
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        data = {"margins": calibration.margins, "everyday": vectors.round(6).tolist()}
        temporary = self._cache_dir / f"{key}.json.tmp"
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(self._cache_dir / f"{key}.json")  # whole or not at all, if two processes race
        # Each content change makes a new file (~1 MB); one unused for a week is for content long replaced.
        for old in self._cache_dir.glob("*.json"):
            if time.time() - old.stat().st_mtime > KEEP_DAYS * 86400:
                old.unlink(missing_ok=True)

    def _load(self, key: str) -> Calibration | None:
        path = self._cache_dir / f"{key}.json" if self._cache_dir is not None else None
        if path is None or not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            path.touch()  # in use: kept
            calibration = Calibration({lang: tuple(v) for lang, v in data["margins"].items()})
            everyday = np.asarray(data["everyday"], dtype=np.float32)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged file is calibrated anew
        if len(everyday) != len(self._questions):
            return None  # made with another reference set
        if self._everyday is None:
            self._everyday = everyday
        return calibration


def margin(best: float, query: np.ndarray, everyday: np.ndarray) -> float:
    """The best passage's cosine minus the mean cosine of the question's NEAREST everyday questions."""
    if len(everyday) == 0:
        return best
    similar = np.sort(everyday @ query)[-NEAREST:]
    return float(best - similar.mean())


def reference_questions(path: Path = REFERENCE) -> list[tuple[str, str]]:
    """The shipped everyday questions: (text, language) in each of the nine languages."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(item["question"], item["language"]) for item in map(json.loads, filter(str.strip, lines))]


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, by linear interpolation."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _summary(calibration: Calibration) -> str:
    return ", ".join(f"{lang} {_quantile(v, 0.95):.3f}" for lang, v in sorted(calibration.margins.items()) if v)
