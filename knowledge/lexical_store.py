"""The lexical copy of the store: each chunk's words and vector in SQL, written beside Chroma during sync."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from knowledge.database import METADATA
from knowledge.documents import Hit, StoredChunk
from knowledge.manifest import collections_table
from knowledge.roles import ChunkStore

lexical_chunks = Table(
    "lexical_chunks", METADATA,
    Column("collection", String(64), primary_key=True),
    Column("chunk_id", String(200), primary_key=True),
    Column("path", String(1024), nullable=False),
    Column("title", Text, nullable=False),
    Column("heading", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("embedding", LargeBinary, nullable=False),  # float32: scores a chunk only the lexical ranking found
)  # fmt: skip
lexical_versions = Table(
    "lexical_versions", METADATA,
    Column("collection", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)  # fmt: skip


@dataclass(frozen=True)
class LexicalState:
    """Where a collection's words stand: a version bumped on every write, and when its last sync finished."""

    version: int
    synced_at: datetime | None


@dataclass(frozen=True)
class LexicalRow:
    """What the lexical ranking reads of a chunk: its id and the words it is found by."""

    chunk_id: str
    words: str  # title, heading and text, as the embedding saw them


class LexicalStore:
    """Chunks' words per collection, with a version that changes whenever they do (so indexes know to rebuild)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, collection: str, chunks: Sequence[StoredChunk], embeddings: Sequence[Sequence[float]]) -> None:
        ids = [c.id for c in chunks]
        rows = [_row(collection, c, e) for c, e in zip(chunks, embeddings, strict=True)]
        with self._engine.begin() as db:
            self._delete(db, collection, ids)  # an upsert: the same id may come again (a rebuild)
            if rows:
                db.execute(insert(lexical_chunks), rows)
            self._bump(db, collection)

    def remove(self, collection: str, ids: Sequence[str]) -> None:
        with self._engine.begin() as db:
            self._delete(db, collection, ids)
            self._bump(db, collection)

    def state(self, collection: str) -> LexicalState:
        version = select(lexical_versions.c.version).where(lexical_versions.c.collection == collection)
        synced = select(collections_table.c.synced_at).where(collections_table.c.collection == collection)
        with self._engine.connect() as db:
            return LexicalState(int(db.execute(version).scalar() or 0), db.execute(synced).scalar())

    def rows(self, collection: str) -> list[LexicalRow]:
        c = lexical_chunks.c
        query = select(c.chunk_id, c.title, c.heading, c.text).where(c.collection == collection).order_by(c.chunk_id)
        with self._engine.connect() as db:
            return [LexicalRow(r.chunk_id, f"{r.title}\n{r.heading}\n{r.text}") for r in db.execute(query)]

    def hits(self, collection: str, ids: Sequence[str], query_embedding: Sequence[float]) -> dict[str, Hit]:
        """These chunks as hits, scored by cosine like the dense ones, so the relevance threshold still means
        one thing whichever ranking found them."""
        c = lexical_chunks.c
        query = select(lexical_chunks).where(c.collection == collection, c.chunk_id.in_(list(ids)))
        vector = np.asarray(query_embedding, dtype=np.float32)
        with self._engine.connect() as db:
            found = list(db.execute(query))
        return {r.chunk_id: Hit(score=_cosine(vector, r.embedding), chunk_id=r.chunk_id, collection=collection,
                                path=r.path, title=r.title, heading=r.heading, text=r.text, position=r.position)
                for r in found}  # fmt: skip

    def vectors(self, collection: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """These chunks' stored embeddings (a chunk not found is left out)."""
        c = lexical_chunks.c
        query = select(c.chunk_id, c.embedding).where(c.collection == collection, c.chunk_id.in_(list(ids)))
        with self._engine.connect() as db:
            return {r.chunk_id: np.frombuffer(r.embedding, dtype=np.float32) for r in db.execute(query)}

    def page(self, collection: str, path: str) -> list[Hit]:
        """Every chunk of one document, in reading order (score 0: nothing was asked)."""
        c = lexical_chunks.c
        query = (select(c.chunk_id, c.title, c.heading, c.text, c.position)
                 .where(c.collection == collection, c.path == path).order_by(c.position))  # fmt: skip
        with self._engine.connect() as db:
            return [Hit(score=0.0, chunk_id=r.chunk_id, collection=collection, path=path, title=r.title,
                        heading=r.heading, text=r.text, position=r.position) for r in db.execute(query)]  # fmt: skip

    def passages(self, collection: str) -> list[Hit]:
        """Every chunk of a collection, page by page in reading order (score 0: nothing was asked)."""
        c = lexical_chunks.c
        query = (select(c.chunk_id, c.path, c.title, c.heading, c.text, c.position)
                 .where(c.collection == collection).order_by(c.path, c.position))  # fmt: skip
        with self._engine.connect() as db:
            return [Hit(score=0.0, chunk_id=r.chunk_id, collection=collection, path=r.path, title=r.title,
                        heading=r.heading, text=r.text, position=r.position) for r in db.execute(query)]  # fmt: skip

    @staticmethod
    def _delete(db: Connection, collection: str, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), 500):
            db.execute(delete(lexical_chunks).where(
                lexical_chunks.c.collection == collection, lexical_chunks.c.chunk_id.in_(list(ids[start:start + 500]))
            ))  # fmt: skip

    @staticmethod
    def _bump(db: Connection, collection: str) -> None:
        key = lexical_versions.c.collection == collection
        if db.execute(select(lexical_versions).where(key)).first():
            db.execute(update(lexical_versions).where(key).values(version=lexical_versions.c.version + 1))
        else:
            db.execute(insert(lexical_versions).values(collection=collection, version=1))


class MirroredStore:
    """A ChunkStore that also keeps the lexical copy: Chroma first, so the copy never holds more than Chroma."""

    def __init__(self, store: ChunkStore, lexical: LexicalStore) -> None:
        self._store = store
        self._lexical = lexical

    def upsert(self, collection: str, chunks: Sequence[StoredChunk], embeddings: Sequence[Sequence[float]]) -> None:
        self._store.upsert(collection, chunks, embeddings)
        self._lexical.add(collection, chunks, embeddings)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self._store.delete(collection, ids)
        self._lexical.remove(collection, ids)

    def query(self, collections: Sequence[str], embedding: Sequence[float], *, k: int) -> list[Hit]:
        return self._store.query(collections, embedding, k=k)

    def count(self, collection: str) -> int:
        return self._store.count(collection)


def _row(collection: str, stored: StoredChunk, embedding: Iterable[float]) -> dict[str, object]:
    chunk = stored.chunk
    return {"collection": collection, "chunk_id": stored.id, "path": stored.path, "title": chunk.title,
            "heading": chunk.heading, "text": chunk.text, "position": chunk.position,
            "embedding": np.asarray(list(embedding), dtype=np.float32).tobytes()}  # fmt: skip


def _cosine(query: np.ndarray, stored: bytes) -> float:
    vector = np.frombuffer(stored, dtype=np.float32)
    norms = float(np.linalg.norm(query) * np.linalg.norm(vector)) or 1.0
    return round(float(query @ vector) / norms, 6)
