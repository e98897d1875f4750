"""Prompt budget: does the gold page reach the model, as a function of the tokens its passages may take?

    python -m benchmarks.prompt_budget [--budgets 250,500,750,1000,1500,2000,3000] [--top-k N]
                                       [--set LABEL CONFIG QUESTIONS]... [--tokenizer NAME] [--json]

Each question goes the way the bot sends it: `bot.top_k` passages retrieved (hybrid or not, as the config
says), those under a `bot.relevance_threshold` dropped where the config still sets one (the calibrated
abstention decides whether to answer, not which passages), then as many as fit the budget kept in rank order
(`bot.prompt.fit_passages`, the bot's own packing). A question counts as recalled at a budget when a passage
of its gold source is among those kept. Prints, per question set and budget, that recall, the passages and
tokens given, and the smallest budget whose recall is within a point of the best in every set: the rule
behind the default `bot.context_tokens`.

Default sets: the example knowledge base (`config/supportbot.yaml`, `examples/questions.jsonl`) and, when
benchmarks/gnome_help.py has been run, gnome-help in every language (its run folder's config and questions).
Tokens are counted by the generator's tokenizer: LFM2-1.2B-RAG's when it is in the local Hugging Face cache,
else the bundled stand-in's (SmolLM2, an English-centric vocabulary: the passages here are English pages).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO
from bot.config import load_settings
from bot.engines.choice import stand_in_location
from bot.prompt import fit_passages, passage_text
from bot.wiring import Knowledge
from knowledge.documents import Hit
from knowledge.evaluation import Question, read_questions

GNOME_RUN = Path(tempfile.gettempdir()) / "supportbot-gnome-help" / "bundled-multilingual-e5-small-all"
UNLIMITED = 10**9


@dataclass(frozen=True)
class Row:
    label: str
    budget: int
    recall: float
    passages: float  # mean passages given to the model
    tokens: float  # mean tokens those passages take
    n: int


def default_sets() -> list[tuple[str, Path, Path]]:
    sets = [("examples", REPO / "config" / "supportbot.yaml", REPO / "examples" / "questions.jsonl")]
    if (GNOME_RUN / "questions.jsonl").exists():
        sets.append(("gnome-help", GNOME_RUN / "supportbot-hybrid.yaml", GNOME_RUN / "questions.jsonl"))
    else:
        print(f"gnome-help left out: run benchmarks/gnome_help.py first (looked in {GNOME_RUN})", file=sys.stderr)
    return sets


def token_counter(name: str | None) -> tuple[str, Callable[[str], int]]:
    """The generator's tokenizer, from local files only."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name or "LiquidAI/LFM2-1.2B-RAG", local_files_only=True)
        label = name or "LiquidAI/LFM2-1.2B-RAG"
    except (OSError, ValueError):
        if name:
            raise
        folder, gguf, label = stand_in_location("bundled:smollm2-135m-instruct")
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    return label, lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def retrieved(config: Path, questions: Sequence[Question], *, top_k: int | None) -> list[list[Hit]]:
    """Per question, the passages that clear the relevance threshold, best first: what the bot would pack."""
    settings = load_settings(config)
    knowledge = Knowledge(settings, progress=lambda line: print(line, file=sys.stderr))
    for collection in settings.collections:
        knowledge.syncer.sync(collection)  # incremental: nothing to do when the folder is unchanged
    names = [c.name for c in settings.collections]
    k = top_k or settings.bot.top_k
    threshold = settings.bot.relevance_threshold
    return [[h for h in knowledge.retriever.search(q.question, collections=names, k=k)
             if threshold is None or h.score >= threshold] for q in questions]  # fmt: skip


def sweep(label: str, questions: Sequence[Question], hits: Sequence[list[Hit]], *, budgets: Sequence[int],
          count: Callable[[str], int]) -> list[Row]:  # fmt: skip
    rows = []
    for budget in budgets:
        recalled, passages, tokens = 0, 0, 0
        for question, found in zip(questions, hits, strict=True):
            kept = fit_passages(found, budget=budget, count_tokens=count)
            recalled += any(h.path == question.gold for h in kept)
            passages += len(kept)
            tokens += sum(count(passage_text(h)) + 8 for h in kept)
        n = len(questions)
        rows.append(Row(label, budget, round(recalled / n, 4), round(passages / n, 2), round(tokens / n, 1), n))
    return rows


def smallest_within_a_point(rows: Sequence[Row], budgets: Sequence[int]) -> int:
    """The smallest budget whose recall is within 0.01 of the best budget's, in every set."""
    best = {r.label: max(x.recall for x in rows if x.label == r.label) for r in rows}
    for budget in sorted(budgets):
        if all(r.recall >= best[r.label] - 0.01 for r in rows if r.budget == budget):
            return budget
    return max(budgets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", default="250,500,750,1000,1250,1500,2000,3000", help="comma-separated tokens")
    parser.add_argument("--top-k", type=int, default=None, help="passages retrieved (default: bot.top_k)")
    parser.add_argument("--set", nargs=3, action="append", metavar=("LABEL", "CONFIG", "QUESTIONS"), help="repeatable")
    parser.add_argument("--tokenizer", default=None, help="a Hub id or folder (local files only)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    budgets = sorted(int(b) for b in args.budgets.split(","))
    sets = [(label, Path(c), Path(q)) for label, c, q in args.set] if args.set else default_sets()
    tokenizer, count = token_counter(args.tokenizer)
    rows: list[Row] = []
    for label, config, questions_file in sets:
        questions = read_questions(questions_file)
        hits = retrieved(config, questions, top_k=args.top_k)
        rows += sweep(label, questions, hits, budgets=[*budgets, UNLIMITED], count=count)
    chosen = smallest_within_a_point(rows, [*budgets, UNLIMITED])
    if args.json:
        print(json.dumps({"tokenizer": tokenizer, "rows": [r.__dict__ for r in rows], "chosen": chosen}, indent=2))
        return
    print(f"tokens counted with {tokenizer}; top_k {args.top_k or 'from each config'}")
    print(f"{'set':12} {'budget':>8} {'recall':>7} {'passages':>9} {'tokens':>7} {'n':>5}")
    for r in rows:
        budget = "none" if r.budget == UNLIMITED else str(r.budget)
        print(f"{r.label:12} {budget:>8} {r.recall:7.3f} {r.passages:9.2f} {r.tokens:7.0f} {r.n:5}")
    print(f"smallest budget within a point of the best recall in every set: {chosen}")


if __name__ == "__main__":
    main()
