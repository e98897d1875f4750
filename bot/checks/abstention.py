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
knowledge base, give the margins of off-topic questions in each language.

The margin alone let near-topic questions through (a question on Excel put to GNOME's help, one on a pension put to a
handbook that has none): they resemble no everyday question, yet no page answers them. What the pages answer is told
by the best cosine itself, once it is put in the units of what the everyday questions in the asker's language score
on this knowledge base with this model: a question the pages answer is matched better than any everyday question
in its language is. It compares like with like: a Chinese question scores lower on English pages than its English
twin, and so do the Chinese everyday questions. The standout weighs that measure four to one with the margin (each
in the units of the everyday questions' own spread in the asker's language: their median 0, their highest 1): on
questions as people ask them (gnome-help's real questions, benchmarks/abstention.py --sets real), the margin alone
separates worst, since "how do I ..." questions resemble everyday ones, and the best cosine best. A question is
judged without the names nearly every page holds (an organisation's name: "Acme" is on 26 of the examples' 27
pages), which lift its cosine with every page while the everyday questions name nothing of the kind: "Who is
Acme's CEO?" is judged as "Who is CEO?" (knowledge.lexical.without_names). Its topic words the pages never use (a
question in their language), or its names they never hold (a question in another: "¿Cómo descargo canciones de
Spotify?"), take their share of the standout away (Retrieved.unfamiliar). The admin's level is how far above the
highest off-topic question the standout must stand.
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
# The standout a question must pass: 1 is the highest of the shipped off-topic questions in the asker's language.
# Measured with benchmarks/abstention.py (both test embedders; the examples, the gnome-help set and gnome-help's real
# questions; 26 cells of a set, model and language), answerable questions wrongly abstained / unanswerable ones
# abstained, mean of the cells (worst cell):
#   lenient  1.0   0.012 (0.10) / 0.63     balanced 1.2   0.033 (0.27) / 0.80     strict 1.5  0.122 (0.47) / 0.90
# (with a question in another language judged by its names too; before that: 0.54, 0.032 (0.27) / 0.72, 0.88).
# Before (the margin and a paired measure, the nearest everyday questions' own best cosines, averaged; levels 1.0,
# 1.25, 1.5): 0.022 (0.13) / 0.50, 0.063 (0.43) / 0.70, 0.138 (0.70) / 0.86. The best cosine's units alone at 1.1:
# 0.047 (0.25) / 0.74; with the paired measure as well (4:1:1), never under 0.37 in the worst cell at 0.72.
LEVELS: Final[Mapping[str, float]] = {"lenient": 1.0, "balanced": 1.2, "strict": 1.5}
WEIGHTS: Final = (0.8, 0.2)  # of the best cosine's units and of the margin's, in the standout
NEAREST: Final = 3  # everyday questions averaged: one alone is noisy, many blur into the mean
KEEP_DAYS: Final = 7  # a calibration file no process has read for this long is deleted


@dataclass(frozen=True)
class Calibration:
    """The shipped off-topic questions on one set of collections: each one's best cosine here, in the reference's
    order; and per language, their best cosines and their margins, each sorted."""

    best: tuple[float, ...]
    bests: Mapping[str, tuple[float, ...]]
    margins: Mapping[str, tuple[float, ...]]

    def standout(self, language: str, best: float, margin: float) -> float:
        """How far above the off-topic questions in `language` (all of them, for a language the reference lacks)
        a question's best cosine and margin put it: each in units of their spread (median 0, highest 1), weighed."""
        units = []
        for value, by_language in ((best, self.bests), (margin, self.margins)):
            scores = by_language.get(language) or tuple(sorted(m for v in by_language.values() for m in v))
            if not scores:
                return float("inf")  # nothing to compare with: nothing tells the question is off topic
            middle = _quantile(scores, 0.5)
            units.append((value - middle) / max(scores[-1] - middle, 1e-9))
        return float(np.dot(WEIGHTS, units))


@dataclass(frozen=True)
class Verdict:
    answer: bool
    standout: float
    bar: float
    # Not answered, yet above every everyday question in the asker's language (the lenient bar): a near call, where
    # the closest pages are worth showing beside "not found" (on gnome-help's real questions, e5, most of the
    # answerable ones a stricter level turns away are here: French 0.27 abstained at balanced, 0.10 at lenient).
    near: bool = False


class Relevance:
    """Decides answer-or-abstain. Calibrates once per set of collections and content (the everyday questions'
    vectors, from their owner, are looked up: seconds), keeps the result on disk beside the store, and asks the
    admin for no number, only a level. `everyday` gives the shipped everyday questions' unit vectors, in the
    reference's order (knowledge/hubs.py embeds them once per model, for hubness too); `probe` gives many vectors'
    best cosines at once; `stamp` names what a calibration is valid for: the embedding model and the collections'
    content."""

    def __init__(self, *, everyday: Callable[[], np.ndarray],
                 probe: Callable[[np.ndarray, Sequence[str]], list[Retrieved]], stamp: Callable[[Sequence[str]], str],
                 cache_dir: Path | None, level: Level = "balanced", reference: Path = REFERENCE) -> None:  # fmt: skip
        self._everyday_vectors = everyday
        self._probe = probe
        self._stamp = stamp
        self._cache_dir = cache_dir
        self._level = level
        self._questions = reference_questions(reference)
        self._calibrations: dict[str, Calibration] = {}
        self._lock = threading.Lock()

    def verdict(self, retrieved: Retrieved, *, language: str, collections: Sequence[str]) -> Verdict:
        judged = retrieved.judged  # without the names nearly every page holds, where it had any
        if not retrieved.hits or not judged.pool:
            return Verdict(False, float("-inf"), float("inf"))
        calibration = self.calibration(collections)
        best = judged.pool[0]
        found = margin(best, np.asarray(judged.embedding), self.everyday())
        value, bar = calibration.standout(language, best, found), LEVELS[self._level]
        # Topic words the pages never use take their share of the standout away (a scale-free factor: the
        # standout is one already, whatever the embedding model).
        value -= retrieved.unfamiliar * abs(value)
        return Verdict(value > bar, value, bar, near=near(value, bar))

    def calibration(self, collections: Sequence[str]) -> Calibration:
        names = sorted(collections)
        made_of = "\n".join([self._stamp(names), *(f"{language} {text}" for text, language in self._questions)])
        key = hashlib.sha256(made_of.encode()).hexdigest()[:16]  # another reference set is calibrated anew
        with self._lock:  # two first questions at once calibrate once
            if key not in self._calibrations:
                self._calibrations[key] = self._load(key) or self._calibrate(key, names)
            return self._calibrations[key]

    def everyday(self) -> np.ndarray:
        """The everyday questions' unit vectors, one row each, in the reference's order."""
        vectors = self._everyday_vectors()
        if len(vectors) != len(self._questions):
            raise ValueError(f"{len(vectors)} everyday vectors for {len(self._questions)} everyday questions")
        return vectors

    def _calibrate(self, key: str, collections: Sequence[str]) -> Calibration:
        vectors = self.everyday()
        found = self._probe(vectors, collections)
        best = tuple(float(r.pool[0]) if r.pool else -1.0 for r in found)
        margins: dict[str, list[float]] = {}
        for index, (_, language) in enumerate(self._questions):
            others = np.delete(vectors, index, axis=0)  # an everyday question is not its own neighbour
            margins.setdefault(language, []).append(margin(best[index], vectors[index], others))
        calibration = self._calibration(best, {lang: tuple(sorted(v)) for lang, v in margins.items()})
        log.info("abstention calibrated on %s: %d everyday questions", ", ".join(collections), len(best))
        self._save(key, calibration)
        return calibration

    def _calibration(self, best: tuple[float, ...], margins: Mapping[str, tuple[float, ...]]) -> Calibration:
        bests: dict[str, list[float]] = {}
        for value, (_, language) in zip(best, self._questions, strict=True):
            bests.setdefault(language, []).append(value)
        return Calibration(best, {lang: tuple(sorted(v)) for lang, v in bests.items()}, margins)

    def _save(self, key: str, calibration: Calibration) -> None:
        if self._cache_dir is None:
            return
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        data = {"margins": calibration.margins, "best": calibration.best}
        temporary = self._cache_dir / f"{key}.json.tmp"
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(self._cache_dir / f"{key}.json")  # whole or not at all, if two processes race
        # Each content change makes a new file (~40 kB); one unused for a week is for content long replaced.
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
            best = tuple(float(b) for b in data["best"])
            margins = {str(lang): tuple(float(m) for m in v) for lang, v in data["margins"].items()}
            if len(best) != len(self._questions):
                return None  # made with another reference set
            return self._calibration(best, margins)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # a damaged file is calibrated anew


def near(standout: float, bar: float) -> bool:
    """Whether a question not answered at `bar` is a near call: above every everyday question in its language (the
    lenient bar), short of the level's bar."""
    return bar >= standout > LEVELS["lenient"]


def margin(best: float, query: np.ndarray, everyday: np.ndarray) -> float:
    """A question's margin: the best passage's cosine `best` minus the question's mean cosine with its NEAREST
    everyday questions (`best` itself with none to compare with)."""
    if len(everyday) == 0:
        return best
    nearest = np.sort(everyday @ query)[-NEAREST:]
    return float(best - nearest.mean())


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
