"""The model engines: what answers from the prompt (transformers, llama.cpp, a model server, or no language model
at all: the extractive answerer), behind one small interface. Which one runs is decided in bot/engines/choice.py,
which the wiring and `supportbot doctor` both ask; nothing outside this package names a concrete engine but the
wiring. Importing this package imports no engine (the model server's image has only llama.cpp's files)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.prompt import ChatMessage


class GeneratorUnavailable(Exception):
    """The configured model cannot be loaded; the message says what was tried and what to configure."""


class Generator(Protocol):
    name: str

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...
