"""The latency benchmark's prompts, shaped by the product's own prompt builder and cut to a token count.

The answer prompt is what the bot sends for a question with retrieved passages (bot.prompt.build_messages, default
layout). A thread's turns carry their passages in the user turn (the `user_context` layout), so that each turn's
prompt extends the previous prompt and answer: the layout a saved per-thread state can be reused with.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from bot.prompt import ChatMessage, build_messages
from knowledge.documents import Hit

TOPICS = ["VPN", "Wi-Fi", "printer", "laptop", "password", "badge", "expenses", "holidays", "parking", "MFA"]
VERBS = ["configure", "request", "reset", "renew", "report", "install", "replace", "book", "approve", "check"]


def _sentences(seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        f"To {rng.choice(VERBS)} your {rng.choice(TOPICS).lower()} in office {rng.randint(1, 40)}, open ticket type "
        f"{rng.randint(100, 999)} and wait {rng.randint(1, 5)} days."
        for _ in range(2000)
    ]


def _hits(words: list[str], per_passage: int = 90) -> list[Hit]:
    return [
        Hit(
            score=0.8,
            chunk_id=f"c{i}",
            collection="kb",
            path=f"guides/{i}.md",
            title=f"Guide {i}",
            heading="Steps",
            text=" ".join(words[i : i + per_passage]),
            position=0,
        )
        for i in range(0, len(words), per_passage)
    ]


def _fit(build: Any, count: Any, sentences: list[str], target: int) -> tuple[list[ChatMessage], int]:
    """The longest prompt of whole words at most `target` tokens long."""
    words = " ".join(sentences).split()
    low, high = 1, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if count(build(_hits(words[:middle]))) <= target:
            low = middle
        else:
            high = middle - 1
    messages = build(_hits(words[:low]))
    return messages, count(messages)


def write_jobs(cache: Path, *, prompt_tokens: int = 1500, turn_tokens: int = 300) -> Path:
    """cache/jobs.json: the answer prompt and a thread's three user turns; rebuilt when the model folder changes."""
    from transformers import AutoTokenizer

    target = cache / "jobs.json"
    stamp = (cache / "model" / ".lfm2_shape").read_text().strip() + f"/{prompt_tokens}/{turn_tokens}"
    if target.is_file() and json.loads(target.read_text()).get("stamp") == stamp:
        return target
    tokenizer = AutoTokenizer.from_pretrained(cache / "model")

    def count(messages: list[ChatMessage]) -> int:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        return len(tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)["input_ids"])

    def answer(hits: list[Hit]) -> list[ChatMessage]:
        question = "How do I reset my VPN password from home?"
        return build_messages(question=question, passages=hits, history=[], language=None)

    messages, tokens = _fit(answer, count, _sentences(1), prompt_tokens)
    turns, counts = [], []
    for number, question in enumerate(["How do I renew my badge?", "And for the parking?", "Who approves it?"]):

        def turn(hits: list[Hit], question: str = question) -> list[ChatMessage]:
            return build_messages(
                question=question, passages=hits, history=[], language=None, prompt_format="user_context"
            )[-1:]

        user, size = _fit(turn, count, _sentences(10 + number), turn_tokens)
        turns.append(user[0].content)
        counts.append(size)
    jobs = {
        "stamp": stamp,
        "answer": {"messages": [vars(m) for m in messages], "prompt_tokens": tokens},
        "thread": {"turns": turns, "turn_tokens": counts},
    }
    target.write_text(json.dumps(jobs, indent=1))
    return target
