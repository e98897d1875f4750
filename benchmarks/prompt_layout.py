"""Which prompt layout: passages in the system prompt (rewritten every turn) or in each user turn (kept in the thread)?

    python -m benchmarks.prompt_layout [--threads N] [--json]

The example questions (examples/questions.jsonl) are asked in threads of three over the bundled example knowledge
base, through the product's conversation manager and its default CPU backend (llama.cpp) with the bundled stand-in
model, once per layout (`bot.prompt_format`). Per layout and turn: how many answers contain the expected fact, how
many prompt tokens the model had to read (after resuming a saved state), and the time to the first token.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO
from bot.config import Settings, load_settings
from bot.engines.choice import stand_in_location
from bot.engines.llamacpp.generator import LlamaCppGenerator
from bot.messages import IncomingMessage
from bot.wiring import Bot, Knowledge

LAYOUTS = ("system_documents", "user_context")


def settings_for(layout: str, data_dir: Path) -> Settings:
    settings = load_settings(REPO / "config/supportbot.yaml")
    return settings.model_copy(update={
        "data_dir": data_dir,
        "collections": [c.model_copy(update={"paths": [REPO / p for p in c.paths]}) for c in settings.collections],
        "generator": settings.generator.model_copy(update={"max_new_tokens": 80}),
        "bot": settings.bot.model_copy(update={"prompt_format": layout, "history_tokens": 6000}),
    })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="only the first N threads of three questions")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/supportbot-parity"))
    parser.add_argument("--threads-per-model", type=int, default=1, help="llama.cpp threads (1: robust on a busy CPU)")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    questions = [json.loads(line) for line in (REPO / "examples/questions.jsonl").read_text().splitlines() if line]
    threads = [questions[i : i + 3] for i in range(0, len(questions) - 2, 3)][: arguments.threads]
    folder, gguf_file, name = stand_in_location("bundled:smollm2-135m-instruct")
    generator = LlamaCppGenerator.load(Path(folder) / gguf_file, name=name, n_threads=arguments.threads_per_model)
    report: dict[str, Any] = {"threads": len(threads), "layouts": {}}
    for layout in LAYOUTS:
        knowledge = Knowledge(settings_for(layout, arguments.data_dir))
        for collection in knowledge.settings.collections:
            knowledge.syncer.sync(collection)
        bot = Bot(knowledge, warn=print, prebuilt_generator=generator)
        generator.clear_states()
        turns = [ask(bot, generator, thread, layout) for thread in threads]
        report["layouts"][layout] = summarise(turns)
    if arguments.json:
        print(json.dumps(report))
        return
    print(f"{report['threads']} threads of 3 questions, stand-in model through llama.cpp")
    print(f"{'layout':18} {'turn':>4} {'facts':>7} {'prefill tokens (median)':>24} {'first token s (median)':>23}")
    for layout, per_turn in report["layouts"].items():
        for turn, figures in enumerate(per_turn, 1):
            print(f"{layout:18} {turn:>4} {figures['facts']:>3}/{figures['n']:<3} {figures['prefill_tokens']:>24.0f} "
                  f"{figures['ttft_s']:>23.2f}")  # fmt: skip


def ask(bot: Bot, generator: LlamaCppGenerator, thread: list[dict[str, Any]], layout: str) -> list[dict[str, Any]]:
    key = f"{layout}-{time.time_ns()}"
    results = []
    for question in thread:
        message = IncomingMessage("cli", "layout", "layout", key, "bench", question["question"])
        answer = bot.conversations.answer(message)
        expected = question.get("answer_contains", "")
        results.append({
            "fact": bool(expected) and answer.status == "answered" and expected.lower() in answer.text.lower(),
            "prefill_tokens": generator.last_prefill_tokens if answer.status == "answered" else None,
            "ttft_s": answer.timings.first_token if answer.timings else None,
        })  # fmt: skip
    return results


def summarise(threads: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    per_turn = []
    for turn in range(3):
        given = [thread[turn] for thread in threads]
        prefill = [t["prefill_tokens"] for t in given if t["prefill_tokens"] is not None]
        ttft = [t["ttft_s"] for t in given if t["ttft_s"] is not None]
        per_turn.append({
            "n": len(given), "facts": sum(t["fact"] for t in given),
            "prefill_tokens": statistics.median(prefill) if prefill else 0.0,
            "ttft_s": statistics.median(ttft) if ttft else 0.0,
        })  # fmt: skip
    return per_turn


if __name__ == "__main__":
    main()
