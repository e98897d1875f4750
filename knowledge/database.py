"""The one SQL database for what the bot writes outside Chroma: SQLite under the data directory, or PostgreSQL."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, RootTransaction, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from knowledge import schema

log = logging.getLogger(__name__)

# Every table of the project registers here; knowledge/migrations is its history (a test keeps the two agreed).
METADATA = MetaData()
# Held while a process checks or migrates the schema, so bot processes starting together migrate once.
_PG_SCHEMA_LOCK = 0x5B_0075
SCHEMA_WAIT = 60.0  # seconds a process starting waits for others checking or migrating the schema


class DatabaseError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


@dataclass(frozen=True)
class Upgrade:
    before: str
    after: str


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'supportbot.db').resolve()}"


def engine_url(url: str) -> str:
    """A plain `postgresql://` (or `postgres://`) URL means psycopg 3; other URLs pass through."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def masked(url: str) -> str:
    """The URL as logs and messages may show it: the password, if any, as ***."""
    try:
        return make_url(engine_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "(a database URL that cannot be parsed)"


def open_database(url: str, *, auto_upgrade: bool = False) -> Engine:
    """An engine whose schema is this code's. A brand-new database is created at the newest revision and one
    made before migrations is adopted as the first; an older one is upgraded only with `auto_upgrade`, a
    newer one is refused."""
    with _schema_transaction(url) as db:
        found = _adopt_legacy(db, url)
        if found.blank:
            schema.migrate(db)
            log.info("Created the database schema at revision %s in %s", found.head, masked(url))
        elif found.current != found.head:
            if not auto_upgrade:
                raise DatabaseError(
                    f"The database at {masked(url)} has schema revision {found.current} and this supportbot needs "
                    f"{found.head}; back it up and run `supportbot db upgrade`, or set database.auto_upgrade: true."
                )
            schema.migrate(db)
            log.warning("Upgraded the database schema in %s from %s to %s", masked(url), found.current, found.head)
    return _engine(url)


def upgrade_database(url: str) -> Upgrade:
    """`supportbot db upgrade`: the schema brought to this code's newest revision; says from where."""
    with _schema_transaction(url) as db:
        found = schema.state(db)
        before = "empty" if found.blank else found.current or "made before migrations"
        _adopt_legacy(db, url)
        schema.migrate(db)
        return Upgrade(before=before, after=found.head)


def _adopt_legacy(db: Connection, url: str) -> schema.SchemaState:
    """The schema's state, refusing a newer one, with a pre-migrations database recorded as the first revision."""
    found = schema.state(db)
    if not found.known:
        raise DatabaseError(
            f"The database at {masked(url)} has schema revision {found.current}, newer than this supportbot knows "
            f"(its newest is {found.head}); upgrade supportbot, or point database.url at another database."
        )
    if found.legacy:
        schema.migrate(db, schema.FIRST_REVISION)  # creates only the tables older versions did not have yet
        log.info("Adopted %s, made before migrations, as revision %s", masked(url), schema.FIRST_REVISION)
        found = schema.state(db)
    return found


def _engine(url: str, *, schema_only: bool = False) -> Engine:
    try:
        engine = create_engine(engine_url(url), pool_pre_ping=True, poolclass=NullPool if schema_only else None)
    except (ArgumentError, ImportError) as error:
        raise DatabaseError(f"database.url {masked(url)} cannot be used ({_scrubbed(error, url)}).") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if schema_only:  # BEGIN IMMEDIATE: the check and the migration hold SQLite's write lock throughout
            event.listen(engine, "connect", lambda connection, _record: setattr(connection, "isolation_level", None))
            event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


@contextmanager
def _schema_transaction(url: str) -> Iterator[Connection]:
    """One transaction for checking and migrating, which processes starting together take in turn (so they
    migrate once); an unreachable server becomes one sentence."""
    engine = _engine(url, schema_only=True)
    try:
        db, transaction = _begin_in_turn(engine)
        with db, transaction:
            if engine.dialect.name == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SCHEMA_LOCK})
            yield db
    except OperationalError as error:
        raise DatabaseError(
            f"Cannot use the database at {masked(url)}: {_scrubbed(error.orig or error, url)}. "
            "Check database.url (the password may also come from $PGPASSWORD) and that the server is running."
        ) from None
    finally:
        engine.dispose()


def _begin_in_turn(engine: Engine) -> tuple[Connection, RootTransaction]:
    """A connection in its schema transaction. SQLite can answer "database is locked" at once, without its busy
    timeout, to processes opening a new file together (switching it to WAL takes the file to itself): those wait
    their turn, up to SCHEMA_WAIT seconds, as they do for the write lock."""
    deadline = time.monotonic() + SCHEMA_WAIT
    while True:
        db = None
        try:
            db = engine.connect()  # its first statements switch a new file to WAL
            return db, db.begin()  # BEGIN IMMEDIATE on SQLite
        except OperationalError as error:
            if db is not None:
                db.close()
            if engine.dialect.name != "sqlite" or "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _scrubbed(error: BaseException, url: str) -> str:
    """The driver's first line, with any password it might echo taken out."""
    lines = str(error).strip().splitlines()
    reason = lines[0] if lines else type(error).__name__
    try:
        secrets = [make_url(engine_url(url)).password, os.environ.get("PGPASSWORD")]
    except ArgumentError:
        secrets = [os.environ.get("PGPASSWORD")]
    for secret in secrets:
        if secret:
            reason = reason.replace(str(secret), "***")
    return reason


def _sqlite_pragmas(connection: object, _record: object) -> None:
    """WAL so readers never wait for a sync's writes; a busy timeout so writers queue instead of failing."""
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA busy_timeout=10000")  # first: the switch to WAL may have to wait for another process
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def utc(value: datetime) -> datetime:
    """A datetime read back from the database, as an aware UTC one: SQLite hands back naive datetimes (they were
    written in UTC), PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
