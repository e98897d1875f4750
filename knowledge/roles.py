"""The roles the knowledge half works with, as small Protocols: an Embedder and a ChunkStore."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from knowledge.documents import Hit, StoredChunk


class Embedder(Protocol):
    """Turns passages and queries into vectors; counts tokens the way its model does."""

    name: str
    dimensions: int
    max_tokens: int

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]: ...

    def count_tokens(self, text: str) -> int: ...


class ChunkStore(Protocol):
    """Keeps embedded chunks per knowledge collection and finds the nearest ones to a query vector."""

    def upsert(self, collection: str, chunks: Sequence[StoredChunk], embeddings: Sequence[Sequence[float]]) -> None: ...

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    def query(self, collections: Sequence[str], embedding: Sequence[float], *, k: int) -> list[Hit]: ...

    def count(self, collection: str) -> int: ...
