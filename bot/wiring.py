"""The one place that builds concrete objects from the settings; everything else receives them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from bot.checks.abstention import Relevance, reference_questions
from bot.checks.grounding import SupportChecker
from bot.config import Settings
from bot.conversations import Conversations
from bot.drain import Drain
from bot.engines import Generator
from bot.engines.choice import open_generator, previews, resolve_backend
from bot.engines.extractive import MAX_EMBEDDED, PREVIEW_EMBEDDED, ExtractiveAnswerer, unit_texts
from bot.history import SqlThreadHistory
from bot.inflight import InFlight
from bot.language import shared_detector
from bot.operations.observer import Observer, Unobserved
from bot.queue import GenerationQueue
from bot.records import Records
from bot.rerank import SentenceRerank
from bot.rerank import units as rerank_units
from bot.warmup import Warmup
from knowledge.database import open_database
from knowledge.documents import Hit
from knowledge.embedder import SentenceTransformerEmbedder
from knowledge.hubs import Hubness
from knowledge.lexical import LexicalIndex
from knowledge.lexical_store import LexicalStore, MirroredStore
from knowledge.manifest import Manifest
from knowledge.retrieval import Retriever
from knowledge.roles import Embedder
from knowledge.store import ChromaStore
from knowledge.sync import Syncer
from knowledge.sync_lock import SyncLocks
from knowledge.translations import Translations
from knowledge.vectors import PassageVectors, VectorFile

log = logging.getLogger(__name__)


def embedding_threads(settings: Settings, *, serving: bool) -> int | None:
    """CPU threads for the embedding model (None: torch's own choice, one per core). embedding.threads when set;
    else one in a process that answers with a model engine other than torch (llama.cpp, or a model server):
    with llama.cpp decoding on both cores of a 2-core machine, a query took 1,054 ms at p95 on two threads and
    92 ms on one, and 35 against 43 ms with the cores free (benchmarks/retrieval.py --threads)."""
    configured = settings.embedding.threads
    if configured is not None or not serving or settings.embedding.device != "cpu":
        return configured
    return 1 if resolve_backend(settings.generator.backend) in ("llamacpp", "openai") else None


def calibration_stamp(knowledge: Knowledge, collections: Sequence[str]) -> str:
    """What an abstention calibration is valid for: the embedding model and each collection's content, whose
    version every write bumps (a sync that changes nothing keeps it)."""
    versions = ",".join(f"{name}:{knowledge.lexical_store.state(name).version}" for name in collections)
    return f"{knowledge.embedder.name}|{versions}"


@dataclass
class Knowledge:
    """The knowledge half, built lazily: `kb status` needs no embedding model, `search` does."""

    settings: Settings
    progress: Callable[[str], None] | None = None
    prebuilt_embedder: Embedder | None = None  # the tests share one loaded model across many stores
    observer: Observer = field(default_factory=Unobserved)  # `supportbot run` passes its metrics
    serving: bool = False  # `supportbot run`: questions come while the model engine holds the cores

    @cached_property
    def manifest(self) -> Manifest:
        if self.settings.database.url is None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = self.settings.database_url
        return Manifest(open_database(url, auto_upgrade=self.settings.database.auto_upgrade))

    @cached_property
    def sync_locks(self) -> SyncLocks:
        return SyncLocks(self.manifest.engine)

    @cached_property
    def embedder(self) -> Embedder:
        if self.prebuilt_embedder is not None:
            return self.prebuilt_embedder
        config = self.settings.embedding
        threads = embedding_threads(self.settings, serving=self.serving)
        if threads is not None:
            import torch

            torch.set_num_threads(threads)  # the process's torch: only the embedding model uses it on this path
            log.info("the embedding model runs on %d CPU thread%s", threads, "" if threads == 1 else "s")
        return SentenceTransformerEmbedder.load(
            config.model,
            models_dir=self.settings.data_dir / "models",
            device=config.device,
            batch_size=config.batch_size,
            progress=self.progress,
        )

    @cached_property
    def store(self) -> ChromaStore:
        model, dimensions = self.embedder.name, self.embedder.dimensions
        if self.settings.chroma.url:
            return ChromaStore.server(self.settings.chroma.url, model_name=model, dimensions=dimensions)
        return ChromaStore.embedded(self.settings.data_dir / "chroma", model_name=model, dimensions=dimensions)

    @cached_property
    def syncer(self) -> Syncer:
        return Syncer(
            # The lexical copy is written even with hybrid off, so turning it on later needs no rebuild.
            store=MirroredStore(self.store, self.lexical_store),
            titles=self.store,  # page titles go to Chroma only: they are not passages, nor words to search
            embedder=self.embedder,
            manifest=self.manifest,
            locks=self.sync_locks,
            chunking=self.settings.chunking,
            max_file_bytes=int(self.settings.sync.max_file_mb * 1_000_000),
            translations=self.translations,
            detect=lambda text: shared_detector().detect(text),  # built on the first page synced, then shared
        )

    @cached_property
    def retriever(self) -> Retriever:
        config = self.settings.retrieval
        lexical = LexicalIndex(self.lexical_store, manifest=self.manifest) if config.hybrid else None
        return Retriever(
            store=self.store, embedder=self.embedder, manifest=self.manifest, collections=self.settings.collections,
            lexical=lexical, candidates=config.candidates, per_source_limit=config.per_source,
            title_weight=config.title_weight, pages=self.lexical_store, translations=self.translations,
            rerank=SentenceRerank(self.passage_vectors, weight=config.sentence_weight) if config.sentence_weight
            else None,
            hubs=self.hubs, hub_weight=config.hub_weight,
        )  # fmt: skip

    @cached_property
    def hubs(self) -> Hubness:
        """The everyday questions and their vectors: against them a passage that resembles every question is found,
        and a question no page answers (bot/checks/abstention.py)."""
        questions = reference_questions()
        return Hubness(self.embedder, [text for text, _ in questions], languages=[lang for _, lang in questions],
                       cache_dir=self.settings.data_dir / "hubs")  # fmt: skip

    @cached_property
    def passage_vectors(self) -> PassageVectors:
        """Sentences embedded once, for the sentence re-ranking and the extractive answerer: kept on disk, one file
        per embedding model, so a restart (or the warm-up before it) leaves nothing to embed again."""
        return PassageVectors(self.embedder, file=VectorFile.open(self.settings.data_dir / "vectors", self.embedder))

    @cached_property
    def lexical_store(self) -> LexicalStore:
        return LexicalStore(self.manifest.engine)

    @cached_property
    def translations(self) -> Translations:
        return Translations(self.manifest.engine)


@dataclass
class Bot:
    """The answering half on top of the knowledge half."""

    knowledge: Knowledge
    warn: Callable[[str], None]
    prebuilt_generator: Generator | None = None
    drain: Drain = field(default_factory=Drain)  # `supportbot run` closes it on SIGTERM
    answering: threading.Event = field(default_factory=threading.Event)  # set once the conversations are built

    @cached_property
    def generator(self) -> Generator:
        observer = self.knowledge.observer
        if self.prebuilt_generator is not None:
            observer.model_state("loaded")
            return self.prebuilt_generator
        observer.model_state("loading")
        try:
            generator = open_generator(self.knowledge.settings.generator, warn=self.warn, extractive=self.extractive)
        except Exception:
            observer.model_state("failed")
            raise
        observer.model_state("loaded")
        return generator

    def extractive(self, *, preview: bool = False) -> ExtractiveAnswerer:
        """The answerer with no language model, on the embedding model the knowledge half has loaded anyway; with
        `preview`, the quicker one that shows an excerpt while a model reads."""
        config = self.knowledge.settings.generator.extractive
        return ExtractiveAnswerer(
            self.knowledge.embedder, max_words=config.max_words, pages=self.knowledge.retriever.page,
            vectors=self.knowledge.passage_vectors, languages=self.knowledge.retriever.languages,
            max_embedded=PREVIEW_EMBEDDED if preview else MAX_EMBEDDED, ordinary=self.knowledge.hubs.words(),
        )  # fmt: skip

    @cached_property
    def conversations(self) -> Conversations:
        settings = self.knowledge.settings
        self.knowledge.retriever.warm()  # ready to answer means the first question waits for no index either
        if settings.bot.relevance_threshold is None:  # nor for abstention's calibration (seconds, once per content)
            self.relevance.calibration(settings.bot.default_collections or [c.name for c in settings.collections])
        conversations = Conversations(
            settings=settings,
            retriever=self.knowledge.retriever,
            generator=self.generator,
            history=SqlThreadHistory(
                self.knowledge.manifest.engine, retention_days=settings.bot.history_retention_days
            ),
            detector=shared_detector(),
            queue=self.queue,
            records=self.records,
            observer=self.knowledge.observer,
            drain=self.drain,
            relevance=self.relevance,
            checker=SupportChecker(self.knowledge.embedder),
            previewer=self.extractive(preview=True) if previews(settings.bot.preview, self.generator) else None,
        )
        self.answering.set()
        return conversations

    @cached_property
    def warmup(self) -> Warmup:
        """Embeds, while no question is in flight, every page's texts that answering would embed: the sentences the
        re-ranking compares (when on) and the units the extractive answer or excerpt picks from (always: whether
        they are used is known only once the model is loaded, and a model that fails to load falls back to them)."""
        knowledge = self.knowledge
        names = [c.name for c in knowledge.settings.collections]
        reranking = knowledge.settings.retrieval.sentence_weight > 0

        def texts(hit: Hit) -> list[str]:
            return (rerank_units(hit.text) if reranking else []) + unit_texts(hit)

        return Warmup(
            vectors=knowledge.passage_vectors, texts=texts, quiet=self.drain,
            passages=lambda: [hit for name in names for hit in knowledge.lexical_store.passages(name)],
            version=lambda: tuple(knowledge.lexical_store.state(name).version for name in names),
        )  # fmt: skip

    @cached_property
    def relevance(self) -> Relevance:
        knowledge = self.knowledge
        if knowledge.settings.bot.relevance_threshold is not None:  # logged: a JSON log stays all JSON
            log.warning(
                "bot.relevance_threshold is deprecated: a fixed cosine depends on the embedding model and the "
                "asker's language. Remove it to let the bot calibrate itself, and set bot.abstain (strict, "
                "balanced or lenient) instead."
            )
        return Relevance(
            everyday=knowledge.hubs.everyday,  # embedded once per model, for hubness and for this
            probe=lambda vectors, names: knowledge.retriever.probe(vectors, collections=names),
            stamp=lambda names: calibration_stamp(knowledge, names),
            cache_dir=knowledge.settings.data_dir / "calibration",
            level=knowledge.settings.bot.abstain,
        )  # fmt: skip

    @cached_property
    def queue(self) -> GenerationQueue:
        queue = GenerationQueue(max_waiting=self.knowledge.settings.bot.max_waiting)
        self.knowledge.observer.watch_queue(queue.waiting)
        return queue

    @cached_property
    def records(self) -> Records:
        settings = self.knowledge.settings
        return Records(self.knowledge.manifest.engine, retention_days=settings.records.retention_days)

    @cached_property
    def inflight(self) -> InFlight:
        """This process's claims on the questions it answers, renewed while it lives (`supportbot run`)."""
        seconds = self.knowledge.settings.bot.recover_after_seconds
        return InFlight(self.knowledge.manifest.engine, lease=timedelta(seconds=seconds))
