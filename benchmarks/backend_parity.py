"""Do the llamacpp and transformers backends answer alike? The bundled stand-in model through both, on the example
questions (examples/questions.jsonl) over the bundled example knowledge base, each question a new thread.

    python -m benchmarks.backend_parity [--limit N] [--max-new-tokens 80] [--json]

Per backend: how many answers contain the expected fact (`answer_contains`), time per answer; across backends: how
many answers are identical and how many start alike. Greedy decoding on both; the difference is numerical (llama.cpp
multiplies the 4-bit weights with 8-bit activations, transformers dequantises to float32), enough to tip near ties.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO
from bot.config import load_settings
from bot.engines.choice import stand_in_location
from bot.engines.llamacpp.generator import LlamaCppGenerator
from bot.engines.transformers import TransformersGenerator
from bot.messages import IncomingMessage
from bot.wiring import Bot, Knowledge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--max-new-tokens", type=int, default=80)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/supportbot-parity"))
    parser.add_argument("--threads-per-model", type=int, default=1, help="llama.cpp threads (1: robust on a busy CPU)")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    questions = [json.loads(line) for line in (REPO / "examples/questions.jsonl").read_text().splitlines() if line]
    questions = questions[: arguments.limit]
    settings = load_settings(REPO / "config/supportbot.yaml")
    settings = settings.model_copy(update={
        "data_dir": arguments.data_dir,
        "collections": [c.model_copy(update={"paths": [REPO / p for p in c.paths]}) for c in settings.collections],
        "generator": settings.generator.model_copy(update={"max_new_tokens": arguments.max_new_tokens}),
    })  # fmt: skip
    knowledge = Knowledge(settings)
    for collection in settings.collections:
        knowledge.syncer.sync(collection)
    folder, gguf_file, name = stand_in_location("bundled:smollm2-135m-instruct")
    backends = {
        "llamacpp": LlamaCppGenerator.load(Path(folder) / gguf_file, name=name, n_threads=arguments.threads_per_model),
        "transformers": TransformersGenerator.load(folder, gguf_file=gguf_file, name=name, local_only=True),
    }
    answers: dict[str, list[dict[str, Any]]] = {}
    for backend, generator in backends.items():
        bot = Bot(knowledge, warn=print, prebuilt_generator=generator)
        answers[backend] = [ask(bot, q, n) for n, q in enumerate(questions)]
    report = summarise(questions, answers)
    if arguments.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    for backend, figures in report["backends"].items():
        print(f"{backend:13} facts {figures['facts']}/{figures['answered']} answered "
              f"({report['questions']} questions), {figures['median_s']:.2f} s an answer (median)")  # fmt: skip
    print(f"identical answers: {report['identical']}/{report['questions']}; "
          f"same first 5 words: {report['same_start']}/{report['questions']}")  # fmt: skip


def ask(bot: Bot, question: dict[str, Any], number: int) -> dict[str, Any]:
    message = IncomingMessage("cli", "parity", "parity", f"q{number}-{time.time_ns()}", "bench", question["question"])
    started = time.perf_counter()
    answer = bot.conversations.answer(message)
    expected = question.get("answer_contains")
    fact = bool(expected) and answer.status == "answered" and expected.lower() in answer.text.lower()
    return {"status": answer.status, "text": answer.text, "fact": fact, "seconds": time.perf_counter() - started}


def summarise(questions: list[dict[str, Any]], answers: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    fast, reference = answers["llamacpp"], answers["transformers"]
    return {
        "questions": len(questions),
        "backends": {
            backend: {
                "answered": sum(a["status"] == "answered" for a in given),
                "facts": sum(a["fact"] for a in given),
                "median_s": statistics.median(a["seconds"] for a in given if a["status"] == "answered"),
            }
            for backend, given in answers.items()
        },
        "identical": sum(a["text"] == b["text"] for a, b in zip(fast, reference, strict=True)),
        "same_start": sum(a["text"].split()[:5] == b["text"].split()[:5] for a, b in zip(fast, reference, strict=True)),
        "differing": [
            {"question": q["question"], "llamacpp": a["text"], "transformers": b["text"]}
            for q, a, b in zip(questions, fast, reference, strict=True)
            if a["text"] != b["text"]
        ],
    }


if __name__ == "__main__":
    main()
