"""The line in front of the model: one answer generates at a time, the others know their place in it."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.messages import Queued

__all__ = ["GenerationQueue", "QueueFull", "Queued", "Ticket"]


class QueueFull(Exception):
    """More questions are waiting than `bot.max_waiting` allows."""


class GenerationQueue:
    """A bounded first-come line; a CPU runs one generation at a time at full speed, not two at half."""

    def __init__(self, *, max_waiting: int) -> None:
        self._max_waiting = max_waiting
        self._line: deque[object] = deque()
        self._changed = threading.Condition()

    @contextmanager
    def place(self) -> Iterator[Ticket]:
        """A place in line for the duration of the block; leaving the block frees it (even on errors)."""
        ticket = object()
        with self._changed:
            if len(self._line) > self._max_waiting:
                raise QueueFull(f"{len(self._line) - 1} questions are already waiting")
            self._line.append(ticket)
        try:
            yield Ticket(self, ticket)
        finally:
            with self._changed:
                self._line.remove(ticket)
                self._changed.notify_all()

    def waiting(self) -> int:
        with self._changed:
            return max(len(self._line) - 1, 0)

    def _position(self, ticket: object) -> int:
        return self._line.index(ticket)

    def _wait(self, ticket: object, *, seen: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self._position(ticket) != seen, timeout=timeout)
            return self._position(ticket)


@dataclass(frozen=True)
class Ticket:
    queue: GenerationQueue
    token: object

    def turns(self, *, poll: float = 1.0) -> Iterator[Queued]:
        """Yields the position each time it changes, until it is this ticket's turn (position 0)."""
        with self.queue._changed:
            position = self.queue._position(self.token)
        told = 0
        while position > 0:
            if position != told:  # the poll only wakes the wait; an unchanged place is not news (nor a message edit)
                yield Queued(position)
                told = position
            position = self.queue._wait(self.token, seen=position, timeout=poll)
