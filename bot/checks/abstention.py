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
handbook that has none): they resemble no everyday question, yet no page answers them. A second measure votes: the
best cosine minus what those nearest everyday questions themselves score on this knowledge base (a question phrased
like off-topic ones, and scoring no better than they do, is off topic). It compares like with like: in a knowledge
base with pages in several languages, any question finds pages in its own language a little closer, whatever it
asks, so a German question answered only by an English page scored below German off-topic ones on German pages. The
paired measure is taken per page language (the question's best cosine on pages in that language, minus what its
nearest everyday questions score on pages in that language) and the language where the question stands out most
counts. A question is judged without the names nearly every page holds (an organisation's name: "Acme" is on 26 of
the examples' 27 pages), which lift its cosine with every page while the everyday questions name nothing of the
kind: "Who is Acme's CEO?" is judged as "Who is CEO?" (knowledge.lexical.without_names). Each measure is put in the
units of the off-topic questions' own spread in the asker's language (their median 0, their highest 1) and the two
are averaged: the question's standout. The admin's level is how far above the highest off-topic question it must stand.
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
# Measured with benchmarks/abstention.py (both test embedders, the examples and the gnome-help set; 16 cells of a
# set, model and language), answerable questions wrongly abstained / unanswerable ones abstained, mean of the cells
# (worst cell):
#   lenient  1.0   0.00 (0.05) / 0.46     balanced 1.25  0.01 (0.05) / 0.68     strict 1.5  0.05 (0.25) / 0.81
# (before questions were judged without the names nearly every page holds: 0.00 (0.05) / 0.43, 0.01 (0.05) / 0.63,
# 0.06 (0.25) / 0.76; before the paired measure was taken per page language: 0.00 (0.00) / 0.49, 0.02 (0.25) / 0.61,
# 0.06 (0.25) / 0.76).
# The margin alone (its 95th percentile; its highest + half, + all of its spread) was 0.00 (0.00) / 0.21,
# 0.02 (0.25) / 0.48 and 0.08 (0.25) / 0.75.
LEVELS: Final[Mapping[str, float]] = {"lenient": 1.0, "balanced": 1.25, "strict": 1.5}
NEAREST: Final = 3  # everyday questions averaged: one alone is noisy, many blur into the mean
KEEP_DAYS: Final = 7  # a calibration file no process has read for this long is deleted


@dataclass(frozen=True)
class Calibration:
    """The shipped off-topic questions on one set of collections: per language, their margins and their paired
    measures, each sorted; and each one's best cosine here, in the reference's order."""

    margins: Mapping[str, tuple[float, ...]]
    paired: Mapping[str, tuple[float, ...]]
    best: tuple[float, ...]
    by_language: tuple[Mapping[str, float], ...] = ()  # each one's best cosine on the pages of each language

    def standout(self, language: str, margin: float, paired: float) -> float:
        """How far above the off-topic questions in `language` (all of them, for a language the reference lacks)
        a question's two measures put it: each in units of their spread (median 0, highest 1), averaged."""
        units = []
        for value, by_language in ((margin, self.margins), (paired, self.paired)):
            scores = by_language.get(language) or tuple(sorted(m for v in by_language.values() for m in v))
            if not scores:
                return float("inf")  # nothing to compare with: nothing tells the question is off topic
            middle = _quantile(scores, 0.5)
            units.append((value - middle) / max(scores[-1] - middle, 1e-9))
        return float(np.mean(units))


@dataclass(frozen=True)
class Verdict:
    answer: bool
    standout: float
    bar: float


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
        found = evidence(judged.pool[0], np.asarray(judged.embedding), self.everyday(), calibration.best,
                         by_language=judged.by_language, everyday_by_language=calibration.by_language)  # fmt: skip
        value, bar = calibration.standout(language, *found), LEVELS[self._level]
        # Topic words the pages never use take their share of the standout away (a scale-free factor: the
        # standout is one already, whatever the embedding model).
        value -= retrieved.unfamiliar * abs(value)
        return Verdict(value > bar, value, bar)

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
        best = np.asarray([r.pool[0] if r.pool else -1.0 for r in found], dtype=np.float64)
        by_language = tuple(dict(r.by_language) for r in found)
        margins: dict[str, list[float]] = {}
        paired: dict[str, list[float]] = {}
        for index, (_, language) in enumerate(self._questions):
            # An everyday question is not its own neighbour.
            others, others_best = np.delete(vectors, index, axis=0), np.delete(best, index)
            others_by_language = by_language[:index] + by_language[index + 1 :]
            found_margin, found_paired = evidence(float(best[index]), vectors[index], others, others_best,
                                                  by_language=by_language[index],
                                                  everyday_by_language=others_by_language)  # fmt: skip
            margins.setdefault(language, []).append(found_margin)
            paired.setdefault(language, []).append(found_paired)
        calibration = Calibration(
            {lang: tuple(sorted(v)) for lang, v in margins.items()},
            {lang: tuple(sorted(v)) for lang, v in paired.items()},
            tuple(float(b) for b in best),
            by_language,
        )
        log.info("abstention calibrated on %s: %d everyday questions", ", ".join(collections), len(best))
        self._save(key, calibration)
        return calibration

    def _save(self, key: str, calibration: Calibration) -> None:
        if self._cache_dir is None:
            return
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "margins": calibration.margins,
            "paired": calibration.paired,
            "best": calibration.best,
            "by_language": calibration.by_language,
        }
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
            calibration = Calibration(
                {lang: tuple(v) for lang, v in data["margins"].items()},
                {lang: tuple(v) for lang, v in data["paired"].items()},
                tuple(float(b) for b in data["best"]),
                tuple({str(k): float(v) for k, v in found.items()} for found in data["by_language"]),
            )  # a file from before the paired measure (or its page languages) lacks it: calibrated anew
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged file is calibrated anew
        if not len(calibration.best) == len(calibration.by_language) == len(self._questions):
            return None  # made with another reference set
        return calibration


def evidence(
    best: float,
    query: np.ndarray,
    everyday: np.ndarray,
    everyday_best: Sequence[float] | np.ndarray,
    *,
    by_language: Mapping[str, float] | None = None,
    everyday_by_language: Sequence[Mapping[str, float]] = (),
) -> tuple[float, float]:
    """A question's two measures, from the best passage's cosine `best`: the margin (minus the mean cosine of the
    question with its NEAREST everyday questions) and the paired measure (minus the mean of those everyday questions'
    own best cosines on the same knowledge base). With the best cosines per page language of the question
    (`by_language`) and of the everyday questions, the paired measure is taken in each language all of those
    neighbours found pages in, and the highest counts."""
    if len(everyday) == 0:
        return best, best
    nearest = np.argsort(everyday @ query)[-NEAREST:]
    similar = (everyday[nearest] @ query).mean()
    paired = best - float(np.asarray(everyday_best)[nearest].mean())
    if by_language and len(everyday_by_language) == len(everyday):
        neighbours = [everyday_by_language[i] for i in nearest]
        shared = [language for language in by_language if all(language in n for n in neighbours)]
        per_language = [
            by_language[language] - float(np.mean([n[language] for n in neighbours])) for language in shared
        ]
        if per_language:
            paired = max(per_language)
    return float(best - similar), paired


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
