"""The warm-up: every page's sentences embedded before a question needs them. The extractive answer (and the excerpt
shown while a model reads) embeds the sentences of the pages it reads, and the sentence re-ranking those of the
passages found: about 10 ms each on a CPU core, most of a second for a page read the first time. The warm-up does it
ahead, in a thread, one small batch at a time and only while no question is in flight, then again after each sync
changes the pages. The vectors are kept on disk (knowledge/vectors.py), so it is done once per text, not per start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from bot.drain import Drain
from knowledge.documents import Hit
from knowledge.vectors import PassageVectors

log = logging.getLogger(__name__)

BATCH = 16  # texts a batch: about 0.15 s of a core, the longest a question arriving meanwhile shares the CPU
EVERY = 30.0  # seconds between looks at whether a sync changed the pages


@dataclass(frozen=True)
class WarmedUp:
    texts: int  # the pages' texts, once each
    embedded: int  # of them, embedded by this pass (the rest were on disk or in memory)
    forgotten: int  # vectors of texts no page holds any longer, deleted
    complete: bool  # False: stopped, or the pages changed meanwhile (the next look starts again)
    seconds: float


class Warmup:
    """`passages`: every chunk of the knowledge base; `texts`: what answering embeds of a chunk; `version`: changes
    whenever the pages do (a pass is repeated only then); `quiet`: the questions in flight, which come first."""

    def __init__(self, *, vectors: PassageVectors, passages: Callable[[], Iterable[Hit]],
                 texts: Callable[[Hit], list[str]], version: Callable[[], Hashable], quiet: Drain,
                 batch: int = BATCH, every: float = EVERY) -> None:  # fmt: skip
        self._vectors = vectors
        self._passages = passages
        self._texts = texts
        self._version = version
        self._quiet = quiet
        self._batch = batch
        self.every = every  # seconds between looks at whether the pages changed
        self._done: Hashable | None = None  # the version the last complete pass saw

    def run(self, stop: threading.Event | None = None) -> WarmedUp:
        """One pass: embeds every text not embedded yet, a batch at a time, each after the questions in flight are
        answered; at the end of a complete pass, forgets the vectors of texts no page holds any longer."""
        started = time.perf_counter()
        stop = stop or threading.Event()
        version = self._version()
        wanted = list(dict.fromkeys(text for hit in self._passages() for text in self._texts(hit)))
        missing = self._vectors.missing(wanted)
        embedded = 0
        for start in range(0, len(missing), self._batch):
            while not self._quiet.wait_idle(1.0):  # a question is being answered: it has the cores
                if stop.is_set() or self._quiet.closing:
                    break
            if stop.is_set() or self._quiet.closing:
                return WarmedUp(len(wanted), embedded, 0, False, time.perf_counter() - started)
            batch = missing[start : start + self._batch]
            self._vectors(batch)
            embedded += len(batch)
        if self._version() != version:  # a sync ran meanwhile: the texts gathered may be gone already
            return WarmedUp(len(wanted), embedded, 0, False, time.perf_counter() - started)
        forgotten = self._vectors.keep_only(wanted)
        self._done = version
        return WarmedUp(len(wanted), embedded, forgotten, True, time.perf_counter() - started)

    def keep_warm(self, stop: threading.Event) -> None:
        """Runs a pass now and again whenever the pages changed, until `stop` is set (blocking: run it in a thread
        of its own). A failure is logged and tried again at the next look: answering never depends on it."""
        while not stop.is_set():
            try:
                if self._version() != self._done:
                    done = self.run(stop)
                    if done.embedded or done.forgotten:
                        log.info("Warm-up: %d page sentences embedded ahead of questions (%d already were), %d no "
                                 "longer in any page forgotten, in %.1f s", done.embedded, done.texts - done.embedded,
                                 done.forgotten, done.seconds)  # fmt: skip
            except Exception:
                log.exception("The warm-up failed; answers embed what they need meanwhile")
            stop.wait(self.every)
