"""The one door from the chat platforms into the bot: a question is asked at the desk and its answer watched as it
is written; an answer is rated; admins ask about and sync the knowledge base; questions of a process that died are
taken over. Adapters receive a Desk and never see what stands behind it (the store, the model, the records).

Asking does what every platform did before its answer, in the same order: claim the event (a doubled delivery or
a retry is answered once; the claim keeps the question and where to answer it, for recovery), hold the stop back
until the answer is in (bot/drain.py), and give a thread the bot joins late its earlier messages. Leaving the
`ask` block marks the question answered, or gives the claim back if posting failed or was cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from bot.cron import Cron
from bot.history import Turn
from bot.inflight import Claim
from bot.language import say
from bot.learning import Learned, Origin, Reply, Saved, drafts_for
from bot.messages import Answer, AnswerEvent, IncomingMessage, answer_events
from bot.records import Rating
from bot.wiring import Bot
from knowledge.sync_lock import SyncAlreadyRunning

__all__ = [
    "Asking",
    "BotDesk",
    "Claim",
    "Desk",
    "KbAdmin",
    "Learned",
    "Learning",
    "Notice",
    "Origin",
    "Questions",
    "Rating",
    "Reply",
    "Saved",
    "TakeOver",
    "Turn",
    "in_background",
    "say",
]

T = TypeVar("T")
DIGEST_GRACE = timedelta(hours=12)  # a digest no process was up to post is posted late, up to this late


@dataclass(frozen=True)
class Notice:
    """A post of the bot's own accord: where, what, and its claim (given back if the platform refuses it)."""

    channel: str
    text: str
    key: str


Earlier = Callable[[], Awaitable[Sequence[Turn]]]


@dataclass(frozen=True)
class Asking:
    """A question taken at the desk: its answer's events (the answer is written when they are read), and where
    to note the message that stands for the answer (a placeholder's id), so that a process taking the question
    over replaces it."""

    events: AsyncIterator[AnswerEvent]
    placed: Callable[[str], Awaitable[None]]


class Questions(Protocol):
    """Asking, and what a platform needs to know to decide whether a message is for the bot."""

    def ask(
        self, message: IncomingMessage, *, key: str | None = None, reply: dict[str, str] | None = None,
        earlier: Earlier | None = None,
    ) -> contextlib.AbstractAsyncContextManager[Asking | None]:  # fmt: skip
        """`key`: the platform's id of the event, claimed (None where the platform delivers once, e.g. a slash
        command); None is yielded when another delivery has it. `reply`: where to answer, kept with the claim.
        `earlier`: the thread's messages before the bot was called into it."""
        ...

    async def ready(self) -> None:
        """Load the models and indexes now, before the first question rather than during it."""

    def serving(self, platform: str) -> None:
        """The platform takes questions from now on (its port listens, or it is connected): the process's readiness
        (/healthz) waits for every platform it runs."""

    async def follows_up(self, message: IncomingMessage) -> bool:
        """Whether a message without a mention, in a thread, is a follow-up the bot answers: it answered there, the
        message is from someone it answered there, and nobody there asked for a person since (a colleague or a
        helper talking in the thread is not asking the bot; a mention still is)."""
        ...

    async def feedback(self, answer_id: str, *, user: str, rating: Rating) -> bool:
        """Records 👍/👎 on an answer; False when it is too old to rate."""
        ...

    async def escalate(self, answer_id: str, *, user: str) -> bool:
        """Records "Ask a human" under an answer (the platform calls the helpers); False for an unknown answer."""
        ...


class KbAdmin(Protocol):
    """`/kb status` and `/kb sync`, for the knowledge base's admins."""

    @property
    def collections(self) -> list[str]: ...

    async def kb_status(self, *, bold: str) -> list[str]:
        """One line a collection; `bold` is the platform's strong marker ("*", "**")."""
        ...

    async def kb_sync(self, names: Sequence[str], *, bold: str, holder: str, failures_shown: int = 10) -> list[str]:
        """Syncs the collections and summarises each; `holder` ("platform:user") is who others are told holds it."""
        ...


class TakeOver(Protocol):
    """Questions whose process died mid-answer (adapters/recovery.py looks for them every `recover_every` s)."""

    @property
    def recover_every(self) -> float: ...

    async def stale(self, platform: str) -> list[Claim]:
        """The platform's questions whose process died, each taken over by this one (none while stopping)."""
        ...

    def recovering(self, claim: Claim) -> contextlib.AbstractAsyncContextManager[Answer]:
        """The answer to post for a question taken over: marked answered when the block ends, given back if it
        fails."""
        ...


class Learning(Protocol):
    """A person's reply that answers what the bot could not, saved for review (bot/learning.py), and the threads
    to tell once an approved one is in the index."""

    async def save_reply(self, reply: Reply) -> Saved:
        """Writes the reply as a draft when its thread holds an answer the bot abstained on, that was rated 👎 or
        escalated (the draft's title is that question); once per reply, across the fleet. The platform checks
        that whoever marked it is an admin or a helper."""
        ...

    async def learned(self, platform: str) -> list[Learned]:
        """The approved replies from this platform's threads that a sync has indexed since, each one given to one
        process of the fleet only, to say "Saved; I will answer this from now on" in its thread."""
        ...

    async def digests(self, platform: str, *, bold: str) -> list[Notice]:
        """The weekly digests due on this platform's `report.digest_channel`s since the last look (or, at start,
        within DIGEST_GRACE), each claimed so that one process of the fleet posts it."""
        ...

    async def give_back(self, platform: str, key: str) -> None:
        """A notice this process claimed but could not post (the platform refused it): the next round posts it."""


class Desk(Questions, KbAdmin, TakeOver, Learning, Protocol):
    """All an adapter may ask of the bot."""


async def in_background(stream: Callable[[IncomingMessage], Iterator[T]], message: IncomingMessage) -> AsyncIterator[T]:
    """The bot's blocking stream, run in a worker thread, its items handed to the event loop as they come."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[Any] = asyncio.Queue()
    done = object()

    def hand(item: object) -> bool:
        try:
            loop.call_soon_threadsafe(items.put_nowait, item)
            return True
        except RuntimeError:  # the event loop is closed (the process is stopping): nobody reads any longer
            return False

    def produce() -> None:
        answers = stream(message)
        try:
            for item in answers:
                if not hand(item):
                    return
        except BaseException as error:
            hand(error)
        finally:
            close = getattr(answers, "close", None)
            if close is not None:
                close()  # a stream left early still runs its own endings (its place in line is given up)
            hand(done)

    # A thread of its own, not the loop's shared executor: a stream waits in line for the model for minutes,
    # and a burst of questions would fill the executor's few threads (cores + 4), keeping later questions from
    # even taking their place in line and the quick work (event claims, history reads) waiting behind them.
    threading.Thread(target=produce, name=f"answer-{message.platform}-{message.thread}", daemon=True).start()
    while (item := await items.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


class BotDesk:
    """The desk in front of the wired bot (bot/wiring.py)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self.up: set[str] = set()  # the platforms that take questions (serving())
        self._told: set[str] = set()  # learned drafts whose thread was told (or is being told) by some process
        self._digest_looked: dict[str, datetime] = {}  # per platform, up to when digests due were looked for

    @contextlib.asynccontextmanager
    async def ask(
        self, message: IncomingMessage, *, key: str | None = None, reply: dict[str, str] | None = None,
        earlier: Earlier | None = None,
    ) -> AsyncIterator[Asking | None]:  # fmt: skip
        bot, platform = self._bot, message.platform
        if key is not None:
            claimed = await asyncio.to_thread(bot.inflight.claim, platform, key, message=message, reply=reply or {})
            if not claimed:
                yield None
                return

        async def placed(where: str) -> None:
            if key is not None:
                await asyncio.to_thread(bot.inflight.placed, platform, key, where)

        async with self._finishing(platform, key):
            with bot.drain.question():  # a stop waits for this answer (or tells the asker it was interrupted)
                if earlier is not None:
                    turns = await earlier()
                    await asyncio.to_thread(bot.conversations.seed, message, list(turns))
                events = in_background(lambda m: answer_events(bot.conversations.stream(m)), message)
                yield Asking(events=events, placed=placed)

    async def ready(self) -> None:
        await asyncio.to_thread(lambda: self._bot.conversations)

    def serving(self, platform: str) -> None:
        self.up.add(platform)

    async def follows_up(self, message: IncomingMessage) -> bool:
        return await asyncio.to_thread(self._follows_up, message)

    def _follows_up(self, message: IncomingMessage) -> bool:
        if not self._bot.conversations.has_answered(message):
            return False
        record = self._bot.records.thread(message.platform, message.channel, message.thread)
        # No answer left in the log (older than its retention): whoever writes there, as before the log.
        return not record.handed_over and (not record.askers or message.user in record.askers)

    async def feedback(self, answer_id: str, *, user: str, rating: Rating) -> bool:
        stored = await asyncio.to_thread(self._bot.records.record_feedback, answer_id, user=user, rating=rating)
        if stored:
            self._bot.knowledge.observer.rated(rating)
        return stored

    async def escalate(self, answer_id: str, *, user: str) -> bool:
        """Someone pressed "Ask a human" under this answer: kept for the report (the platform calls the helpers)."""
        stored = await asyncio.to_thread(self._bot.records.record_escalation, answer_id, user=user)
        if stored:
            self._bot.knowledge.observer.escalated()
        return stored

    async def save_reply(self, reply: Reply) -> Saved:
        return await asyncio.to_thread(self._save_reply, reply)

    def _save_reply(self, reply: Reply) -> Saved:
        bot, origin = self._bot, reply.origin
        unresolved = bot.records.unresolved(origin.platform, origin.channel, origin.thread, before=reply.written)
        if unresolved is None:
            return Saved("nothing_to_learn")
        key = f"learn:{reply.key}"
        if not bot.records.claim(origin.platform, key):
            return Saved("already_saved")
        try:
            draft = drafts_for(bot.knowledge.settings).write(
                question=str(unresolved["question"]), reply=reply.text, author=reply.author,
                marked_by=reply.marked_by, link=reply.link, language=str(unresolved["language"]), origin=origin,
            )  # fmt: skip
        except BaseException:  # not written (a full disk, a folder it may not write): the next mark tries again
            bot.records.unclaim(origin.platform, key)
            raise
        return Saved("saved", draft)

    async def learned(self, platform: str) -> list[Learned]:
        return await asyncio.to_thread(self._learned, platform)

    def _learned(self, platform: str) -> list[Learned]:
        knowledge, records = self._bot.knowledge, self._bot.records
        settings = knowledge.settings
        if settings.learning.collection not in {c.name for c in settings.collections}:
            return []
        indexed = {path for path, f in knowledge.manifest.files(settings.learning.collection).items() if f.content_hash}
        won = []
        for draft, path in drafts_for(settings).learned():
            if draft.origin is None or draft.origin.platform != platform or path not in indexed:
                continue
            if draft.id in self._told:
                continue  # told by this process or another: not claimed again every round
            claimed = records.claim(platform, f"learned:{draft.id}")
            self._told.add(draft.id)
            if claimed:
                won.append(Learned(draft.id, draft.origin, draft.language))
        return won

    async def digests(self, platform: str, *, bold: str) -> list[Notice]:
        return await asyncio.to_thread(self._digests, platform, bold)

    def _digests(self, platform: str, bold: str) -> list[Notice]:
        from bot.report import build_report  # scikit-learn: imported by the processes that post digests only
        from bot.report.digest import WEEK, digest_text
        from bot.report.sources import knowledge_sources

        settings = self._bot.knowledge.settings.report
        channels = [c.split(":", 1)[1] for c in settings.digest_channel if c.split(":", 1)[0] == platform]
        if not channels:
            return []
        now = datetime.now(ZoneInfo(settings.timezone))
        after = self._digest_looked.get(platform, now - DIGEST_GRACE)
        self._digest_looked[platform] = now
        notices = []
        for when in Cron.parse(settings.digest_cron).between(after, now):
            key = f"digest:{when.astimezone(UTC).isoformat(timespec='minutes')}"
            if not self._bot.records.claim(platform, key):
                continue  # another process of the fleet posts this one
            try:
                report = build_report(self._bot.knowledge.manifest.engine, since=when - WEEK, until=when,
                                      sources=knowledge_sources(self._bot.knowledge))  # fmt: skip
            except BaseException:  # given back, and looked for again at the next round
                self._bot.records.unclaim(platform, key)
                self._digest_looked[platform] = after
                raise
            text = digest_text(report, bold=bold, admin_url=settings.admin_url)
            notices += [Notice(channel, text, key) for channel in channels]
        return notices

    async def give_back(self, platform: str, key: str) -> None:
        await asyncio.to_thread(self._bot.records.unclaim, platform, key)
        self._told.discard(key.removeprefix("learned:"))

    @property
    def collections(self) -> list[str]:
        return [c.name for c in self._bot.knowledge.settings.collections]

    async def kb_status(self, *, bold: str) -> list[str]:
        return await asyncio.to_thread(self._status_lines, bold)

    async def kb_sync(self, names: Sequence[str], *, bold: str, holder: str, failures_shown: int = 10) -> list[str]:
        return await asyncio.to_thread(self._sync_lines, list(names), bold, holder, failures_shown)

    @property
    def recover_every(self) -> float:
        """As often as the leases are renewed (a quarter of bot.recover_after_seconds, within [0.5, 15] s)."""
        return max(self._bot.inflight.period, 0.5)

    async def stale(self, platform: str) -> list[Claim]:
        inflight, drain = self._bot.inflight, self._bot.drain
        if drain.closing:
            return []
        return [claim for claim in await asyncio.to_thread(inflight.stale, [platform])
                if not drain.closing and await asyncio.to_thread(inflight.take_over, claim)]  # fmt: skip

    @contextlib.asynccontextmanager
    async def recovering(self, claim: Claim) -> AsyncIterator[Answer]:
        async with self._finishing(claim.platform, claim.event_key):
            with self._bot.drain.question():
                yield await self._recovered(claim)

    async def _recovered(self, claim: Claim) -> Answer:
        """A short apology in the asker's language for a question older than bot.recover_max_age_minutes; else
        "Sorry for the wait, I restarted:" and the answer the dead process had logged, or a fresh one."""
        bot = self._bot
        conversations = bot.conversations
        max_age = timedelta(minutes=bot.knowledge.settings.bot.recover_max_age_minutes)
        if datetime.now(UTC) - claim.claimed_at > max_age:
            language = await asyncio.to_thread(conversations.language, claim.message)
            return Answer(say("too_late", language), (), language, "failed", None)
        answer = await asyncio.to_thread(bot.records.recorded, claim.message, since=claim.claimed_at)
        if answer is None:
            answer = await asyncio.to_thread(conversations.answer_again, claim.message)
        return replace(answer, text=f"{say('restarted', answer.language)}\n\n{answer.text}")

    @contextlib.asynccontextmanager
    async def _finishing(self, platform: str, key: str | None) -> AsyncIterator[None]:
        """Around answering a claimed question: done once posted; given back if posting failed or was cut short
        (the platform refused even the apology, the process is stopping), for a later round to answer."""
        inflight = self._bot.inflight
        try:
            yield
        except BaseException:
            if key is not None:
                await asyncio.shield(asyncio.to_thread(inflight.release, platform, key))
            raise
        if key is not None:
            await asyncio.to_thread(inflight.done, platform, key)

    def _status_lines(self, bold: str) -> list[str]:
        knowledge = self._bot.knowledge
        lines = []
        for collection in knowledge.settings.collections:
            status = knowledge.manifest.status(collection.name)
            when = status.last_sync.strftime("%Y-%m-%d %H:%M UTC") if status.last_sync else "never"
            lines.append(
                f"{bold}{collection.name}{bold} ({collection.visibility}): {status.files} files, "
                f"{status.chunks} chunks, last sync {when}, {len(status.failures)} failures"
            )
        return lines or ["No collections are configured."]

    def _sync_lines(self, names: list[str], bold: str, holder: str, failures_shown: int) -> list[str]:
        knowledge = self._bot.knowledge
        lines = []
        for name in names:
            try:
                report = knowledge.syncer.sync(knowledge.settings.collection(name), holder=holder)
            except SyncAlreadyRunning as error:
                lines.append(str(error))
                continue
            except Exception:
                knowledge.observer.synced(name, ok=False)
                raise
            knowledge.observer.synced(name, ok=True, failed_files=len(report.failed))
            lines.append(
                f"{bold}{name}{bold}: {len(report.added)} added, {len(report.updated)} updated, "
                f"{len(report.removed)} removed, {report.unchanged} unchanged, {len(report.failed)} failed"
            )
            lines += [f"• `{f.path}`: {f.reason}" for f in report.failed[:failures_shown]]
        knowledge.retriever.warm()  # answered once the new passages can be found by their words too
        return lines
