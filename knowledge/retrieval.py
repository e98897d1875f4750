"""Retrieval: a query embedded once, the nearest live chunks over the allowed collections (fused with a BM25
ranking when hybrid), with links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import quote

from knowledge.config import CollectionConfig
from knowledge.documents import Hit
from knowledge.lexical import LexicalIndex
from knowledge.manifest import Manifest
from knowledge.roles import ChunkStore, Embedder


def source_url(collection: CollectionConfig, path: str) -> str | None:
    """The link for citations: the collection's url_template with the path filled in, else None."""
    if collection.url_template is None:
        return None
    return collection.url_template.replace("{path}", quote(path, safe="/"))


def fuse(rankings: Sequence[Sequence[str]], *, k: int = 60) -> list[str]:
    """Reciprocal rank fusion: each ranking gives an item 1/(k + rank); ties keep the first ranking's order.
    Ranks, not scores, so a cosine and a BM25 score never have to be put on one scale."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused, key=lambda item: -fused[item])


class Retriever:
    def __init__(self, *, store: ChunkStore, embedder: Embedder, manifest: Manifest,
                 collections: Sequence[CollectionConfig], lexical: LexicalIndex | None = None,
                 candidates: int = 50) -> None:  # fmt: skip
        self._lexical = lexical
        self._candidates = candidates
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
        if self._lexical is None:
            hits = self._store.query(collections, embedding, k=k + 8)
        else:
            hits = self._hybrid(query, embedding, collections=collections, k=k + 8)
        live = self._live(hits)
        return [replace(h, url=source_url(self._collections[h.collection], h.path)) for h in live][:k]

    def warm(self) -> None:
        """Build now what the first question would otherwise wait for: the BM25 index of every collection."""
        if self._lexical is not None:
            self._lexical.warm(list(self._collections))

    def _hybrid(self, query: str, embedding: Sequence[float], *, collections: Sequence[str], k: int) -> list[Hit]:
        """Both rankings' best candidates fused by rank; each hit keeps its cosine score, so the order may
        differ from the scores' order."""
        assert self._lexical is not None
        dense = self._store.query(collections, embedding, k=max(k, self._candidates))
        matches = self._lexical.search(query, collections=collections, k=max(k, self._candidates))
        order = fuse([[h.chunk_id for h in dense], [m.chunk_id for m in matches]])[:k]
        by_id = {h.chunk_id: h for h in dense}
        by_id.update(self._lexical.hits([m for m in matches if m.chunk_id in order and m.chunk_id not in by_id],
                                        embedding))  # fmt: skip
        return [by_id[chunk_id] for chunk_id in order if chunk_id in by_id]

    def _live(self, hits: list[Hit]) -> list[Hit]:
        stale: set[str] = set()
        for name in {h.collection for h in hits}:
            stale |= self._manifest.stale(name, [h.chunk_id for h in hits if h.collection == name])
        return [h for h in hits if h.chunk_id not in stale]
