"""The conversation manager: a message and its thread in; retrieval, prompt and generation; an Answer out."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from bot.config import Settings
from bot.generator import Generator
from bot.history import SqlThreadHistory, ThreadKey, Turn
from bot.language import LanguageDetector, response_language, say
from bot.messages import Answer, IncomingMessage, Source, Timings
from bot.prompt import build_messages, documents_block, fit_passages
from bot.queue import GenerationQueue, Queued, QueueFull
from bot.records import Records
from bot.scoping import channel_config, readable_collections
from knowledge.documents import Hit
from knowledge.retrieval import Retriever

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    message: IncomingMessage
    key: ThreadKey
    language: str
    passages: tuple[Hit, ...]
    history: tuple[Turn, ...]
    retrieval_seconds: float


class Conversations:
    """Answers questions in threads. Returns values; adapters do all platform I/O."""

    def __init__(self, *, settings: Settings, retriever: Retriever, generator: Generator,
                 history: SqlThreadHistory, detector: LanguageDetector,
                 queue: GenerationQueue | None = None, records: Records | None = None) -> None:  # fmt: skip
        self._settings = settings
        self._retriever = retriever
        self._generator = generator
        self._history = history
        self._detector = detector
        self._queue = queue or GenerationQueue(max_waiting=settings.bot.max_waiting)
        self._records = records

    def has_answered(self, message: IncomingMessage) -> bool:
        """Follow-ups in a thread the bot has answered need no mention."""
        return self._history.has_answered(ThreadKey(message.platform, message.channel, message.thread))

    def seed(self, message: IncomingMessage, turns: list[Turn]) -> None:
        """A thread the bot joins late: what was said before goes into its history, once."""
        key = ThreadKey(message.platform, message.channel, message.thread)
        if self._history.is_empty(key):
            for turn in turns:
                self._history.add(key, turn)

    def answer(self, message: IncomingMessage) -> Answer:
        for item in self.stream(message):
            if isinstance(item, Answer):
                return item
        raise RuntimeError("the stream ended without an answer")

    def stream(self, message: IncomingMessage) -> Iterator[str | Queued | Answer]:
        """Its place in line while it waits, text pieces as the model writes them, then the final Answer
        (always, even on failure)."""
        started = time.perf_counter()
        prepared = self._prepare(message)
        context = documents_block(prepared.passages) if prepared.passages else None
        self._history.add(prepared.key, Turn("user", message.text, prepared.language, context))
        if not prepared.passages:
            yield self._finish(prepared, self._abstain_text(prepared.language), "abstained", started, None)
            return
        messages = build_messages(
            question=message.text, passages=prepared.passages, history=prepared.history,
            language=prepared.language, prompt_format=self._settings.bot.prompt_format,
        )  # fmt: skip
        pieces: list[str] = []
        first_token: float | None = None
        try:
            with self._queue.place() as ticket:
                yield from ticket.turns()
                deadline = time.monotonic() + self._settings.bot.answer_timeout_seconds
                for piece in self._generator.stream(messages, max_new_tokens=self._settings.generator.max_new_tokens):
                    first_token = first_token or time.perf_counter() - started
                    pieces.append(piece)
                    yield piece
                    if time.monotonic() > deadline:  # closing the stream stops the model mid-answer
                        raise TimeoutError(f"no answer within {self._settings.bot.answer_timeout_seconds:g} s")
        except (QueueFull, TimeoutError) as error:
            log.warning("Not answering in %s/%s: %s", message.platform, message.channel, error)
            yield self._finish(prepared, say("failed", prepared.language), "failed", started, first_token)
            return
        except Exception:
            log.exception("The model failed while answering in %s/%s", message.platform, message.channel)
            yield self._finish(prepared, say("failed", prepared.language), "failed", started, first_token)
            return
        yield self._finish(prepared, "".join(pieces).strip(), "answered", started, first_token)

    def _prepare(self, message: IncomingMessage) -> Prepared:
        key = ThreadKey(message.platform, message.channel, message.thread)
        history = self._history.recent(
            key, budget=self._settings.bot.history_tokens, count_tokens=self._generator.count_tokens,
            with_context=self._settings.bot.prompt_format == "user_context",
        )  # fmt: skip
        previous = next((t.language for t in reversed(history) if t.role == "user" and t.language), None)
        language = response_language(
            message.text, detector=self._detector, forced=channel_config(self._settings, message).language,
            previous=previous,
        )  # fmt: skip
        started = time.perf_counter()
        hits = self._retrieve(message, history)
        passages = fit_passages(
            hits, budget=self._settings.bot.context_tokens, count_tokens=self._generator.count_tokens
        )
        return Prepared(message, key, language, tuple(passages), tuple(history), time.perf_counter() - started)

    def _retrieve(self, message: IncomingMessage, history: list[Turn]) -> list[Hit]:
        collections = readable_collections(self._settings, message)
        if not collections:
            return []
        # A follow-up ("and on Mac?") means little alone: retrieve with the thread's last questions in view.
        earlier = [t.text for t in history if t.role == "user"][-2:]
        query = "\n".join([*earlier, message.text])
        hits = self._retriever.search(query, collections=collections, k=self._settings.bot.top_k)
        return [h for h in hits if h.score >= self._settings.bot.relevance_threshold]

    def _abstain_text(self, language: str) -> str:
        escalation = self._settings.bot.escalation
        text = say("not_found", language)
        return f"{text} {say('escalate', language, contact=escalation)}" if escalation else text

    def _finish(self, prepared: Prepared, text: str, status: str, started: float, first: float | None) -> Answer:
        total = time.perf_counter() - started
        sources = _sources(prepared.passages) if status == "answered" else ()
        answer = Answer(
            text=text, sources=sources, language=prepared.language, status=status,  # type: ignore[arg-type]
            model=self._generator.name if status == "answered" else None,
            timings=Timings(prepared.retrieval_seconds, first, total - prepared.retrieval_seconds),
        )  # fmt: skip
        if status == "answered":
            self._history.add(prepared.key, Turn("assistant", text, prepared.language))
        if self._records is not None:
            answer = replace(answer, id=self._records.record_answer(prepared.message, answer))
        return answer


def _sources(passages: tuple[Hit, ...]) -> tuple[Source, ...]:
    """The distinct documents behind the passages given to the model, best first; never anything else."""
    seen: dict[tuple[str, str], Source] = {}
    for hit in passages:
        seen.setdefault((hit.collection, hit.path), Source(hit.title, hit.heading, hit.path, hit.url, hit.collection))
    return tuple(seen.values())
