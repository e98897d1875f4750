"""What `eval retrieval` and `eval answers` print: per language, retrieval's recall and MRR with its misses, or the
answers' accuracy, citations, abstentions, language, grounding and time; or JSON."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.cli.answer_commands import message, open_host
from adapters.cli.knowledge_commands import UsageError, err, out
from adapters.cli.knowledge_commands import _chosen as chosen_collections
from bot.checks.evaluation import AnswerEvaluation, AnswerQuestion, evaluate_answers, read_answer_questions
from bot.config import Settings
from bot.host import Host
from bot.language import LinguaDetector
from bot.messages import Answer
from knowledge.evaluation import DEPTH, Evaluation, QuestionsError, evaluate, read_questions

_BAR = (TextColumn("questions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def retrieval(settings: Settings, questions_file: Path, *, collections: list[str], as_json: bool) -> None:
    try:
        questions = read_questions(questions_file)
    except QuestionsError as error:
        raise UsageError(str(error)) from None
    chosen = chosen_collections(settings, collections)
    host = Host.open(settings, progress=lambda line: err.print(line))
    host.require_synced(chosen)

    languages = {question.question: question.language for question in questions}

    def search(text: str) -> list[str]:  # in the asker's language, as a translated page is cited to the asker
        hits = host.search(text, collections=chosen, k=DEPTH, language=languages.get(text))
        return [hit.path for hit in hits]

    with Progress(*_BAR, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("questions", total=len(questions))
        result = evaluate(questions, search=search, progress=lambda: bar.advance(task))
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_evaluation(result)


def print_evaluation(result: Evaluation) -> None:
    table = Table("language", "recall@1", "recall@5", "MRR", "n")
    for language, scores in (*result.per_language, ("all", result.overall)):
        row = (f"{scores.recall_at_1:.3f}", f"{scores.recall_at_5:.3f}", f"{scores.mrr:.3f}", str(scores.n))
        table.add_row(language, *row, style="bold" if language == "all" else None)
    out.print(table)
    if not result.misses:
        out.print("No misses: every gold source is among the first five passages.", highlight=False)
        return
    out.print(f"Misses (gold not in the first five passages): {len(result.misses)}", highlight=False)
    for outcome in result.misses:
        q = outcome.question
        where = f"rank {outcome.rank}" if outcome.rank else f"not in the first {DEPTH}"
        found = ", ".join(outcome.sources)
        out.print(f"  [{q.language}] {q.question}", highlight=False, markup=False)
        out.print(f"     gold {q.gold} ({where}); found {found}", style="dim", highlight=False, markup=False)


def answers(settings: Settings, questions_file: Path, *, collections: list[str], limit: int | None,
            as_json: bool) -> None:  # fmt: skip
    """Every question through the conversation manager Slack and Discord use, each in a thread of its own."""
    try:
        questions = read_answer_questions(questions_file)[:limit]
    except QuestionsError as error:
        raise UsageError(str(error)) from None
    chosen = chosen_collections(settings, collections)
    scoped = settings.model_copy(update={"bot": settings.bot.model_copy(update={"default_collections": chosen})})
    host = open_host(scoped)

    def ask(question: AnswerQuestion) -> tuple[Answer, float]:
        started = time.perf_counter()
        answer = host.answer(message(question.question, channel="eval", thread=uuid.uuid4().hex))
        return answer, time.perf_counter() - started

    detector = LinguaDetector()
    with Progress(*_BAR, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("questions", total=len(questions))
        result = evaluate_answers(questions, ask=ask, detect=detector.detect, model=host.model,
                                  progress=lambda: bar.advance(task))  # fmt: skip
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer_evaluation(result)


def print_answer_evaluation(result: AnswerEvaluation) -> None:
    columns = ("accuracy", "cited_gold", "gold_first", "others_cited", "abstained_answerable",
               "abstained_unanswerable", "answered_in_language", "supported", "p50_seconds", "p95_seconds")  # fmt: skip
    headers = ("right", "cites gold", "gold first", "other pages", "wrongly abstained", "abstained when absent",
               "in language", "supported", "p50 s", "p95 s")  # fmt: skip
    table = Table("language", "n (answerable / not)", *headers, title=f"Answers by {result.model}")
    for language, scores in (*result.per_language, ("all", result.overall)):
        figures = scores.as_dict()
        cells = ["–" if figures[c] is None else f"{figures[c]:.2f}" for c in columns]
        counts = f"{scores.questions} ({scores.answerable} / {scores.unanswerable})"
        table.add_row(language, counts, *cells, style="bold" if language == "all" else None)
    out.print(table)
    faults = [(outcome.question, outcome.fault) for outcome in result.outcomes if outcome.fault]
    out.print(f"Not as expected: {len(faults)} of {result.overall.questions}", highlight=False)
    for question, fault in faults:
        out.print(f"  [{question.language}] {question.question}", highlight=False, markup=False)
        out.print(f"     {fault}", style="dim", highlight=False, markup=False)
