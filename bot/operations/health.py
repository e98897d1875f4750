"""GET /healthz's checks: is the process taking questions, and do the store, database and model answer?"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from bot.wiring import Bot

MODEL_TIMEOUT = 5.0  # a health probe that hangs is itself the problem


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def health_checks(bot: Bot, starting: Callable[[], list[str]] = list) -> dict[str, Callable[[], Check]]:
    """Each check as a blocking call (run them off the event loop, each under a timeout). `starting`: the chat
    platforms that do not take questions yet (not listening, not connected): the process is not ready meanwhile."""
    return {
        "process": lambda: _process(bot, starting()),
        "store": lambda: _store(bot),
        "database": lambda: _database(bot),
        "model": lambda: _model(bot),
    }


def _process(bot: Bot, starting: list[str]) -> Check:
    if bot.drain.closing:
        return Check("process", False, f"stopping (pid {os.getpid()}): no new questions, {bot.drain.in_flight()} "
                     "in flight")  # fmt: skip
    if starting:
        return Check("process", False, f"starting (pid {os.getpid()}): {', '.join(starting)} not taking questions "
                     "yet")  # fmt: skip
    return Check("process", True, f"up (pid {os.getpid()}), {bot.drain.in_flight()} questions in flight")


def _store(bot: Bot) -> Check:
    knowledge = bot.knowledge
    if "store" not in knowledge.__dict__:  # opened with the models at start-up; not before
        return Check("store", False, "not open yet (the bot is starting)")
    names = [c.name for c in knowledge.settings.collections]
    try:
        counts = [f"{name}: {knowledge.store.count(name)} chunks" for name in names]
        never = knowledge.manifest.never_synced(names)
    except Exception as error:
        return Check("store", False, f"{knowledge.store.location}: {error}")
    detail = f"{knowledge.store.location}: " + ("; ".join(counts) or "no collections")
    if never:  # its questions go unanswered: a killed first sync, or none run yet
        detail += f"; never completed a sync: {', '.join(never)}"
    return Check("store", not names or len(never) < len(names), detail)


def _database(bot: Bot) -> Check:
    engine = bot.knowledge.manifest.engine
    try:
        with engine.connect() as db:
            db.execute(text("SELECT 1"))
    except Exception as error:
        return Check("database", False, f"{engine.url.render_as_string(hide_password=True)}: {type(error).__name__}")
    return Check("database", True, f"{engine.dialect.name} answers")


def _model(bot: Bot) -> Check:
    config = bot.knowledge.settings.generator
    if "generator" not in bot.__dict__:
        return Check("model", False, f"{config.model} is not loaded yet")
    if config.backend != "openai":
        return Check("model", True, f"{bot.generator.name} loaded in this process")
    url = (config.base_url or "").rstrip("/") + "/models"
    key = os.environ.get(config.api_key_env) if config.api_key_env else None
    try:
        response = httpx.get(url, timeout=MODEL_TIMEOUT, headers={"Authorization": f"Bearer {key}"} if key else {})
    except httpx.HTTPError as error:
        return Check("model", False, f"{url}: {type(error).__name__}")
    if response.status_code != 200:
        return Check("model", False, f"{url} answered {response.status_code}")
    return Check("model", True, f"{config.model} served at {config.base_url}")
