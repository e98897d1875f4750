"""The sync lock: one sync of a collection at a time, across every process that shares the database."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, ColumnElement, DateTime, Engine, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from knowledge.database import METADATA

log = logging.getLogger(__name__)

locks_table = Table(
    "sync_locks",
    METADATA,
    Column("collection", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("token", String(32), nullable=False),  # this taking of the lock, so only its taker releases it
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("renewed_at", DateTime(timezone=True), nullable=False),
)

# A sync renews its lock as it goes; one silent this long has died (killed, machine gone) and is taken over.
STALE_AFTER = timedelta(hours=1)
RENEW_EVERY = timedelta(minutes=1)


class SyncAlreadyRunning(Exception):
    """Another caller holds the lock. Its message is the one sentence every caller shows."""

    def __init__(self, collection: str, *, holder: str, taken_at: datetime) -> None:
        when = _aware(taken_at).strftime("%Y-%m-%d %H:%M UTC")
        super().__init__(
            f"A sync of {collection} is already running (started by {holder} at {when}); "
            "try again when it has finished."
        )
        self.collection, self.holder, self.taken_at = collection, holder, taken_at


def process_holder(role: str) -> str:
    """Who this process is, for the lock's `holder`: e.g. "build-01:4242 (cli)"."""
    return f"{socket.gethostname()}:{os.getpid()} ({role})"


class HeldLock:
    """One taking of a collection's lock; `renew` tells other processes the sync is still alive."""

    def __init__(self, engine: Engine, *, collection: str, holder: str, token: str) -> None:
        self._engine = engine
        self.collection, self.holder, self.token = collection, holder, token
        self._renewed = _now()

    def renew(self) -> None:
        """Cheap to call per file: writes at most once every RENEW_EVERY."""
        now = _now()
        if now - self._renewed < RENEW_EVERY:
            return
        self._renewed = now
        with self._engine.begin() as db:
            kept = db.execute(
                update(locks_table).where(*self._mine()).values(renewed_at=now)
            ).rowcount  # fmt: skip
        if not kept:
            log.warning("The sync lock of %s was taken over by another process; this sync carries on.", self.collection)

    def release(self) -> None:
        with self._engine.begin() as db:
            db.execute(delete(locks_table).where(*self._mine()))

    def _mine(self) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        return (locks_table.c.collection == self.collection, locks_table.c.token == self.token)


class SyncLocks:
    """Takes a collection's lock with an atomic insert, or an atomic takeover of a stale one."""

    def __init__(self, engine: Engine, *, stale_after: timedelta = STALE_AFTER) -> None:
        self._engine = engine
        self._stale_after = stale_after

    @contextmanager
    def hold(self, collection: str, *, holder: str) -> Iterator[HeldLock]:
        lock = self.take(collection, holder=holder)
        try:
            yield lock
        finally:
            lock.release()

    def take(self, collection: str, *, holder: str) -> HeldLock:
        """The lock, or SyncAlreadyRunning naming who holds it."""
        lock = HeldLock(self._engine, collection=collection, holder=holder, token=uuid.uuid4().hex)
        values = {"collection": collection, "holder": holder, "token": lock.token}
        for _ in range(3):  # the holder may release between our insert and our look at its row
            now = _now()
            try:
                with self._engine.begin() as db:
                    db.execute(insert(locks_table).values(**values, taken_at=now, renewed_at=now))
                return lock
            except IntegrityError:
                pass
            if self._take_over_stale(values, now=now):
                return lock
        raise RuntimeError(f"the sync lock of {collection} changed hands three times while being taken")

    def _take_over_stale(self, values: dict[str, str], *, now: datetime) -> bool:
        """True when a stale lock became ours; SyncAlreadyRunning when the lock is alive; False when it is gone."""
        key = locks_table.c.collection == values["collection"]
        with self._engine.begin() as db:
            row = db.execute(select(locks_table).where(key)).first()
            if row is None:
                return False
            if _aware(row.renewed_at) > now - self._stale_after:
                raise SyncAlreadyRunning(values["collection"], holder=row.holder, taken_at=row.taken_at)
            # Atomic: of two processes taking over the same stale lock, the second's WHERE no longer matches.
            taken = db.execute(
                update(locks_table).where(key, locks_table.c.renewed_at < now - self._stale_after)
                .values(**values, taken_at=now, renewed_at=now)
            ).rowcount  # fmt: skip
        if taken:
            log.warning(
                "Took over the sync lock of %s from %s (taken at %s, silent since %s: that sync must have died).",
                values["collection"], row.holder, _aware(row.taken_at), _aware(row.renewed_at),
            )  # fmt: skip
        return bool(taken)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
