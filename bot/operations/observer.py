"""What the bot reports about its own work as it goes (answers, syncs, the model, the queue); metrics listen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from bot.messages import Answer, IncomingMessage

ModelState = Literal["loading", "loaded", "failed"]


class Observer(Protocol):
    """Told of every finished question on every platform, every 👍/👎 and "Ask a human", every sync and the
    model's state; returns nothing."""

    def answered(self, message: IncomingMessage, answer: Answer) -> None: ...

    def synced(self, collection: str, *, ok: bool, failed_files: int = 0) -> None: ...

    def model_state(self, state: ModelState) -> None: ...

    def watch_queue(self, waiting: Callable[[], int]) -> None: ...

    def rated(self, rating: str) -> None: ...

    def escalated(self) -> None: ...

    def reviewed(self, outcome: str) -> None: ...

    def watch_drafts(self, waiting: Callable[[], int]) -> None: ...


class Unobserved:
    """The observer of tools and tests that serve no metrics: hears everything, keeps nothing."""

    def answered(self, message: IncomingMessage, answer: Answer) -> None:
        pass

    def synced(self, collection: str, *, ok: bool, failed_files: int = 0) -> None:
        pass

    def model_state(self, state: ModelState) -> None:
        pass

    def watch_queue(self, waiting: Callable[[], int]) -> None:
        pass

    def rated(self, rating: str) -> None:
        pass

    def escalated(self) -> None:
        pass

    def reviewed(self, outcome: str) -> None:
        pass

    def watch_drafts(self, waiting: Callable[[], int]) -> None:
        pass
