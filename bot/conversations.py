"""The conversation manager: a message and its thread in; retrieval, prompt and generation; an Answer out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from sqlalchemy.exc import SQLAlchemyError

from bot.checks.abstention import Relevance
from bot.checks.citations import cited, closest, counts, excerpted
from bot.checks.grounding import SentenceGate, SupportChecker
from bot.checks.repetition import RepetitionGuard
from bot.config import Settings
from bot.drain import Drain, Interrupted
from bot.engines import Generator
from bot.engines.extractive import ExtractiveAnswerer
from bot.engines.pieces import pieces_watched
from bot.history import SqlThreadHistory, ThreadKey, Turn
from bot.language import LanguageDetector, response_language, say
from bot.messages import Answer, IncomingMessage, Preview, SentenceCounts, Source, Timings
from bot.operations.observer import Observer, Unobserved
from bot.prompt import build_messages, documents_block, fit_passages, passage_text
from bot.queue import GenerationQueue, Queued, QueueFull
from bot.records import Asked, Records
from bot.scoping import channel_config, readable_collections
from knowledge.documents import Hit
from knowledge.retrieval import Retrieved, Retriever

log = logging.getLogger(__name__)


CLOSEST_PAGES = 3  # linked beside "not found" on a near call


@dataclass(frozen=True)
class Prepared:
    message: IncomingMessage
    key: ThreadKey
    language: str
    passages: tuple[Hit, ...]
    history: tuple[Turn, ...]
    retrieval_seconds: float
    asked: Asked = field(default_factory=Asked)  # what retrieval knew of the question, for the records
    unranked: Retrieved | None = None  # a retrieval whose re-ranking was put off until after the excerpt
    closest: tuple[Hit, ...] = ()  # no passages, but a near call: the passages to link beside "not found"
    lead: float = 0.0  # what a passage in the asker's language owes its language alone (Retrieved.lead)


@dataclass(frozen=True)
class _Found:
    """What retrieval gave a question: the passages to answer from (none when the knowledge base does not hold the
    answer), what the records keep of the search, the retrieval whose re-ranking was put off, and, with no passages
    to answer from, those to link when the call was near (Verdict.near)."""

    hits: list[Hit] = field(default_factory=list)
    asked: Asked = field(default_factory=Asked)
    unranked: Retrieved | None = None
    closest: tuple[Hit, ...] = ()
    lead: float = 0.0


class Conversations:
    """Answers questions in threads. Returns values; adapters do all platform I/O."""

    def __init__(self, *, settings: Settings, retriever: Retriever, generator: Generator,
                 history: SqlThreadHistory, detector: LanguageDetector, relevance: Relevance,
                 queue: GenerationQueue | None = None, records: Records | None = None,
                 observer: Observer | None = None, drain: Drain | None = None,
                 checker: SupportChecker | None = None,
                 previewer: ExtractiveAnswerer | None = None) -> None:  # fmt: skip
        self._settings = settings
        self._retriever = retriever
        self._generator = generator
        self._history = history
        self._detector = detector
        self._queue = queue or GenerationQueue(max_waiting=settings.bot.max_waiting)
        self._records = records
        self._observer = observer or Unobserved()
        self._drain = drain or Drain()
        self._checker = checker  # None: answers are not checked sentence by sentence (tools without an embedder)
        self._relevance = relevance
        self._previewer = previewer  # None: no excerpt is shown while the model reads (bot.preview)

    def has_answered(self, message: IncomingMessage) -> bool:
        """Follow-ups in a thread the bot has answered need no mention."""
        return self._history.has_answered(ThreadKey(message.platform, message.channel, message.thread))

    def seed(self, message: IncomingMessage, turns: list[Turn]) -> None:
        """A thread the bot joins late: what was said before goes into its history, once."""
        key = ThreadKey(message.platform, message.channel, message.thread)
        if self._history.is_empty(key):
            for turn in turns:
                self._history.add(key, turn)

    def language(self, message: IncomingMessage) -> str:
        """The language to answer this message in (its channel's, or the one it is written in)."""
        return response_language(message.text, detector=self._detector,
                                 forced=channel_config(self._settings, message).language)  # fmt: skip

    def answer_again(self, message: IncomingMessage) -> Answer:
        """A question whose process died before answering it: answered as if first asked (the dead process's
        unanswered turn is forgotten, so the thread does not hold it twice)."""
        self._history.drop_unanswered(ThreadKey(message.platform, message.channel, message.thread), message.text)
        return self.answer(message)

    def answer(self, message: IncomingMessage) -> Answer:
        for item in self.stream(message, preview=False):  # nobody watches it grow: no excerpt to show meanwhile
            if isinstance(item, Answer):
                return item
        raise RuntimeError("the stream ended without an answer")

    def stream(self, message: IncomingMessage, *, preview: bool = True) -> Iterator[str | Queued | Preview | Answer]:
        """Queued(0) at once, a Preview of the pages' own words (with a previewer, before the model reads), its
        place in line while it waits, text pieces as the model writes them, then the final Answer (always, even on
        failure)."""
        started = time.perf_counter()
        about = {"question_id": message.id}
        log.info("Question %s in %s/%s", message.id, message.platform, message.channel, extra=about)
        log.debug("Question %s says: %r", message.id, message.text, extra=about)
        if self._drain.closing:  # stopping: a polite word now beats silence when the process is gone
            yield self._turned_away(message, started)
            return
        # Before any work: language detection, retrieval (a BM25 index rebuilt after a sync) or the model's
        # prefill can take seconds, and the asker must see a reaction within one whatever the model is doing.
        yield Queued(0)
        previewing = preview and self._previewer is not None and not isinstance(self._generator, ExtractiveAnswerer)
        # The re-ranking by sentences embeds the passages' sentences (most of a second on a CPU): with an excerpt to
        # show, it comes after the excerpt, from retrieval's own first passages, and before the model reads.
        prepared = self._prepare(message, rerank=not previewing)
        if previewing and prepared.passages:
            assert self._previewer is not None
            if early := self._preview(self._previewer, prepared):
                yield early  # usable words now, while the model waits for its turn and reads the prompt
            prepared = self._reranked(prepared)
        fresh = self._not_yet_given(prepared)
        self._history.add(
            prepared.key, Turn("user", message.text, prepared.language, documents_block(fresh) if fresh else None)
        )
        if not prepared.passages:
            yield self._not_found(prepared, started)
            return
        if isinstance(self._generator, ExtractiveAnswerer):  # no language model: the pages' own words, at once
            yield self._extracted(self._generator, prepared, started)
            return
        messages = build_messages(
            question=message.text, passages=fresh, history=prepared.history,
            language=prepared.language, prompt_format=self._settings.bot.prompt_format,
        )  # fmt: skip
        written = RepetitionGuard()  # a looping answer is ended there, and keeps one copy of the loop
        # Only whole sentences reach the asker, and never one stating a number, name, command or URL that no
        # passage (nor the question) holds: an invented port must not flash on screen and vanish.
        gate = SentenceGate(question=message.text, passages=[passage_text(h) for h in prepared.passages])
        shown = ""
        first_token: float | None = None
        try:
            with self._queue.place() as ticket:
                for turn in ticket.turns():
                    self._drain.check()
                    yield turn
                model = self._generator.stream(messages, max_new_tokens=self._settings.generator.max_new_tokens)
                for piece in pieces_watched(model, check=self._deadline_check()):  # leaving it stops the model
                    first_token = first_token or time.perf_counter() - started
                    if written.feed(piece):
                        log.info("Question %s: the answer started repeating itself; ended there", message.id,
                                 extra=about)  # fmt: skip
                        break
                    if safe := gate.feed(piece):
                        shown += safe
                        yield safe
        except Interrupted:
            log.warning("Question %s interrupted: the process is stopping", message.id, extra=about)
            yield self._finish(prepared, say("interrupted", prepared.language), "failed", started, first_token)
            return
        except (QueueFull, TimeoutError) as error:
            log.warning("Not answering question %s in %s/%s: %s", message.id, message.platform, message.channel,
                        error, extra=about)  # fmt: skip
            yield self._finish(prepared, say("failed", prepared.language), "failed", started, first_token)
            return
        except Exception:
            log.exception("The model failed on question %s in %s/%s", message.id, message.platform, message.channel,
                          extra=about)  # fmt: skip
            yield self._finish(prepared, say("failed", prepared.language), "failed", started, first_token)
            return
        yield from self._checked(prepared, written.text.strip(), shown, started, first_token)

    def _checked(self, prepared: Prepared, text: str, shown: str, started: float,
                 first: float | None) -> Iterator[str | Answer]:  # fmt: skip
        """The written answer checked against its passages: inventions dropped, only backing pages cited; with no
        sentence backed, an abstention that links the closest pages instead."""
        if self._checker is None:
            yield self._finish(prepared, text, "answered", started, first, sources=closest(prepared.passages))
            return
        passages = [passage_text(hit) for hit in prepared.passages]
        grounded = self._checker.check(question=prepared.message.text, answer=text, passages=passages)
        if grounded.invented:
            log.info("Question %s: %d sentence(s) dropped, stating what no passage holds", prepared.message.id,
                     grounded.invented, extra={"question_id": prepared.message.id})  # fmt: skip
        if not grounded.sources:
            fallback = self._abstain_text(prepared.language, key="not_grounded")
            yield self._finish(prepared, fallback, "abstained", started, first, sources=closest(prepared.passages),
                               sentences=counts(grounded))  # fmt: skip
            return
        final = grounded.text.strip()
        if final.startswith(shown) and len(final) > len(shown):
            yield final[len(shown) :]  # the tail the gate held until the answer ended
        yield self._finish(prepared, final, "answered", started, first, sources=cited(grounded, prepared.passages),
                           sentences=counts(grounded))  # fmt: skip

    def _extracted(self, answerer: ExtractiveAnswerer, prepared: Prepared, started: float) -> Answer:
        """The passages' own sentences that answer the question, framed by one line in the asker's language."""
        excerpt = answerer.excerpt(prepared.message.text, prepared.passages, language=prepared.language,
                                   lead=prepared.lead)  # fmt: skip
        if not excerpt.units:
            fallback = self._abstain_text(prepared.language, key="not_grounded")
            return self._finish(prepared, fallback, "abstained", started, None, sources=closest(prepared.passages))
        text = f"{say('excerpt_lead', prepared.language)}\n\n{excerpt.quoted}"
        counted = SentenceCounts(supported=len(excerpt.units))  # verbatim: every unit is in a cited passage
        return self._finish(prepared, text, "answered", started, time.perf_counter() - started,
                            sources=excerpted(excerpt), sentences=counted)  # fmt: skip

    def _preview(self, previewer: ExtractiveAnswerer, prepared: Prepared) -> Preview | None:
        """The extractive answer, labelled as an excerpt; none when no unit answers, or when it fails (a preview
        must never cost the answer)."""
        try:
            excerpt = previewer.excerpt(prepared.message.text, prepared.passages, language=prepared.language,
                                        lead=prepared.lead)  # fmt: skip
        except Exception:
            log.exception("Question %s: no preview (the excerpt failed)", prepared.message.id,
                          extra={"question_id": prepared.message.id})  # fmt: skip
            return None
        if not excerpt.units:
            return None
        text = f"{say('preview_lead', prepared.language)}\n\n{excerpt.quoted}"
        return Preview(text=text, sources=excerpted(excerpt), language=prepared.language)

    def _deadline_check(self) -> Callable[[], None]:
        """Raises Interrupted once the process is stopping, TimeoutError once bot.answer_timeout_seconds passed."""
        limit = self._settings.bot.answer_timeout_seconds
        deadline = time.monotonic() + limit

        def check() -> None:
            self._drain.check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer within {limit:g} s")

        return check

    def _prepare(self, message: IncomingMessage, *, rerank: bool = True) -> Prepared:
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
        found = self._retrieve(message, history, language, rerank=rerank)
        took = time.perf_counter() - started
        passages = self._fitted(found.hits)
        return Prepared(message, key, language, passages, tuple(history), took, found.asked, found.unranked,
                        found.closest, found.lead)  # fmt: skip

    def _reranked(self, prepared: Prepared) -> Prepared:
        """`prepared` with its re-ranking, if it was put off, done."""
        if prepared.unranked is None:
            return prepared
        started = time.perf_counter()
        hits = self._retriever.rerank(prepared.unranked).hits
        took = prepared.retrieval_seconds + time.perf_counter() - started
        return replace(prepared, passages=self._fitted(hits), retrieval_seconds=took, unranked=None)

    def _fitted(self, hits: list[Hit]) -> tuple[Hit, ...]:
        budget, count = self._settings.bot.context_tokens, self._generator.count_tokens
        return tuple(fit_passages(hits, budget=budget, count_tokens=count))

    def _not_yet_given(self, prepared: Prepared) -> tuple[Hit, ...]:
        """With passages in the user turns, a follow-up's passages that an earlier turn in view already carries
        are not repeated: the model has read them, and reading them again would cost prefill for nothing."""
        if self._settings.bot.prompt_format != "user_context":
            return prepared.passages
        given = "\n".join(turn.context for turn in prepared.history if turn.context)
        return tuple(hit for hit in prepared.passages if passage_text(hit) not in given)

    def _retrieve(self, message: IncomingMessage, history: list[Turn], language: str, *,
                  rerank: bool) -> _Found:  # fmt: skip
        """What retrieval gives the question; with `rerank=False`, its re-ranking is put off."""
        collections = readable_collections(self._settings, message)
        if not collections:
            return _Found()
        # A follow-up ("and on Mac?") means little alone: retrieve with the thread's last questions in view.
        earlier = [t.text for t in history if t.role == "user"][-2:]
        query = "\n".join([*earlier, message.text])
        threshold = self._settings.bot.relevance_threshold
        # A translated page: the asker's version. The deprecated threshold filters re-ranked hits: no putting off.
        retrieved = self._retriever.retrieve(
            query, collections=collections, k=self._settings.bot.top_k, language=language,
            rerank=rerank or threshold is not None,
        )  # fmt: skip
        asked = Asked(
            best_score=retrieved.pool[0] if retrieved.pool else None, embedding=retrieved.embedding,
            embedding_model=self._settings.embedding.model, collections=tuple(collections),
        )  # fmt: skip
        if threshold is not None:  # deprecated: one cosine for every model and language
            return _Found([h for h in retrieved.hits if h.score >= threshold], asked, lead=retrieved.lead)
        verdict = self._relevance.verdict(retrieved, language=language, collections=collections)
        log.info("Question %s: standout %.2f against %.2f (%s)", message.id, verdict.standout, verdict.bar,
                 "answering" if verdict.answer else "abstaining", extra={"question_id": message.id})  # fmt: skip
        if not verdict.answer:
            return _Found([], asked, closest=tuple(retrieved.hits) if verdict.near else ())
        return _Found(retrieved.hits, asked, retrieved if retrieved.unranked else None, lead=retrieved.lead)

    def _not_found(self, prepared: Prepared, started: float) -> Answer:
        """The abstention: "not found" alone when the question is off topic; with the closest pages when it was a
        near call (it stands above every everyday question, but not as far as the admin's level asks)."""
        if not prepared.closest:
            return self._finish(prepared, self._abstain_text(prepared.language), "abstained", started, None)
        pages = closest(prepared.closest)[:CLOSEST_PAGES]
        text = self._abstain_text(prepared.language, key="not_found_near")
        return self._finish(prepared, text, "abstained", started, None, sources=pages)

    def _abstain_text(self, language: str, *, key: str = "not_found") -> str:
        escalation = self._settings.bot.escalation
        text = say(key, language)
        return f"{text} {say('escalate', language, contact=escalation)}" if escalation else text

    def _finish(self, prepared: Prepared, text: str, status: str, started: float, first: float | None, *,
                sources: tuple[Source, ...] = (), sentences: SentenceCounts | None = None) -> Answer:  # fmt: skip
        total = time.perf_counter() - started
        answer = Answer(
            text=text, sources=sources, language=prepared.language, status=status,  # type: ignore[arg-type]
            model=self._generator.name if status == "answered" or sentences else None,
            timings=Timings(prepared.retrieval_seconds, first, total - prepared.retrieval_seconds),
            sentences=sentences,
        )  # fmt: skip
        if status == "answered":
            self._history.add(prepared.key, Turn("assistant", text, prepared.language))
        if self._records is not None:
            try:
                answer = replace(answer, id=self._records.record_answer(prepared.message, answer, prepared.asked))
            except SQLAlchemyError:  # the log is down, not the answer: the asker still gets it (without buttons)
                log.exception("Could not record the answer to question %s", prepared.message.id,
                              extra={"question_id": prepared.message.id})  # fmt: skip
        self._observed(prepared.message, answer)
        return answer

    def _turned_away(self, message: IncomingMessage, started: float) -> Answer:
        language = self.language(message)
        answer = Answer(say("restarting", language), (), language, "failed", None,
                        Timings(generation=time.perf_counter() - started))  # fmt: skip
        self._observed(message, answer)
        return answer

    def _observed(self, message: IncomingMessage, answer: Answer) -> None:
        """The one place every platform's finished questions pass: metrics and the closing log line."""
        log.info(
            "Question %s %s in %.2f s (answer %s)", message.id, answer.status,
            answer.timings.retrieval + answer.timings.generation, answer.id, extra={"question_id": message.id},
        )  # fmt: skip
        self._observer.answered(message, answer)
