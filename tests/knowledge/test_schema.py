"""Migrations, on SQLite and PostgreSQL: a new database starts at the newest revision and matches the tables in
code; an older one waits for `db upgrade`; a newer one is refused; one made before migrations is adopted."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, insert, inspect, select, text

from knowledge import schema
from knowledge.database import METADATA, DatabaseError, engine_url, masked, open_database, upgrade_database
from tests.conftest import REPO


def every_table() -> MetaData:
    """METADATA with every module that registers a table imported, found by reading the source."""
    for path in sorted(REPO.glob("*/**/*.py")):
        if path.parts[len(REPO.parts)] in ("bot", "knowledge", "adapters") and "METADATA," in path.read_text():
            importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
    return METADATA


def revision(url: str) -> str | None:
    engine = create_engine(engine_url(url))
    with engine.connect() as db:
        current = MigrationContext.configure(db).get_current_revision()
    engine.dispose()
    return current


def test_a_new_database_is_created_at_the_newest_revision_exactly_as_the_code_declares(database_url: str) -> None:
    engine = open_database(database_url)
    with engine.connect() as db:
        differences = compare_metadata(MigrationContext.configure(db), every_table())
    engine.dispose()
    assert differences == [], "the tables in code and knowledge/migrations disagree: add a revision"
    assert revision(database_url) == schema.head()


def test_a_process_finding_a_new_sqlite_file_locked_waits_its_turn(tmp_path: Path) -> None:
    """A new file still in rollback mode, its lock held by another process just starting: SQLite refuses the
    switch to WAL at once, without its busy timeout (the race that made processes starting together fail)."""
    import sqlite3

    path = tmp_path / "supportbot.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    outcome: list[object] = []
    opening = threading.Thread(target=lambda: outcome.append(_opened(f"sqlite:///{path}")))
    opening.start()
    opening.join(timeout=1.0)  # the lock is held a second, or until this process's attempt has ended
    other.execute("COMMIT")
    other.close()
    opening.join(timeout=60)
    assert outcome == ["opened"]
    assert revision(f"sqlite:///{path}") == schema.head()


def _opened(url: str) -> object:
    try:
        open_database(url).dispose()
    except DatabaseError as error:
        return error
    return "opened"


def test_processes_starting_together_on_a_new_database_create_it_once(database_url: str) -> None:
    barrier, failures = threading.Barrier(4), []

    def start() -> None:
        barrier.wait()
        try:
            open_database(database_url).dispose()
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and revision(database_url) == schema.head()


def test_an_older_database_is_upgraded_only_when_asked(database_url: str) -> None:
    engine = create_engine(engine_url(database_url))
    with engine.begin() as db:
        schema.migrate(db, schema.FIRST_REVISION)
    engine.dispose()
    with pytest.raises(DatabaseError, match=r"revision 0001 and this supportbot needs .*`supportbot db upgrade`"):
        open_database(database_url)
    assert revision(database_url) == "0001"
    open_database(database_url, auto_upgrade=True).dispose()
    assert revision(database_url) == schema.head()


def test_db_upgrade_says_from_where_to_where(database_url: str) -> None:
    engine = create_engine(engine_url(database_url))
    with engine.begin() as db:
        schema.migrate(db, schema.FIRST_REVISION)
    engine.dispose()
    done = upgrade_database(database_url)
    assert (done.before, done.after) == ("0001", schema.head())
    again = upgrade_database(database_url)
    assert (again.before, again.after) == (schema.head(), schema.head())


def test_db_upgrade_creates_a_new_database(database_url: str) -> None:
    done = upgrade_database(database_url)
    assert (done.before, done.after) == ("empty", schema.head())


def test_a_database_newer_than_the_code_is_refused_in_one_sentence(database_url: str) -> None:
    open_database(database_url).dispose()
    engine = create_engine(engine_url(database_url))
    with engine.begin() as db:
        db.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for attempt in (lambda: open_database(database_url, auto_upgrade=True), lambda: upgrade_database(database_url)):
        with pytest.raises(DatabaseError) as refused:
            attempt()
        message = str(refused.value)
        assert "has schema revision 9999, newer than this supportbot knows" in message
        assert "upgrade supportbot" in message and message.count(". ") == 0


@pytest.mark.parametrize("tables", [sorted(schema.FIRST_TABLES), ["sync_files", "sync_garbage", "sync_collections"]])
def test_a_database_made_before_migrations_is_adopted_with_its_rows(database_url: str, tables: list[str]) -> None:
    """All of the first release's tables (as `create_all` made them then: revision 0001's shape, without Alembic's
    version table), or the few of its very first builds."""
    engine = create_engine(engine_url(database_url))
    with engine.begin() as db:
        schema.migrate(db, "0001")
        db.execute(text("DROP TABLE alembic_version"))
        for name in set(schema.FIRST_TABLES) - set(tables):
            db.execute(text(f"DROP TABLE {name}"))
    legacy = MetaData()
    legacy.reflect(engine)
    with engine.begin() as db:
        db.execute(insert(legacy.tables["sync_files"]).values(collection="kb", path="a.md", chunk_ids="[]", chunks=0))
    with pytest.raises(DatabaseError, match="revision 0001 and this supportbot needs"):
        open_database(database_url)  # recognised as the first revision, which is older than the code
    done = upgrade_database(database_url)
    assert (done.before, done.after) == ("made before migrations", schema.head())
    with engine.connect() as db:
        assert db.execute(select(legacy.tables["sync_files"].c.path)).scalars().all() == ["a.md"]
        assert compare_metadata(MigrationContext.configure(db), every_table()) == []
        assert set(schema.FIRST_TABLES) <= set(inspect(db).get_table_names())
    engine.dispose()


def test_urls_are_normalised_to_psycopg_and_shown_without_their_password() -> None:
    assert engine_url("postgresql://sb@db/supportbot") == "postgresql+psycopg://sb@db/supportbot"
    assert engine_url("postgres://sb@db/supportbot") == "postgresql+psycopg://sb@db/supportbot"
    assert engine_url("sqlite:////var/lib/supportbot.db") == "sqlite:////var/lib/supportbot.db"
    assert masked("postgresql://sb:s3cret@db/supportbot") == "postgresql+psycopg://sb:***@db/supportbot"


def test_an_unreachable_server_is_one_sentence_without_the_password(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError) as refused:
        open_database("postgresql://sb:s3cret@127.0.0.1:1/supportbot")
    message = str(refused.value)
    assert message.startswith("Cannot use the database at postgresql+psycopg://sb:***@127.0.0.1:1/supportbot: ")
    assert "s3cret" not in message and "database.url" in message
