"""`supportbot db upgrade`, start-up against a database it cannot use, and `sync` while another sync runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine

from knowledge import schema
from knowledge.database import METADATA, open_database, sqlite_url
from knowledge.sync_lock import SyncLocks
from tests.adapters.cli.test_main import supportbot
from tests.conftest import EXAMPLES, write_config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    collections = [{"name": "handbook", "paths": [str(EXAMPLES)]}]
    return write_config(tmp_path / "supportbot.yaml", data_dir=str(tmp_path / "data"), collections=collections)


def test_db_upgrade_adopts_a_database_made_before_migrations_and_says_so(config: Path, tmp_path: Path) -> None:
    import knowledge.manifest  # noqa: F401  (registers the sync tables)

    (tmp_path / "data").mkdir()
    legacy = MetaData()
    for name in ("sync_files", "sync_garbage", "sync_collections"):  # what the first release made
        METADATA.tables[name].to_metadata(legacy)
    engine = create_engine(sqlite_url(tmp_path / "data"))
    legacy.create_all(engine)
    engine.dispose()

    refused = supportbot("kb", "status", "--config", str(config))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("Error: The database at sqlite:///")
    assert "schema revision 0001 and this supportbot needs" in refused.stderr
    assert "run `supportbot db upgrade`" in refused.stderr

    upgraded = supportbot("db", "upgrade", "--config", str(config))
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema revision made before migrations → {schema.head()}." in upgraded.stdout
    assert supportbot("kb", "status", "--config", str(config)).returncode == 0
    again = supportbot("db", "upgrade", "--config", str(config))
    assert f"is already at schema revision {schema.head()}." in again.stdout


def test_a_database_newer_than_the_code_stops_start_up_with_one_sentence(config: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    open_database(sqlite_url(tmp_path / "data")).dispose()
    with sqlite3.connect(tmp_path / "data" / "supportbot.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    result = supportbot("kb", "status", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: The database at {sqlite_url(tmp_path / 'data')} has schema revision 9999, newer than this supportbot "
        f"knows (its newest is {schema.head()}); upgrade supportbot, or point database.url at another database."
    ]


def test_a_password_in_database_url_is_never_printed(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "supportbot.yaml",
        database={"url": "postgresql://sb:s3cret@127.0.0.1:1/supportbot"},
        collections=[{"name": "handbook", "paths": [str(EXAMPLES)]}],
    )
    result = supportbot("kb", "status", "--config", str(config), "--verbose")
    assert result.returncode == 1 and "postgresql+psycopg://sb:***@127.0.0.1:1/supportbot" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr


@pytest.mark.slow
def test_sync_while_another_sync_runs_says_who_started_it(make_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb/vpn.md").write_text("# VPN\n\nThe VPN server is vpn.acme.example on port 1194.\n")
    config = make_config(tmp_path / "kb")
    (tmp_path / "data").mkdir()
    held = SyncLocks(open_database(sqlite_url(tmp_path / "data"))).take("kb", holder="slack:U123")
    result = supportbot("sync", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: A sync of kb is already running (started by slack:U123 at ")
    held.release()
