"""The observer that counts for Prometheus: questions, latencies, the queue, syncs and the model's state."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.messages import Answer, IncomingMessage
from bot.operations.observer import ModelState

# Seconds. A CPU answers in 2-60 s, a GPU server in under 5; the first token comes after retrieval and prefill.
ANSWER_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
FIRST_TOKEN_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60)


class PrometheusMetrics:
    """Every metric in one registry that the process's wiring owns (no global default registry: two bots in
    one test process count apart)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self._questions = Counter(
            "supportbot_questions", "Questions finished, by platform and status.", ["platform", "status"], registry=r
        )
        self._latency = Histogram(
            "supportbot_answer_seconds", "From question to final answer.", ["platform"],
            buckets=ANSWER_BUCKETS, registry=r,
        )  # fmt: skip
        self._first_token = Histogram(
            "supportbot_first_token_seconds", "From question to the model's first piece of text.", ["platform"],
            buckets=FIRST_TOKEN_BUCKETS, registry=r,
        )  # fmt: skip
        self._sentences = Counter(
            "supportbot_answer_sentences", "Sentences of the model's answers by the support check: backed by a cited "
            "passage (yes), kept without backing (no), dropped for stating what no passage holds (invented).",
            ["supported"], registry=r,
        )  # fmt: skip
        self._queue = Gauge("supportbot_queue_depth", "Questions waiting for the model.", registry=r)
        self._syncs = Counter("supportbot_sync_runs", "Knowledge syncs run, by collection.", ["collection"], registry=r)
        self._sync_failures = Counter(
            "supportbot_sync_failures", "Syncs that failed outright or left files failed.", ["collection"], registry=r
        )
        self._feedback = Counter(
            "supportbot_feedback", "Ratings given under answers (helpful, not_helpful).", ["rating"], registry=r
        )
        self._escalations = Counter("supportbot_escalations", '"Ask a human" presses under answers.', registry=r)
        self._drafts = Gauge("supportbot_drafts_waiting", "Learned answers waiting for review.", registry=r)
        self._reviewed = Counter(
            "supportbot_drafts_reviewed", "Learned answers reviewed (approved, rejected).", ["outcome"], registry=r
        )
        self._model = Enum(
            "supportbot_model", "The answer model's state in this process.", states=["not_loaded", "loading",
            "loaded", "failed"], registry=r,
        )  # fmt: skip

    def answered(self, message: IncomingMessage, answer: Answer) -> None:
        self._questions.labels(message.platform, answer.status).inc()
        timings = answer.timings
        self._latency.labels(message.platform).observe(timings.retrieval + timings.generation)
        if timings.first_token is not None:
            self._first_token.labels(message.platform).observe(timings.first_token)
        if answer.sentences is not None:
            for label, count in (("yes", answer.sentences.supported), ("no", answer.sentences.unsupported),
                                 ("invented", answer.sentences.invented)):  # fmt: skip
                self._sentences.labels(label).inc(count)

    def synced(self, collection: str, *, ok: bool, failed_files: int = 0) -> None:
        self._syncs.labels(collection).inc()
        if not ok or failed_files:
            self._sync_failures.labels(collection).inc()

    def model_state(self, state: ModelState) -> None:
        self._model.state(state)

    def watch_queue(self, waiting: Callable[[], int]) -> None:
        self._queue.set_function(waiting)

    def rated(self, rating: str) -> None:
        self._feedback.labels(rating).inc()

    def escalated(self) -> None:
        self._escalations.inc()

    def reviewed(self, outcome: str) -> None:
        self._reviewed.labels(outcome).inc()

    def watch_drafts(self, waiting: Callable[[], int]) -> None:
        self._drafts.set_function(waiting)

    def render(self) -> bytes:
        """The text exposition format, as GET /metrics serves it."""
        return generate_latest(self.registry)
