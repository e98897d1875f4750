"""The sync manifest: per file its hash, chunk ids, last sync and last error; plus chunks awaiting deletion.

A file's chunks change in three steps so a crash never leaves it half-indexed: new chunk ids are first
staged as garbage, then written to Chroma, then one transaction makes them live and stages the old ones as
garbage. Whatever is in the garbage table is never answered from and is deleted by the next sync.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Engine,
    Integer,
    Select,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from knowledge.database import METADATA

files_table = Table(
    "sync_files", METADATA,
    Column("collection", String(64), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("content_hash", String(64), nullable=True),
    Column("chunk_ids", Text, nullable=False, default="[]"),
    Column("chunks", Integer, nullable=False, default=0),
    Column("synced_at", DateTime(timezone=True), nullable=True),
    Column("error", Text, nullable=True),
    Column("error_at", DateTime(timezone=True), nullable=True),
)  # fmt: skip
garbage_table = Table(
    "sync_garbage", METADATA,
    Column("collection", String(64), primary_key=True),
    Column("chunk_id", String(200), primary_key=True),
)  # fmt: skip
collections_table = Table(
    "sync_collections", METADATA,
    Column("collection", String(64), primary_key=True),
    Column("synced_at", DateTime(timezone=True), nullable=True),
)  # fmt: skip


@dataclass(frozen=True)
class FileRecord:
    path: str
    content_hash: str | None
    chunk_ids: tuple[str, ...]
    synced_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class CollectionStatus:
    files: int
    chunks: int
    last_sync: datetime | None
    failures: tuple[tuple[str, str], ...]


def _now() -> datetime:
    return datetime.now(UTC)


class Manifest:
    """What has been indexed, per collection and file; the commit point of every change to the store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # public: the bot's other tables live in the same database

    def files(self, collection: str) -> dict[str, FileRecord]:
        query = select(files_table).where(files_table.c.collection == collection)
        with self.engine.connect() as db:
            return {row.path: _record(row) for row in db.execute(query)}

    def stage(self, collection: str, ids: Sequence[str]) -> None:
        """Mark chunk ids as garbage before they are written, so a crash mid-write leaves nothing live."""
        with self.engine.begin() as db:
            self._add_garbage(db, collection, ids)

    def commit_file(self, collection: str, path: str, *, content_hash: str, chunk_ids: Sequence[str]) -> None:
        """Make a file's new chunks live and its previous ones garbage, in one transaction."""
        with self.engine.begin() as db:
            old = db.execute(self._row(collection, path)).first()
            previous = json.loads(old.chunk_ids) if old else []
            values = {"content_hash": content_hash, "chunk_ids": json.dumps(list(chunk_ids)),
                      "chunks": len(chunk_ids), "synced_at": _now(), "error": None, "error_at": None}  # fmt: skip
            if old:
                db.execute(update(files_table).where(*self._key(collection, path)).values(**values))
            else:
                db.execute(insert(files_table).values(collection=collection, path=path, **values))
            db.execute(delete(garbage_table).where(
                garbage_table.c.collection == collection, garbage_table.c.chunk_id.in_(list(chunk_ids))
            ))  # fmt: skip
            self._add_garbage(db, collection, [i for i in previous if i not in set(chunk_ids)])

    def record_failure(self, collection: str, path: str, reason: str) -> None:
        """Remember why a file failed; a version indexed earlier stays live (bad input loses nothing)."""
        with self.engine.begin() as db:
            if db.execute(self._row(collection, path)).first():
                db.execute(
                    update(files_table).where(*self._key(collection, path)).values(error=reason, error_at=_now())
                )
            else:
                db.execute(insert(files_table).values(collection=collection, path=path, chunk_ids="[]", chunks=0,
                                                      error=reason, error_at=_now()))  # fmt: skip

    def forget_file(self, collection: str, path: str) -> None:
        """A removed file stops being answerable at once; its chunks become garbage."""
        with self.engine.begin() as db:
            old = db.execute(self._row(collection, path)).first()
            if old:
                db.execute(delete(files_table).where(*self._key(collection, path)))
                self._add_garbage(db, collection, json.loads(old.chunk_ids))

    def garbage(self, collection: str) -> list[str]:
        query = select(garbage_table.c.chunk_id).where(garbage_table.c.collection == collection)
        with self.engine.connect() as db:
            return [row.chunk_id for row in db.execute(query)]

    def collected(self, collection: str, ids: Sequence[str]) -> None:
        with self.engine.begin() as db:
            for batch in _batches(ids, 500):
                db.execute(delete(garbage_table).where(
                    garbage_table.c.collection == collection, garbage_table.c.chunk_id.in_(batch)
                ))  # fmt: skip

    def stale(self, collection: str, ids: Sequence[str]) -> set[str]:
        """Which of these chunk ids are not live (staged, replaced or removed): never answer from them."""
        if not ids:
            return set()
        query = select(garbage_table.c.chunk_id).where(
            garbage_table.c.collection == collection, garbage_table.c.chunk_id.in_(list(ids))
        )
        with self.engine.connect() as db:
            return {row.chunk_id for row in db.execute(query)}

    def mark_synced(self, collection: str) -> None:
        with self.engine.begin() as db:
            key = collections_table.c.collection == collection
            if db.execute(select(collections_table).where(key)).first():
                db.execute(update(collections_table).where(key).values(synced_at=_now()))
            else:
                db.execute(insert(collections_table).values(collection=collection, synced_at=_now()))

    def status(self, collection: str) -> CollectionStatus:
        records = self.files(collection).values()
        with self.engine.connect() as db:
            row = db.execute(select(collections_table).where(collections_table.c.collection == collection)).first()
        return CollectionStatus(
            files=sum(1 for r in records if r.content_hash),
            chunks=sum(len(r.chunk_ids) for r in records),
            last_sync=_aware(row.synced_at) if row else None,
            failures=tuple(sorted((r.path, r.error) for r in records if r.error)),
        )

    def never_synced(self, collections: list[str]) -> list[str]:
        """The collections of these that have never completed a sync (a first sync killed midway included)."""
        with self.engine.connect() as db:
            done = set(db.execute(select(collections_table.c.collection).where(
                collections_table.c.collection.in_(collections), collections_table.c.synced_at.is_not(None))
            ).scalars())  # fmt: skip
        return [name for name in collections if name not in done]

    def forget_collection(self, collection: str) -> None:
        with self.engine.begin() as db:
            for table in (files_table, garbage_table, collections_table):
                db.execute(delete(table).where(table.c.collection == collection))

    def _row(self, collection: str, path: str) -> Select[Any]:
        return select(files_table).where(*self._key(collection, path))

    @staticmethod
    def _key(collection: str, path: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        return (files_table.c.collection == collection, files_table.c.path == path)

    @staticmethod
    def _add_garbage(db: object, collection: str, ids: Iterable[str]) -> None:
        rows = [{"collection": collection, "chunk_id": i} for i in dict.fromkeys(ids)]
        if rows:
            existing = {r.chunk_id for r in db.execute(  # type: ignore[attr-defined]
                select(garbage_table.c.chunk_id).where(garbage_table.c.collection == collection)
            )}  # fmt: skip
            rows = [r for r in rows if r["chunk_id"] not in existing]
        if rows:
            db.execute(insert(garbage_table), rows)  # type: ignore[attr-defined]


def _record(row: object) -> FileRecord:
    return FileRecord(
        path=row.path,  # type: ignore[attr-defined]
        content_hash=row.content_hash,  # type: ignore[attr-defined]
        chunk_ids=tuple(json.loads(row.chunk_ids)),  # type: ignore[attr-defined]
        synced_at=_aware(row.synced_at),  # type: ignore[attr-defined]
        error=row.error,  # type: ignore[attr-defined]
    )


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _batches(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
