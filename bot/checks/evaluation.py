"""Answer evaluation: questions asked through the conversation manager, the answers a person would read scored per
language (right, cited, abstained when it should, in the asker's language, grounded, how fast)."""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.messages import Answer
from knowledge.evaluation import QuestionsError

# Quoted passages are the page's words, not the answer's: left out when telling which language the answer is in.
_QUOTED = (
    re.compile(r"```.*?```", re.S),
    re.compile(r"`[^`\n]*`"),
    re.compile(r"^\s*>.*$", re.M),
    re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|«[^»\n]*»|„[^“\n]*“|「[^」\n]*」|『[^』\n]*』"),
)


@dataclass(frozen=True)
class AnswerQuestion:
    question: str
    language: str
    gold: str | None  # the source path that answers it; None: the knowledge base does not, the bot must abstain
    expected: tuple[str, ...]  # any one of these in the answer makes it right; () when the line names none


@dataclass(frozen=True)
class AnswerOutcome:
    question: AnswerQuestion
    answer: Answer
    seconds: float
    language: str | None  # the language the answer's own words are in, None when it cannot be told

    @property
    def abstained(self) -> bool:
        return self.answer.status == "abstained"

    @property
    def right(self) -> bool:
        text = _folded(self.answer.text)
        return self.answer.status == "answered" and any(_folded(e) in text for e in self.question.expected)

    @property
    def cited_gold(self) -> bool:
        return self.question.gold in {source.path for source in self.answer.sources}

    @property
    def gold_first(self) -> bool:
        """Whether the first document the answer cites, the one its text opens with, is the gold one."""
        return bool(self.answer.sources) and self.answer.sources[0].path == self.question.gold

    @property
    def others_cited(self) -> int:
        """How many documents besides the gold one the answer cites."""
        return len({source.path for source in self.answer.sources} - {self.question.gold})

    @property
    def fault(self) -> str | None:
        """What a person reading the answer would find wrong with it, in a few words; None when nothing."""
        gold, cited = self.question.gold, ", ".join(source.path for source in self.answer.sources) or "nothing"
        if self.answer.status == "failed":
            return "failed"
        if gold is None:
            return None if self.abstained else f"answered, though no page holds the answer; cited {cited}"
        if self.abstained:
            return f"abstained; {gold} answers it" + (" (among the pages linked)" if self.cited_gold else "")
        wrong = []
        if self.question.expected and not self.right:
            wrong.append("without " + " or ".join(repr(e) for e in self.question.expected))
        if not self.cited_gold:
            wrong.append(f"citing {cited}, not {gold}")
        return "answered " + "; ".join(wrong) if wrong else None


@dataclass(frozen=True)
class AnswerScores:
    questions: int
    answerable: int
    unanswerable: int
    accuracy: float | None
    cited_gold: float | None
    # Of the answered answerable questions: the answer opens with (cites first) the gold document; and the other
    # documents it cites, on average (what the asker reads that is not the page answering).
    gold_first: float | None
    others_cited: float | None
    abstained_unanswerable: float | None
    abstained_answerable: float | None
    answered_in_language: float | None
    supported: float | None
    p50_seconds: float | None
    p95_seconds: float | None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AnswerEvaluation:
    model: str | None
    overall: AnswerScores
    per_language: tuple[tuple[str, AnswerScores], ...]  # sorted by language code
    outcomes: tuple[AnswerOutcome, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "overall": self.overall.as_dict(),
            "per_language": {language: scores.as_dict() for language, scores in self.per_language},
        }


def read_answer_questions(path: Path) -> list[AnswerQuestion]:
    """One JSON object a line: question, language, gold (a path, or null when the answer is not in the knowledge
    base) and answer_contains (a string or a list of strings, any one counts; optional)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionsError(f"{path} cannot be read ({error}).") from None
    questions = [_question(line, f"{path}, line {number}") for number, line in enumerate(lines, 1) if line.strip()]
    if not questions:
        raise QuestionsError(f"{path} holds no questions.")
    return questions


def _question(line: str, where: str) -> AnswerQuestion:
    try:
        item = json.loads(line)
        question, language, gold = item["question"], item["language"], item.get("gold")
        expected = item.get("answer_contains") or []
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise QuestionsError(f"{where}: expected a JSON object with question, language and gold ({error}).") from None
    expected = [expected] if isinstance(expected, str) else expected
    if not all(isinstance(value, str) and value.strip() for value in (question, language)):
        raise QuestionsError(f"{where}: question and language must be non-empty strings.")
    if gold is not None and not (isinstance(gold, str) and gold.strip()):
        raise QuestionsError(f"{where}: gold must be a source path, or null when the knowledge base has no answer.")
    if not isinstance(expected, list) or not all(isinstance(e, str) and e.strip() for e in expected):
        raise QuestionsError(f"{where}: answer_contains must be a string or a list of non-empty strings.")
    return AnswerQuestion(question.strip(), language.strip(), gold.strip() if gold else None,
                          tuple(e.strip() for e in expected))  # fmt: skip


def evaluate_answers(
    questions: Iterable[AnswerQuestion],
    *,
    ask: Callable[[AnswerQuestion], tuple[Answer, float]],
    detect: Callable[[str], str | None],
    model: str | None = None,
    progress: Callable[[], None] | None = None,
) -> AnswerEvaluation:
    """Ask every question (`ask` returns the final Answer and the seconds it took) and score the answers."""
    outcomes: list[AnswerOutcome] = []
    for question in questions:
        answer, seconds = ask(question)
        language = detect(own_words(answer.text)) if answer.status == "answered" else None
        outcomes.append(AnswerOutcome(question, answer, seconds, language))
        if progress:
            progress()
    return summarise_answers(outcomes, model=model)


def summarise_answers(outcomes: Sequence[AnswerOutcome], *, model: str | None = None) -> AnswerEvaluation:
    languages = sorted({o.question.language for o in outcomes})
    per_language = tuple((lang, score_answers([o for o in outcomes if o.question.language == lang]))
                         for lang in languages)  # fmt: skip
    return AnswerEvaluation(model, score_answers(outcomes), per_language, tuple(outcomes))


def score_answers(outcomes: Sequence[AnswerOutcome]) -> AnswerScores:
    answerable = [o for o in outcomes if o.question.gold is not None]
    unanswerable = [o for o in outcomes if o.question.gold is None]
    gradable = [o for o in answerable if o.question.expected]
    answered = [o for o in outcomes if o.answer.status == "answered"]
    told = [o for o in answered if o.language is not None]
    given = [o for o in answered if o.question.gold is not None]  # an answer to a question a page answers
    support = [o.answer.supported for o in answered if o.answer.supported is not None]
    seconds = sorted(o.seconds for o in outcomes)
    return AnswerScores(
        questions=len(outcomes),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        accuracy=_share(gradable, lambda o: o.right),
        cited_gold=_share(answerable, lambda o: o.cited_gold),
        gold_first=_share(given, lambda o: o.gold_first),
        others_cited=round(statistics.fmean(o.others_cited for o in given), 4) if given else None,
        abstained_unanswerable=_share(unanswerable, lambda o: o.abstained),
        abstained_answerable=_share(answerable, lambda o: o.abstained),
        answered_in_language=_share(told, lambda o: o.language == _code(o.question.language)),
        supported=round(statistics.fmean(support), 4) if support else None,
        p50_seconds=round(statistics.median(seconds), 3) if seconds else None,
        p95_seconds=round(_percentile(seconds, 0.95), 3) if seconds else None,
    )


def own_words(text: str) -> str:
    """The answer without what it quotes (code, block quotes, quoted strings): the words it says itself."""
    for pattern in _QUOTED:
        text = pattern.sub(" ", text)
    return text


def _share(items: Sequence[AnswerOutcome], test: Callable[[AnswerOutcome], bool]) -> float | None:
    return round(sum(1 for item in items if test(item)) / len(items), 4) if items else None


def _percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank percentile: at 20 answers the 95th is the 19th, not an interpolation past the data."""
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def _folded(text: str) -> str:
    """Case- and width-insensitive: full-width digits and letters (ＶＰＮ, １１９４) read as their ASCII twins."""
    return unicodedata.normalize("NFKC", text).casefold()


def _code(language: str) -> str:
    """A question set's language label as the bot's code: zh_CN and pt_BR are zh and pt."""
    return language.split("_")[0].split("-")[0].lower()
