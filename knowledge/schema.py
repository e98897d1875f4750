"""The schema's version: where a database stands in the Alembic history shipped in knowledge/migrations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

MIGRATIONS = Path(__file__).with_name("migrations")
# A database holding some of these tables but no version was made by `create_all` before migrations
# existed; the first revision creates only what is missing, so running it adopts such a database as it is.
FIRST_REVISION = "0001"
FIRST_TABLES = frozenset(
    {"sync_files", "sync_garbage", "sync_collections", "thread_turns", "handled_events", "answers", "feedback"}
)


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: no version recorded
    head: str
    known: bool  # the current revision is one this code has (else the database is newer than the code)
    legacy: bool  # no version, but tables made before migrations

    @property
    def blank(self) -> bool:
        """No version and none of the bot's tables: a brand-new database."""
        return self.current is None and not self.legacy


@cache
def _script() -> ScriptDirectory:
    """Read once a process: every test opens many databases."""
    return ScriptDirectory(str(MIGRATIONS))


def head() -> str:
    revision = _script().get_current_head()
    assert revision is not None, "knowledge/migrations has no revisions"
    return revision


def state(connection: Connection) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    known = current is None or current in {script.revision for script in _script().walk_revisions()}
    legacy = current is None and bool(FIRST_TABLES & set(inspect(connection).get_table_names()))
    return SchemaState(current=current, head=head(), known=known, legacy=legacy)


def migrate(connection: Connection, target: str = "head") -> None:
    """Run the revisions up to `target` on this connection, inside its transaction."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, target)
