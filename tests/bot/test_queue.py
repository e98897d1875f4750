"""The line in front of the model: one generation at a time, waiting callers told their place, bounded."""

from __future__ import annotations

import threading

import pytest

from bot.queue import GenerationQueue, Queued, QueueFull


def test_second_caller_waits_and_learns_its_place() -> None:
    queue = GenerationQueue(max_waiting=4)
    seen: list[Queued] = []
    first_in = threading.Event()
    release = threading.Event()

    def first() -> None:
        with queue.place() as ticket:
            list(ticket.turns())
            first_in.set()
            release.wait(5)

    worker = threading.Thread(target=first)
    worker.start()
    first_in.wait(5)
    with queue.place() as ticket:
        turns = ticket.turns(poll=0.05)
        seen.append(next(turns))
        assert queue.waiting() == 1
        release.set()
        seen.extend(turns)  # ends when it is this caller's turn
    worker.join(5)
    assert seen == [Queued(1)] and queue.waiting() == 0


def test_a_full_line_refuses_politely() -> None:
    queue = GenerationQueue(max_waiting=0)
    with queue.place(), pytest.raises(QueueFull), queue.place():
        pass
    with queue.place():  # the place was freed on the way out
        pass


def test_a_place_is_told_once_however_long_the_wait() -> None:
    queue = GenerationQueue(max_waiting=4)
    seen: list[Queued] = []
    holding, release = threading.Event(), threading.Event()

    def busy() -> None:
        with queue.place():
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=busy)
    worker.start()
    holding.wait(5)
    with queue.place() as ticket:
        turns = ticket.turns(poll=0.001)
        seen.append(next(turns))
        waiting = threading.Thread(target=lambda: seen.extend(turns))
        waiting.start()
        release.wait(0.2)  # room for ~200 polls while the place stays the same
        release.set()
        waiting.join(5)
    worker.join(5)
    assert seen == [Queued(1)]
