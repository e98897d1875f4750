"""What the fake Discord remembers (channels, threads, DMs, messages) and the gateway events its changes send."""

from __future__ import annotations

import copy
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tests.adapters.discord.fake_discord_http import Upload
from tests.adapters.discord.fake_discord_payloads import (
    BOT,
    GUILD_ID,
    PEOPLE,
    Payload,
    Person,
    Snowflakes,
    guild_create,
    load_payload,
    message_payload,
    now,
    thread_payload,
)

Dispatch = Callable[[str, Payload], Awaitable[int | None]]
THREAD_TYPES = (10, 11, 12)
STARTER_BLANKS: Payload = {"type": 21, "content": "", "embeds": [], "attachments": [], "components": [], "mentions": []}
EDITABLE = ("content", "embeds", "components", "flags", "attachments", "allowed_mentions")


def mentioned(content: str) -> tuple[Person, ...]:
    """The people a message's text mentions: Discord resolves `<@id>` into the `mentions` array."""
    ids = dict.fromkeys(int(i) for i in re.findall(r"<@!?(\d+)>", content))
    return tuple(PEOPLE[i] for i in ids if i in PEOPLE)


class DiscordState:
    """Channels and messages as Discord keeps them; every change goes out on the gateway as Discord sends it."""

    def __init__(self, *, dispatch: Dispatch, ids: Snowflakes, origin: Callable[[], str]) -> None:
        self._dispatch, self.ids, self._origin = dispatch, ids, origin
        self.files: dict[int, Upload] = {}  # attachments, served back at their `url`
        guild_channels = load_payload("guild_create")["channels"]
        self.channels: dict[int, Payload] = {int(c["id"]): c | {"guild_id": str(GUILD_ID)} for c in guild_channels}
        self._messages: dict[int, list[Payload]] = {}
        self._dms: dict[int, int] = {}

    def guild_create(self) -> Payload:
        channels = [c for c in self.channels.values() if c.get("guild_id") and c["type"] not in THREAD_TYPES]
        threads = [c for c in self.channels.values() if c["type"] in THREAD_TYPES]
        return guild_create(channels, threads)

    def channel(self, channel_id: int) -> Payload | None:
        return self.channels.get(channel_id)

    def messages_in(self, channel_id: int) -> list[Payload]:
        """A channel's messages, oldest first."""
        return list(self._messages.get(channel_id, []))

    def message(self, message_id: int) -> Payload | None:
        for messages in self._messages.values():
            for message in messages:
                if int(message["id"]) == message_id:
                    return message
        return None

    def history(self, channel_id: int, *, limit: int, before: int | None, after: int | None) -> list[Payload]:
        """GET /channels/{id}/messages: newest first, at most `limit`, strictly before/after an id."""
        kept = [m for m in reversed(self.messages_in(channel_id))
                if (before is None or int(m["id"]) < before) and (after is None or int(m["id"]) > after)]  # fmt: skip
        return kept[:limit]

    async def add_message(self, message: Payload) -> int | None:
        """Store a message and send MESSAGE_CREATE; returns its sequence number."""
        self._store(message)
        return await self._dispatch("MESSAGE_CREATE", message)

    def _store(self, message: Payload) -> None:
        channel_id = int(message["channel_id"])
        self._messages.setdefault(channel_id, []).append(message)
        channel = self.channels.get(channel_id)
        if channel is None:
            return
        channel["last_message_id"] = message["id"]
        if channel["type"] in THREAD_TYPES and message["id"] != channel["id"] and message["type"] != 21:
            channel["message_count"] += 1  # a thread's starter message is not counted
            channel["total_message_sent"] += 1

    async def post(
        self,
        *,
        channel_id: int,
        author: Person,
        body: Payload,
        uploads: Iterable[Upload] = (),
        extra: Payload | None = None,
    ) -> Payload:
        """A message sent through the API, with a new id; stored and echoed on the gateway unless ephemeral."""
        content = str(body.get("content") or "")
        message = self._new_message(channel_id=channel_id, author=author, content=content)
        message.update(embeds=body.get("embeds") or [], components=body.get("components") or [],
                       flags=int(body.get("flags") or 0), tts=bool(body.get("tts")),
                       attachments=self._attach(channel_id, uploads))  # fmt: skip
        reference = body.get("message_reference")
        if reference:
            message.update(
                type=19, message_reference=reference, referenced_message=self.message(int(reference["message_id"]))
            )
        message.update(extra or {})
        if not message["flags"] & 64:  # an ephemeral message reaches one user: never the channel or the gateway
            await self.add_message(message)
        return message

    def _attach(self, channel_id: int, uploads: Iterable[Upload]) -> list[Payload]:
        attachments = []
        for upload in uploads:
            attachment_id = self.ids.next()
            self.files[attachment_id] = upload
            url = f"{self._origin()}/attachments/{channel_id}/{attachment_id}/{upload.filename}"
            attachments.append({"id": str(attachment_id), "filename": upload.filename, "size": len(upload.data),
                                "url": url, "proxy_url": url, "content_type": upload.content_type})  # fmt: skip
        return attachments

    def _new_message(self, *, channel_id: int, author: Person, content: str, message_id: int | None = None) -> Payload:
        channel = self.channels.get(channel_id) or {}
        guild_id = int(channel["guild_id"]) if channel.get("guild_id") else None
        return message_payload(message_id=message_id or self.ids.next(), channel_id=channel_id, guild_id=guild_id,
                               author=author, content=content, mentions=mentioned(content))  # fmt: skip

    async def say(
        self, *, channel_id: int, author: Person, content: str, message_id: int | None = None
    ) -> tuple[Payload, int | None]:
        """A message a person types in the client: stored and dispatched as MESSAGE_CREATE.

        A `message_id` already stored is dispatched again unchanged: Discord delivering it twice."""
        existing = self.message(message_id) if message_id is not None else None
        if existing is not None:
            return existing, await self._dispatch("MESSAGE_CREATE", existing)
        message = self._new_message(channel_id=channel_id, author=author, content=content, message_id=message_id)
        return message, await self.add_message(message)

    async def edit(self, message: Payload, changes: Payload) -> Payload:
        """Apply an edit and send MESSAGE_UPDATE with the whole message, as Discord now does."""
        message.update({k: v for k, v in changes.items() if k in EDITABLE and k != "allowed_mentions"})
        if "content" in changes:
            message["mentions"] = [p.user() for p in mentioned(str(changes["content"] or ""))]
        message["edited_timestamp"] = now()
        if not message.get("flags", 0) & 64:
            await self._dispatch("MESSAGE_UPDATE", message)
        return message

    async def start_thread(
        self, *, parent_id: int, thread_id: int, owner: Person, name: str, options: Payload | None = None
    ) -> tuple[Payload, int | None]:
        """Create a thread channel and send THREAD_CREATE with `newly_created`, as its creator receives it."""
        options = options or {}
        thread = thread_payload(thread_id=thread_id, parent_id=parent_id, owner=owner, name=name,
                                auto_archive_duration=int(options.get("auto_archive_duration") or 4320),
                                kind=int(options.get("type") or 11))  # fmt: skip
        thread["applied_tags"] = [str(t) for t in options.get("applied_tags") or []]
        thread["rate_limit_per_user"] = int(options.get("rate_limit_per_user") or 0)
        self.channels[thread_id] = thread
        return thread, await self._dispatch("THREAD_CREATE", thread | {"newly_created": True})

    async def thread_on_message(self, message: Payload, *, name: str, options: Payload) -> Payload:
        """A thread started on a message takes its id; the message gets a `thread` field; the thread opens
        with a THREAD_STARTER_MESSAGE (type 21, empty, not dispatched) whose `referenced_message` is the question."""
        parent_id, thread_id = int(message["channel_id"]), int(message["id"])
        thread, _ = await self.start_thread(parent_id=parent_id, thread_id=thread_id, owner=BOT, name=name,
                                            options=options)  # fmt: skip
        starter = copy.deepcopy(message) | dict(STARTER_BLANKS, id=str(self.ids.next()), channel_id=str(thread_id))
        starter["message_reference"] = {"type": 0, "message_id": message["id"], "channel_id": str(parent_id),
                                        "guild_id": str(GUILD_ID)}  # fmt: skip
        starter["referenced_message"] = copy.deepcopy(message)
        message["thread"] = thread
        self._store(starter)
        return thread

    def open_dm(self, user_id: int) -> Payload:
        """The DM channel between the bot and a user (POST /users/@me/channels): one per user."""
        if user_id not in self._dms:
            person = PEOPLE.get(user_id, Person(user_id, f"user{user_id}"))
            channel: dict[str, Any] = {"id": str(self.ids.next()), "type": 1, "last_message_id": None, "flags": 0,
                                       "recipients": [person.user()]}  # fmt: skip
            self._dms[user_id] = int(channel["id"])
            self.channels[int(channel["id"])] = channel
        return self.channels[self._dms[user_id]]
