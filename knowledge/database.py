"""The one SQL database for what the bot writes outside Chroma: SQLite under the data directory by default."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event

# Every table of the project registers here, so one `create_all` (later: one migration history) covers all.
METADATA = MetaData()


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'supportbot.db').resolve()}"


def open_database(url: str) -> Engine:
    """An engine with the schema in place. SQLite gets WAL so readers never wait for a sync's writes."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    METADATA.create_all(engine)
    return engine


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
