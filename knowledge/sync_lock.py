"""The sync lock: one sync of a collection at a time, across every process that shares the database.

What holds it is something that dies with its holder: on PostgreSQL a session-level advisory lock on a
connection of the sync's own, which the server drops when that connection goes; on SQLite an OS lock on a file
beside the database, which the kernel drops when the process goes. A sync killed at any moment (SIGKILL, OOM,
a lost machine) therefore never blocks the next one. The table row only tells the refused who holds the lock and
since when. Where neither exists (no `fcntl`), the row alone is the lock, renewed as the sync goes and taken over
after STALE_AFTER of silence.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, ColumnElement, DateTime, Engine, String, Table, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from knowledge.database import METADATA, utc

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

# Without a lock that dies with its holder: a sync renews its row as it goes; one silent this long has died.
STALE_AFTER = timedelta(hours=1)
RENEW_EVERY = timedelta(minutes=1)


class SyncAlreadyRunning(Exception):
    """Another caller holds the lock. Its message is the one sentence every caller shows."""

    def __init__(self, collection: str, *, holder: str, taken_at: datetime) -> None:
        when = utc(taken_at).strftime("%Y-%m-%d %H:%M UTC")
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

    def __init__(self, engine: Engine, *, collection: str, holder: str, token: str,
                 alive: Callable[[], None] | None = None) -> None:  # fmt: skip
        self._engine = engine
        self.collection, self.holder, self.token = collection, holder, token
        self._renewed = _now()
        self._alive = alive  # releases what dies with the holder (the advisory or file lock); None: the row only

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
        try:
            with self._engine.begin() as db:
                db.execute(delete(locks_table).where(*self._mine()))
        finally:
            alive, self._alive = self._alive, None  # released once, however often release is called
            if alive is not None:
                alive()

    def _mine(self) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        return (locks_table.c.collection == self.collection, locks_table.c.token == self.token)


class SyncLocks:
    """Takes a collection's lock with an atomic insert, or an atomic takeover of a stale one."""

    def __init__(self, engine: Engine, *, stale_after: timedelta = STALE_AFTER, live: bool = True) -> None:
        """`live=False` keeps to the leased row even where a lock that dies with its holder exists."""
        self._engine = engine
        self._stale_after = stale_after
        self._live = live

    @contextmanager
    def hold(self, collection: str, *, holder: str) -> Iterator[HeldLock]:
        lock = self.take(collection, holder=holder)
        try:
            yield lock
        finally:
            lock.release()

    def take(self, collection: str, *, holder: str) -> HeldLock:
        """The lock, or SyncAlreadyRunning naming who holds it."""
        if not self._live:
            return self._take_leased(collection, holder=holder)
        try:
            alive = _hold_while_alive(self._engine, collection)
        except _NoLiveLock:
            return self._take_leased(collection, holder=holder)
        if alive is None:  # a live process holds it: say who, from its row
            with self._engine.begin() as db:
                row = db.execute(select(locks_table).where(locks_table.c.collection == collection)).first()
            raise SyncAlreadyRunning(collection, holder=row.holder if row else "another process",
                                     taken_at=row.taken_at if row else _now())  # fmt: skip
        lock = HeldLock(self._engine, collection=collection, holder=holder, token=uuid.uuid4().hex, alive=alive)
        try:
            now = _now()
            with self._engine.begin() as db:  # no live holder: a row left behind is a dead sync's
                key = locks_table.c.collection == collection
                if (row := db.execute(select(locks_table).where(key)).first()) is not None:
                    log.warning("Took over the sync lock of %s from %s (taken at %s): that sync died.",
                                collection, row.holder, utc(row.taken_at))  # fmt: skip
                    db.execute(delete(locks_table).where(key))
                db.execute(insert(locks_table).values(collection=collection, holder=holder, token=lock.token,
                                                      taken_at=now, renewed_at=now))  # fmt: skip
        except BaseException:
            alive()
            raise
        return lock

    def _take_leased(self, collection: str, *, holder: str) -> HeldLock:
        """The row alone as the lock: an atomic insert, or an atomic takeover of a row silent for STALE_AFTER."""
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
            if utc(row.renewed_at) > now - self._stale_after:
                raise SyncAlreadyRunning(values["collection"], holder=row.holder, taken_at=row.taken_at)
            # Atomic: of two processes taking over the same stale lock, the second's WHERE no longer matches.
            taken = db.execute(
                update(locks_table).where(key, locks_table.c.renewed_at < now - self._stale_after)
                .values(**values, taken_at=now, renewed_at=now)
            ).rowcount  # fmt: skip
        if taken:
            log.warning(
                "Took over the sync lock of %s from %s (taken at %s, silent since %s: that sync must have died).",
                values["collection"], row.holder, utc(row.taken_at), utc(row.renewed_at),
            )  # fmt: skip
        return bool(taken)


class _NoLiveLock(Exception):
    """This platform offers nothing that dies with its holder (no fcntl): the leased row must do."""


_IN_MEMORY: dict[tuple[str, str], threading.Lock] = {}  # an in-memory SQLite database lives in one process
_IN_MEMORY_GUARD = threading.Lock()


def _hold_while_alive(engine: Engine, collection: str) -> Callable[[], None] | None:
    """Takes what is released when this process (or its connection) dies; returns how to release it sooner, or
    None when another live process or thread holds it."""
    if engine.dialect.name == "postgresql":
        return _advisory_lock(engine, collection)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        with _IN_MEMORY_GUARD:
            local = _IN_MEMORY.setdefault((str(engine.url), collection), threading.Lock())
        return local.release if local.acquire(blocking=False) else None
    return _file_lock(Path(database), collection)


def _advisory_lock(engine: Engine, collection: str) -> Callable[[], None] | None:
    key = int.from_bytes(hashlib.sha256(f"supportbot sync {collection}".encode()).digest()[:8], "big", signed=True)
    connection = engine.connect()  # the sync's own session: the server drops the lock when it ends
    try:
        taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        connection.commit()  # a session lock outlives the transaction; the session must not idle in one
    except BaseException:
        connection.close()
        raise
    if not taken:
        connection.close()
        return None

    def release() -> None:
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
            connection.close()
        except Exception:  # the session is broken: discarding it ends it, and the server drops the lock
            connection.invalidate()

    return release


def _file_lock(database: Path, collection: str) -> Callable[[], None] | None:
    try:
        import fcntl
    except ImportError:
        raise _NoLiveLock from None
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", collection)
    path = database.with_name(f"{database.name}.sync-{safe}.lock")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    except BaseException:
        os.close(descriptor)
        raise

    def release() -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)

    return release


def _now() -> datetime:
    return datetime.now(UTC)
