"""What `supportbot db upgrade` prints: where the schema was and where it is now."""

from __future__ import annotations

from bot.config import Settings
from knowledge.database import masked, upgrade_database


def upgrade(settings: Settings) -> None:
    if settings.database.url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url
    done = upgrade_database(url)
    if done.before == done.after:
        print(f"The database at {masked(url)} is already at schema revision {done.after}.")
    else:
        print(f"Upgraded the database at {masked(url)}: schema revision {done.before} → {done.after}.")
