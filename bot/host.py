"""The bot as the process host drives it: the command line, `supportbot run` and its operators' endpoints
(adapters/cli/). The host opens the bot from the settings, syncs and searches the knowledge base, asks questions in
the terminal and in evaluations, hands the chat platforms their desk (bot/desk.py), keeps this process's claims
alive, drains on a stop, and reports health. It never sees the wiring behind (bot/wiring.py): which store, which
model engine, which records.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path

from bot.config import Settings
from bot.desk import BotDesk
from bot.drain import Drain
from bot.learning import Draft, Drafts, drafts_for
from bot.messages import Answer, IncomingMessage, Preview, Queued
from bot.operations.health import Check, health_checks
from bot.operations.observer import Observer, Unobserved
from bot.records import Purged
from bot.report import Report, Sources, build_report
from bot.report.sources import knowledge_sources
from bot.wiring import Bot, Knowledge
from knowledge.documents import Hit
from knowledge.manifest import CollectionStatus
from knowledge.sync import SyncProgress, SyncReport

log = logging.getLogger(__name__)


class NeverSynced(Exception):
    """Questions were asked of collections that have never completed a sync."""


class Host:
    """One process's bot, built lazily from the settings: `kb status` loads no model, `search` only the embedding
    model, `ask` the model engine too."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    @classmethod
    def open(
        cls, settings: Settings, *, progress: Callable[[str], None] | None = None,
        warn: Callable[[str], None] = log.warning, observer: Observer | None = None, serving: bool = False,
    ) -> Host:  # fmt: skip
        """`progress`: lines while models download or load; `warn`: what the user should know (a stand-in model
        answers); `observer`: `supportbot run`'s metrics; `serving`: questions come while the model engine holds
        the cores (the embedding model then keeps to one)."""
        knowledge = Knowledge(settings, progress=progress, observer=observer or Unobserved(), serving=serving)
        return cls(Bot(knowledge, warn=warn))

    @property
    def settings(self) -> Settings:
        return self._bot.knowledge.settings

    # The knowledge base

    def status(self, collection: str) -> CollectionStatus:
        return self._bot.knowledge.manifest.status(collection)

    def never_synced(self, collections: Sequence[str]) -> list[str]:
        return self._bot.knowledge.manifest.never_synced(list(collections))

    def require_synced(self, collections: Sequence[str]) -> None:
        """NeverSynced unless at least one of the collections has completed a sync."""
        if not any(self.status(name).last_sync for name in collections):
            raise NeverSynced("The knowledge base has never been synced; run `supportbot sync` first.")

    def sync(
        self, collection: str, *, holder: str, dry_run: bool = False, rebuild: bool = False,
        progress: SyncProgress | None = None,
    ) -> SyncReport:  # fmt: skip
        """Syncs one collection (SyncAlreadyRunning if another holds it); `rebuild` first forgets everything the
        collection holds, under its lock, so a sync running elsewhere never loses what it writes."""
        knowledge = self._bot.knowledge
        if rebuild and not dry_run:
            with knowledge.sync_locks.hold(collection, holder=holder):
                knowledge.store.drop(collection)
                knowledge.manifest.forget_collection(collection)
        config = knowledge.settings.collection(collection)
        return knowledge.syncer.sync(config, dry_run=dry_run, progress=progress, holder=holder)

    def search(self, text: str, *, collections: Sequence[str], k: int, language: str | None = None) -> list[Hit]:
        """The passages the bot would answer from; `language`: the asker's, a translated page then being cited."""
        return self._bot.knowledge.retriever.search(text, collections=collections, k=k, language=language)

    # What the bot did

    def report(self, *, since: datetime, until: datetime, channel: str | None = None,
               show_users: bool = False) -> Report:  # fmt: skip
        """What was asked in the period, what was answered, the gaps (this loads the embedding model)."""
        return build_report(self._bot.knowledge.manifest.engine, since=since, until=until, channel=channel,
                            show_users=show_users, sources=self._report_sources())  # fmt: skip

    def purge_records(self, before: datetime) -> Purged:
        return self._bot.records.purge(before)

    def _report_sources(self) -> Sources:
        return knowledge_sources(self._bot.knowledge)

    # Answers learned from people

    @cached_property
    def drafts(self) -> Drafts:
        return drafts_for(self.settings)

    def approve(self, draft_id: str) -> Path:
        """The draft moved into the learned collection's folder (the next sync indexes it)."""
        where = self.drafts.approve(draft_id)
        self._bot.knowledge.observer.reviewed("approved")
        return where

    def reject(self, draft_id: str) -> Draft:
        draft = self.drafts.reject(draft_id)
        self._bot.knowledge.observer.reviewed("rejected")
        return draft

    # Questions

    @property
    def model(self) -> str:
        """The name of what writes the answers (loading it if it is not loaded yet)."""
        return self._bot.generator.name

    def answer(self, message: IncomingMessage) -> Answer:
        return self._bot.conversations.answer(message)

    def stream(self, message: IncomingMessage) -> Iterator[str | Queued | Preview | Answer]:
        with self._bot.drain.question():  # counted in flight: the warm-up leaves it the cores
            yield from self._bot.conversations.stream(message)

    # Serving the chat platforms

    @cached_property
    def desk(self) -> BotDesk:
        return BotDesk(self._bot)

    @property
    def drain(self) -> Drain:
        return self._bot.drain

    def keep_alive(self) -> Callable[[], None]:
        """Renews the leases of the questions this process answers until the returned function is called: once the
        process dies they lapse, and another process (or this one, restarted) answers them."""
        return self._bot.inflight.keep_alive()

    def warm_up(self) -> Callable[[], None]:
        """Embeds the pages' sentences in a thread while no question is in flight, now and after each sync, until
        the returned function is called (it returns once the thread is out of the embedding model): a page's first
        question then waits for no embedding."""
        bot = self._bot
        stop = threading.Event()

        def begin() -> None:
            # The models load with the first question (or the desk's start), never twice: the warm-up waits for them.
            while not bot.answering.wait(1.0):
                if stop.is_set():
                    return
            bot.warmup.keep_warm(stop)

        thread = threading.Thread(target=begin, name="warm-up", daemon=True)
        thread.start()

        def stop_warming() -> None:
            # Waited for (its batch ends within a second): a thread still inside the embedding model when the
            # interpreter exits aborts the process.
            stop.set()
            thread.join(timeout=30)

        return stop_warming

    def health_checks(self, starting: Callable[[], list[str]] = list) -> dict[str, Callable[[], Check]]:
        """GET /healthz's checks; `starting`: the chat platforms not taking questions yet."""
        return health_checks(self._bot, starting)
