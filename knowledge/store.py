"""The Chroma knowledge store: one Chroma collection per knowledge collection, embedded or on a server."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings

from knowledge.documents import Hit, StoredChunk
from knowledge.titles import titles_collection

_PREFIX = "supportbot-"


class StoreError(Exception):
    """The store is unreachable or was built for another embedding model; the message says what to do."""


class _RefuseToEmbed(chromadb.EmbeddingFunction[chromadb.Documents]):
    """Our own embedding function: we always pass vectors, and Chroma's default one would download a model."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: chromadb.Documents) -> chromadb.Embeddings:
        raise RuntimeError("supportbot computes embeddings itself; Chroma must never embed")

    @staticmethod
    def name() -> str:
        return "supportbot"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> _RefuseToEmbed:
        return _RefuseToEmbed()


class ChromaStore:
    """Chunks with their metadata, scoped by collection (a `where` filter over one big one is far slower)."""

    def __init__(self, client: Any, *, model_name: str, dimensions: int, location: str) -> None:
        self._client = client
        self._model_name = model_name
        self._dimensions = dimensions
        self.location = location
        self._collections: dict[str, Any] = {}

    @classmethod
    def embedded(cls, path: Path, *, model_name: str, dimensions: int) -> ChromaStore:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
        return cls(client, model_name=model_name, dimensions=dimensions, location=str(path))

    @classmethod
    def server(cls, url: str, *, model_name: str, dimensions: int) -> ChromaStore:
        parts = urlparse(url)
        try:
            client = chromadb.HttpClient(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=Settings(anonymized_telemetry=False),
            )
        except Exception as error:
            raise StoreError(f"The Chroma server at {url} cannot be reached ({error}). Is `chroma run` up?") from None
        return cls(client, model_name=model_name, dimensions=dimensions, location=url)

    def upsert(self, collection: str, chunks: Sequence[StoredChunk], embeddings: Sequence[Sequence[float]]) -> None:
        if not chunks:
            return
        self._collection(collection).upsert(
            ids=[c.id for c in chunks],
            embeddings=[list(e) for e in embeddings],
            documents=[c.chunk.text for c in chunks],
            metadatas=[_metadata(c) for c in chunks],
        )

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        if ids:
            self._collection(collection).delete(ids=list(ids))

    def query(self, collections: Sequence[str], embedding: Sequence[float], *, k: int) -> list[Hit]:
        """The k nearest chunks over the given collections, best first."""
        hits: list[Hit] = []
        for name in collections:
            found = self._collection(name).query(
                query_embeddings=[list(embedding)], n_results=k, include=["documents", "metadatas", "distances"]
            )
            rows = zip(
                found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0], strict=True
            )
            hits.extend(_hit(name, chunk_id, str(text), meta, float(d)) for chunk_id, text, meta, d in rows)
        return sorted(hits, key=lambda hit: hit.score, reverse=True)[:k]

    def count(self, collection: str) -> int:
        return int(self._collection(collection).count())

    def stored_model(self, collection: str) -> tuple[str, int] | None:
        """(model, dimensions) a collection was built with, or None if it holds nothing yet."""
        try:
            existing = self._client.get_collection(_PREFIX + collection, embedding_function=_RefuseToEmbed())
        except Exception:
            return None
        meta = existing.metadata or {}
        return str(meta.get("embedding_model", "")), int(meta.get("dimensions", 0))

    def drop(self, collection: str) -> None:
        """Forget a collection entirely, its document titles too (used to rebuild it for another model)."""
        for name in (collection, titles_collection(collection)):
            self._collections.pop(name, None)
            try:
                self._client.delete_collection(_PREFIX + name)
            except Exception:
                continue

    def _collection(self, name: str) -> Any:
        if name not in self._collections:
            stored = self.stored_model(name)
            if stored is not None and stored != (self._model_name, self._dimensions):
                raise StoreError(
                    f"Collection {name!r} was built with {stored[0]} ({stored[1]} dimensions) but embedding.model "
                    f"is now {self._model_name} ({self._dimensions}); run `supportbot sync --rebuild {name}`."
                )
            try:
                self._collections[name] = self._client.get_or_create_collection(
                    _PREFIX + name,
                    embedding_function=_RefuseToEmbed(),
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embedding_model": self._model_name, "dimensions": self._dimensions},
                )
            except Exception as error:
                raise StoreError(f"The Chroma store at {self.location} failed: {error}") from error
        return self._collections[name]


def _metadata(stored: StoredChunk) -> dict[str, Any]:
    chunk = stored.chunk
    return {
        "path": stored.path,
        "title": chunk.title,
        "heading": chunk.heading,
        "heading_path": json.dumps(list(chunk.heading_path), ensure_ascii=False),
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
    }


def _hit(collection: str, chunk_id: str, text: str, meta: Any, distance: float) -> Hit:
    return Hit(
        score=round(1.0 - distance, 6),
        chunk_id=chunk_id,
        collection=collection,
        path=str(meta.get("path", "")),
        title=str(meta.get("title", "")),
        heading=str(meta.get("heading", "")),
        text=text,
        position=int(meta.get("position", 0)),
    )
