"""Discord's wire shapes for the fake: the recorded-shape templates in payloads/, filled in per event."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).parent / "payloads"
DISCORD_EPOCH_MS = 1_420_070_400_000
Payload = dict[str, Any]


def load_payload(name: str) -> Payload:
    """A fresh copy of a payload from payloads/ (ids scrubbed to 8000000000000000xx), safe to change."""
    payload: Payload = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return payload


_GUILD = load_payload("guild_create")
_TEMPLATES = {name: load_payload(name) for name in ("message_create", "thread_create", "interaction_create")}


def _channel_id(name: str) -> int:
    return next(int(c["id"]) for c in _GUILD["channels"] if c["name"] == name)


def _role_id(name: str) -> int:
    return next(int(r["id"]) for r in _GUILD["roles"] if r["name"] == name)


GUILD_ID = int(_GUILD["id"])
HELP_ID, GENERAL_ID, QUESTIONS_ID = _channel_id("help"), _channel_id("general"), _channel_id("questions")
HELPERS_ROLE_ID, ADMINS_ROLE_ID = _role_id("helpers"), _role_id("admins")
ANSWERED_TAG_ID = int(next(c for c in _GUILD["channels"] if c["type"] == 15)["available_tags"][0]["id"])


@dataclass(frozen=True)
class Person:
    """Someone on the fake Discord: a user id and name, their roles in the guild, whether a bot."""

    id: int
    name: str
    role_ids: tuple[int, ...] = ()
    bot: bool = False

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def user(self) -> Payload:
        user: Payload = {"id": str(self.id), "username": self.name, "discriminator": "0", "avatar": None,
                         "global_name": None if self.bot else self.name.title(), "public_flags": 0}  # fmt: skip
        return user | {"bot": True} if self.bot else user

    def member(self) -> Payload:
        """The guild member object without its user, as MESSAGE_CREATE carries it beside `author`."""
        return {"roles": [str(r) for r in self.role_ids], "nick": None, "avatar": None, "premium_since": None,
                "joined_at": "2024-01-02T00:00:00.000000+00:00", "deaf": False, "mute": False, "pending": False,
                "flags": 0}  # fmt: skip


def _person(name: str) -> Person:
    member = next(m for m in _GUILD["members"] if m["user"]["username"] == name)
    roles = tuple(int(r) for r in member["roles"])
    return Person(int(member["user"]["id"]), name, roles, bool(member["user"].get("bot", False)))


BOT, ALICE, HANA, ADA = _person("supportbot"), _person("alice"), _person("hana"), _person("ada")
PEOPLE = {p.id: p for p in (BOT, ALICE, HANA, ADA)}


class Snowflakes:
    """Discord ids: milliseconds since 2015 shifted left 22 bits, so later ids sort after earlier ones."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(self._last + 1, (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22)
        return self._last


def now() -> str:
    return datetime.now(UTC).isoformat()


def message_payload(
    *,
    message_id: int,
    channel_id: int,
    guild_id: int | None,
    author: Person,
    content: str,
    mentions: tuple[Person, ...] = (),
) -> Payload:
    """A MESSAGE_CREATE body; a DM (no guild) has neither `guild_id` nor `member`, as Discord sends it."""
    message = copy.deepcopy(_TEMPLATES["message_create"])
    message.update(id=str(message_id), channel_id=str(channel_id), author=author.user(), content=content,
                   timestamp=now(), nonce=None)  # fmt: skip
    if guild_id is None:
        del message["guild_id"], message["member"]
        message["mentions"] = [p.user() for p in mentions]
    else:
        message.update(guild_id=str(guild_id), member=author.member())
        message["mentions"] = [p.user() | {"member": p.member()} for p in mentions]
    return message


def thread_payload(
    *, thread_id: int, parent_id: int, owner: Person, name: str, auto_archive_duration: int = 4320, kind: int = 11
) -> Payload:
    """A thread channel object as GET /channels/{id} answers it (THREAD_CREATE adds `newly_created`)."""
    thread = copy.deepcopy(_TEMPLATES["thread_create"])
    del thread["newly_created"]
    stamp = now()
    thread.update(id=str(thread_id), type=kind, guild_id=str(GUILD_ID), parent_id=str(parent_id),
                  owner_id=str(owner.id), name=name, last_message_id=None)  # fmt: skip
    thread["thread_metadata"].update(archive_timestamp=stamp, create_timestamp=stamp,
                                     auto_archive_duration=auto_archive_duration)  # fmt: skip
    return thread


def interaction_payload(
    *, interaction_id: int, token: str, kind: int, channel: Payload, user: Person, data: Payload
) -> Payload:
    """An INTERACTION_CREATE body: `member` in a guild, `user` in a DM, as Discord sends them."""
    interaction = copy.deepcopy(_TEMPLATES["interaction_create"])
    interaction.update(
        id=str(interaction_id), token=token, type=kind, channel_id=channel["id"], channel=channel, data=data
    )
    if channel.get("guild_id") is None:
        del interaction["guild_id"], interaction["member"], interaction["guild_locale"]
        interaction.update(user=user.user(), context=1, authorizing_integration_owners={"1": str(BOT.id)})
    else:
        interaction["member"] = user.member() | {"user": user.user(), "permissions": interaction["app_permissions"]}
    return interaction


def guild_create(channels: list[Payload], threads: list[Payload]) -> Payload:
    """GUILD_CREATE for the one guild, with the channels and active threads as they are now."""
    guild = copy.deepcopy(_GUILD)
    guild.update(channels=[{k: v for k, v in c.items() if k != "guild_id"} for c in channels], threads=threads)
    return guild


def application() -> Payload:
    return load_payload("application")
