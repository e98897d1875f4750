"""Stopping without dropping anyone: no new questions once a stop is asked for, a deadline for those in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Interrupted(Exception):
    """The process is stopping and this question's time to finish ran out."""


class Drain:
    """Counts the questions in flight (from arrival until the adapter has posted the last word) and says when the
    process is closing (new questions are turned away politely) or interrupting (those left must stop now).
    Adapters enter `question()` around each answer; the conversation manager asks `closing` and `check()`."""

    def __init__(self) -> None:
        self._idle = threading.Condition()
        self._in_flight = 0
        self.closing = False
        self._interrupted = threading.Event()
        self._hurried = False

    @contextmanager
    def question(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def in_flight(self) -> int:
        with self._idle:
            return self._in_flight

    def close(self) -> None:
        """Take no new questions from now on."""
        self.closing = True

    def interrupt(self) -> None:
        """Stop the questions still in flight at their next piece of text (or turn in the queue)."""
        self.closing = True
        self._interrupted.set()

    def hurry(self) -> None:
        """Cut short a `wait_idle(..., or_hurried=True)` under way: the one stopping won't wait any longer."""
        with self._idle:
            self._hurried = True
            self._idle.notify_all()

    def check(self) -> None:
        """Raises Interrupted once `interrupt()` was called; the answer loop calls it between pieces."""
        if self._interrupted.is_set():
            raise Interrupted("the process is stopping")

    def wait_idle(self, timeout: float, *, or_hurried: bool = False) -> bool:
        """Block until no question is in flight (True), or `timeout` seconds passed or, with `or_hurried`,
        `hurry()` was called (False)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0 or (or_hurried and self._hurried),
                                timeout=max(deadline - time.monotonic(), 0))  # fmt: skip
            return self._in_flight == 0
