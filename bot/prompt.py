"""The model's prompt, as chat messages in LFM2-RAG's documented shape; the tokenizer's template renders them.

Liquid's docs put the documents in the system prompt ("The following documents may provide you additional
information to answer questions:" then <document1>…</document1> blocks); the earlier model card put them in
the user turn after "Use the following context to answer questions:". Both are kept (`bot.prompt_format`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.history import Turn
from bot.language import LANGUAGES
from knowledge.documents import Hit

PromptFormat = Literal["system_documents", "user_context"]
SYSTEM_LEAD = "The following documents may provide you additional information to answer questions:"
USER_LEAD = "Use the following context to answer questions:"


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


def language_instruction(language: str | None) -> str | None:
    """The model card's own way to force the answer language."""
    if language is None or language not in LANGUAGES:
        return None
    return f"Always respond in {LANGUAGES[language]}, regardless of the user's input language."


def passage_text(hit: Hit) -> str:
    place = " > ".join(part for part in (hit.title, hit.heading) if part)
    return f"{place}\n\n{hit.text.strip()}" if place else hit.text.strip()


def fit_passages(hits: Sequence[Hit], *, budget: int, count_tokens: Callable[[str], int]) -> list[Hit]:
    """The best passages, in rank order, that fit `budget` tokens together."""
    chosen: list[Hit] = []
    used = 0
    for hit in hits:
        cost = count_tokens(passage_text(hit)) + 8  # <documentN> tags and blank lines
        if used + cost > budget:
            break
        chosen.append(hit)
        used += cost
    return chosen


def documents_block(passages: Sequence[Hit]) -> str:
    return "\n\n".join(f"<document{n}>\n{passage_text(hit)}\n</document{n}>" for n, hit in enumerate(passages, 1))


def user_turn(question: str, documents: str | None) -> str:
    """A question with its passages, the older model card's way; earlier questions keep theirs, word for word,
    so a thread's next prompt starts with its previous one and a saved model state can be resumed."""
    return f"{USER_LEAD}\n\n{documents}\n\n{question}" if documents else question


def build_messages(
    *,
    question: str,
    passages: Sequence[Hit],
    history: Sequence[Turn],
    language: str | None,
    prompt_format: PromptFormat = "system_documents",
) -> list[ChatMessage]:
    documents = documents_block(passages)
    instruction = language_instruction(language)
    if prompt_format == "system_documents":
        past = [ChatMessage(turn.role, turn.text) for turn in history]
        system = "\n\n".join(part for part in (SYSTEM_LEAD + "\n\n" + documents, instruction) if part)
        return [ChatMessage("system", system), *past, ChatMessage("user", question)]
    head = [ChatMessage("system", instruction)] if instruction else []
    past = [ChatMessage(turn.role, user_turn(turn.text, turn.context) if turn.role == "user" else turn.text)
            for turn in history]  # fmt: skip
    return [*head, *past, ChatMessage("user", user_turn(question, documents))]
