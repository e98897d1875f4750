"""The one place that builds concrete objects from the settings; everything else receives them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from bot.config import Settings
from knowledge.database import open_database, sqlite_url
from knowledge.embedder import SentenceTransformerEmbedder
from knowledge.manifest import Manifest
from knowledge.retrieval import Retriever
from knowledge.roles import Embedder
from knowledge.store import ChromaStore
from knowledge.sync import Syncer


@dataclass
class Knowledge:
    """The knowledge half, built lazily: `kb status` needs no embedding model, `search` does."""

    settings: Settings
    progress: Callable[[str], None] | None = None
    prebuilt_embedder: Embedder | None = None  # the tests share one loaded model across many stores

    @cached_property
    def manifest(self) -> Manifest:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return Manifest(open_database(sqlite_url(self.settings.data_dir)))

    @cached_property
    def embedder(self) -> Embedder:
        if self.prebuilt_embedder is not None:
            return self.prebuilt_embedder
        config = self.settings.embedding
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
            store=self.store,
            embedder=self.embedder,
            manifest=self.manifest,
            chunking=self.settings.chunking,
            max_file_bytes=int(self.settings.sync.max_file_mb * 1_000_000),
        )

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(
            store=self.store, embedder=self.embedder, manifest=self.manifest, collections=self.settings.collections
        )
