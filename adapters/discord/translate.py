"""Discord's shapes to the bot's IncomingMessage, and the bot's Answer to Discord messages and an embed."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from adapters.splitting import split_message
from bot.desk import say
from bot.messages import Answer, IncomingMessage, Preview, Visibility

if TYPE_CHECKING:
    from adapters.discord.config import DiscordConfig

MESSAGE_LIMIT = 2000  # Discord's limit for a message's content
_EMBED_DESCRIPTION_LIMIT = 4096


def incoming(*, guild: str | None, channel: str, thread: str, user: str, content: str, bot_user: str,
             is_direct: bool, default_visibility: Visibility = "public") -> IncomingMessage | None:  # fmt: skip
    """The question in a message, with the bot's own mention taken out; None when nothing is left. An unmapped
    channel or DM reads `default_visibility` collections (discord.default_visibility)."""
    text = re.sub(rf"<@!?{re.escape(bot_user)}>", "", content).strip()
    if not text:
        return None
    return IncomingMessage(
        platform="discord", workspace=guild or "dm", channel=channel, thread=thread, user=user, text=text,
        is_direct=is_direct, default_visibility=default_visibility,
    )  # fmt: skip


def matches(channel_id: int | str, channel_name: str | None, configured: list[str]) -> bool:
    """The config names channels by name ("help") or by id."""
    return str(channel_id) in configured or (channel_name is not None and channel_name in configured)


def is_admin(config: DiscordConfig, user: object, *, or_helper: bool = False) -> bool:
    """Whether a server member is one of the knowledge base's admins (`admin_users`, `admin_roles`), or, with
    `or_helper`, holds the helper role; a user outside a server has no roles."""
    names = [*config.admin_roles, *([config.helper_role] if or_helper and config.helper_role else [])]
    return matches(getattr(user, "id", ""), None, config.admin_users) or any(
        matches(role.id, role.name, names) for role in getattr(user, "roles", [])
    )


def thread_name(question: str) -> str:
    """A thread's title from the question: Discord allows 100 characters."""
    words = " ".join(question.split())
    return words if len(words) <= 90 else words[:89] + "…"


def answer_parts(answer: Answer) -> list[str]:
    return split_message(answer.text, limit=MESSAGE_LIMIT) or ["…"]


def sources_embed(answer: Answer) -> dict[str, Any] | None:
    """The sources as links (Discord's embed dict), and who answered while a stand-in does."""
    lines = [_source_line(s.title, s.heading, s.url, f"{s.collection}:{s.path}") for s in answer.sources]
    footer = {"text": f"Answered by {answer.fallback_model}"} if answer.fallback_model else None
    if not lines and footer is None:
        return None
    # In the asker's language; an abstention's links are what came closest, not what an answer drew on.
    title = say("closest" if answer.status == "abstained" else "sources", answer.language)
    embed: dict[str, Any] = {"title": title, "description": "\n".join(lines)[:_EMBED_DESCRIPTION_LIMIT] or "—"}
    if footer:
        embed["footer"] = footer
    return embed


def _source_line(title: str, heading: str, url: str | None, where: str, *, unfurl: bool = True) -> str:
    """A source as a Markdown link; `unfurl=False` in a message's content (<url> keeps Discord from adding an embed
    of the page under it)."""
    label = " › ".join(part for part in (title, heading) if part).replace("[", "(").replace("]", ")")
    target = url if unfurl else f"<{url}>"
    return f"• [{label}]({target})" if url else f"• {label} (`{where}`)"


def progress_text(partial: str) -> str:
    return partial[-(MESSAGE_LIMIT - 10) :] + " ▍" if partial else "Looking in the knowledge base… ▍"


def queued_text(position: int) -> str:
    return f"Waiting for the model: number {position} in line… ▍"


def preview_text(preview: Preview, *, position: int = 0) -> str:
    """The placeholder while the model reads: the pages' own words and links (the model's answer replaces them),
    with the place in line while it waits."""
    links = "\n".join(
        _source_line(s.title, s.heading, s.url, f"{s.collection}:{s.path}", unfurl=False) for s in preview.sources
    )
    waiting = f"\n*{queued_text(position).removesuffix(' ▍')}*" if position else ""
    return f"{preview.text[:1400]}\n{links[:500]}{waiting} ▍"
