"""The model's text pieces read in their own thread, so a stop or a deadline is noticed while the model is silent."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

_DONE = object()


def pieces_watched(stream: Iterator[str], *, check: Callable[[], None], every: float = 0.25) -> Iterator[str]:
    """`stream`'s pieces, with `check()` (which raises to stop) called before each piece and every `every`
    seconds of silence. A model server in a long prefill sends nothing for many seconds; a stop must not wait
    for it. The reader is a daemon thread: abandoned, it closes the stream at its next piece (which stops the
    model), and it never keeps the process from exiting."""
    pieces: queue.Queue[object] = queue.Queue()
    abandoned = threading.Event()

    def read() -> None:
        try:
            for piece in stream:
                if abandoned.is_set():
                    break
                pieces.put(piece)
            pieces.put(_DONE)
        except BaseException as error:
            pieces.put(error)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    threading.Thread(target=read, name="model-stream", daemon=True).start()
    try:
        while True:
            try:
                item = pieces.get(timeout=every)
            except queue.Empty:
                check()
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            check()
            yield str(item)
    finally:
        abandoned.set()
