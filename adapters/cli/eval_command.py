"""What `eval retrieval` prints: recall@1, recall@5 and MRR overall and per language, then the misses, or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.cli.knowledge_commands import UsageError, err, out
from adapters.cli.knowledge_commands import _chosen as chosen_collections
from bot.config import Settings
from bot.wiring import Knowledge
from knowledge.evaluation import DEPTH, Evaluation, QuestionsError, evaluate, read_questions


def retrieval(settings: Settings, questions_file: Path, *, collections: list[str], as_json: bool) -> None:
    try:
        questions = read_questions(questions_file)
    except QuestionsError as error:
        raise UsageError(str(error)) from None
    chosen = chosen_collections(settings, collections)
    knowledge = Knowledge(settings, progress=lambda line: err.print(line))
    if not any(knowledge.manifest.status(name).last_sync for name in chosen):
        raise UsageError("The knowledge base has never been synced; run `supportbot sync` first.")

    def search(text: str) -> list[str]:
        return [hit.path for hit in knowledge.retriever.search(text, collections=chosen, k=DEPTH)]

    columns = (TextColumn("questions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
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
