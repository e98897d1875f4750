"""Retrieval: a query embedded once, the nearest live chunks over the allowed collections, with links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import quote

from knowledge.config import CollectionConfig
from knowledge.documents import Hit
from knowledge.manifest import Manifest
from knowledge.roles import ChunkStore, Embedder


def source_url(collection: CollectionConfig, path: str) -> str | None:
    """The link for citations: the collection's url_template with the path filled in, else None."""
    if collection.url_template is None:
        return None
    return collection.url_template.replace("{path}", quote(path, safe="/"))


class Retriever:
    def __init__(self, *, store: ChunkStore, embedder: Embedder, manifest: Manifest,
                 collections: Sequence[CollectionConfig]) -> None:  # fmt: skip
        self._store = store
        self._embedder = embedder
        self._manifest = manifest
        self._collections = {c.name: c for c in collections}

    def search(self, query: str, *, collections: Sequence[str], k: int = 5) -> list[Hit]:
        """The k best passages for `query` among `collections`, best first."""
        unknown = [name for name in collections if name not in self._collections]
        if unknown:
            raise ValueError(f"unknown collection(s): {', '.join(unknown)}")
        embedding = self._embedder.embed_query(query)
        # A few extra candidates, because chunks of a file being replaced right now are filtered out below.
        hits = self._store.query(collections, embedding, k=k + 8)
        live = self._live(hits)
        return [replace(h, url=source_url(self._collections[h.collection], h.path)) for h in live][:k]

    def _live(self, hits: list[Hit]) -> list[Hit]:
        stale: set[str] = set()
        for name in {h.collection for h in hits}:
            stale |= self._manifest.stale(name, [h.chunk_id for h in hits if h.collection == name])
        return [h for h in hits if h.chunk_id not in stale]
