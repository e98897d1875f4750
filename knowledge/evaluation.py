"""Retrieval evaluation: questions with a gold source path in, recall@1, recall@5 and MRR out, per language."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEPTH = 10  # passages retrieved per question; MRR counts a gold found below this as not found
SHOWN = 5  # paths a miss lists


class QuestionsError(Exception):
    """The questions file cannot be read; the message names the line and what is wrong with it."""


@dataclass(frozen=True)
class Question:
    question: str
    language: str
    gold: str  # a source path relative to its collection folder, as `search --json` reports it


@dataclass(frozen=True)
class Outcome:
    """One question and the source paths of the passages retrieved for it, best first (one per passage)."""

    question: Question
    found: tuple[str, ...]

    @property
    def rank(self) -> int | None:
        """1-based rank of the first passage from the gold source, None when none came back."""
        return next((index for index, path in enumerate(self.found, 1) if path == self.question.gold), None)

    @property
    def sources(self) -> tuple[str, ...]:
        """The distinct sources of the first five passages, best first: what came back instead of the gold."""
        return tuple(dict.fromkeys(self.found[:SHOWN]))


@dataclass(frozen=True)
class Scores:
    recall_at_1: float
    recall_at_5: float
    mrr: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"recall@1": self.recall_at_1, "recall@5": self.recall_at_5, "mrr": self.mrr, "n": self.n}


@dataclass(frozen=True)
class Evaluation:
    overall: Scores
    per_language: tuple[tuple[str, Scores], ...]  # sorted by language code
    misses: tuple[Outcome, ...]  # questions whose gold source is not among the first five passages

    def as_dict(self) -> dict[str, object]:
        return {
            "overall": self.overall.as_dict(),
            "per_language": {language: scores.as_dict() for language, scores in self.per_language},
            "misses": [_miss(outcome) for outcome in self.misses],
        }


def read_questions(path: Path) -> list[Question]:
    """One JSON object a line with `question`, `language` and `gold`; other fields are ignored, blank lines too, and
    so are questions whose gold is null (the knowledge base does not answer them: `eval answers` asks those)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionsError(f"{path} cannot be read ({error}).") from None
    questions: list[Question] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            fields = [item[key] for key in ("question", "language", "gold")]
            if fields[2] is None:
                continue
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise QuestionsError(
                f"{path}, line {number}: expected a JSON object with question, language and gold ({error})."
            ) from None
        if not all(isinstance(value, str) and value.strip() for value in fields):
            raise QuestionsError(f"{path}, line {number}: question, language and gold must be non-empty strings.")
        questions.append(Question(*(value.strip() for value in fields)))
    if not questions:
        raise QuestionsError(f"{path} holds no questions.")
    return questions


def evaluate(
    questions: Iterable[Question],
    *,
    search: Callable[[str], Sequence[str]],
    progress: Callable[[], None] | None = None,
) -> Evaluation:
    """Ask `search` (question text -> source paths of its passages, best first) every question and score it."""
    outcomes: list[Outcome] = []
    for question in questions:
        outcomes.append(Outcome(question, tuple(search(question.question))[:DEPTH]))
        if progress:
            progress()
    return summarise(outcomes)


def summarise(outcomes: Sequence[Outcome]) -> Evaluation:
    languages = sorted({o.question.language for o in outcomes})
    per_language = tuple((lang, score([o for o in outcomes if o.question.language == lang])) for lang in languages)
    misses = tuple(o for o in outcomes if o.rank is None or o.rank > 5)
    return Evaluation(score(outcomes), per_language, misses)


def score(outcomes: Sequence[Outcome]) -> Scores:
    """Recall@1 and recall@5: share of questions with a gold passage in the first 1 or 5; MRR: mean of 1/rank."""
    ranks = [o.rank for o in outcomes]
    n = len(ranks)
    if n == 0:
        return Scores(0.0, 0.0, 0.0, 0)
    at_1 = sum(1 for r in ranks if r == 1) / n
    at_5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return Scores(round(at_1, 4), round(at_5, 4), round(mrr, 4), n)


def _miss(outcome: Outcome) -> dict[str, object]:
    question = outcome.question
    return {"question": question.question, "language": question.language, "gold": question.gold,
            "found": list(outcome.sources)}  # fmt: skip
