"""Slack payloads to the bot's IncomingMessage, and the bot's Answer to Slack text and Block Kit blocks."""

from __future__ import annotations

import re
from typing import Any

from adapters.slack.mrkdwn import to_mrkdwn
from adapters.splitting import split_message
from bot.messages import Answer, IncomingMessage, Preview

# Message subtypes that are people asking something; every other subtype (edits, joins, bot posts…) is not.
_ASKING_SUBTYPES = {None, "file_share", "thread_broadcast"}
_MAX_BLOCKS = 50  # Slack's limit per message
SECTION_LIMIT = 3000  # a section block's text holds at most 3,000 characters
_CONTEXT_ELEMENTS = 10  # a context block holds at most ten elements

FEEDBACK_HELPFUL = "feedback_helpful"
FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
ASK_HUMAN = "ask_human"


def mention_of(user: str) -> str:
    return f"<@{user}>"


def incoming(event: dict[str, Any], *, team: str, bot_user: str, shared: bool = False) -> IncomingMessage | None:
    """The question in a message or app_mention event, or None for what the bot must ignore: its own
    messages, other bots, edits, deletions, joins and empty messages. `shared`: the channel is shared with other
    organisations (Slack Connect), so unless `channels:` maps it, it reads public collections only."""
    if event.get("subtype") not in _ASKING_SUBTYPES or event.get("bot_id") or event.get("user") in (None, bot_user):
        return None
    text = re.sub(rf"<@{re.escape(bot_user)}(\|[^>]*)?>", "", event.get("text") or "").strip()
    if not text:
        return None
    direct = event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")
    # A DM without threads is one running conversation; everywhere else the thread is the conversation.
    thread = event.get("thread_ts") or ("dm" if direct else event["ts"])
    return IncomingMessage(
        platform="slack", workspace=event.get("team") or team, channel=event["channel"], thread=thread,
        user=event["user"], text=text, is_direct=direct, default_visibility="public" if shared else "internal",
    )  # fmt: skip


def reply_thread(event: dict[str, Any]) -> str | None:
    """Where the answer goes: the message's thread (a top-level message starts one); None in a plain DM."""
    if event.get("thread_ts"):
        return str(event["thread_ts"])
    is_dm = event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")
    return None if is_dm else str(event["ts"])


def answer_blocks(answer: Answer, *, answer_id: str, can_escalate: bool) -> list[dict[str, Any]]:
    """The answer's text sections, its sources as links, who answered (when a stand-in did), and buttons."""
    sections = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_message(to_mrkdwn(answer.text), limit=SECTION_LIMIT)
    ]
    blocks: list[dict[str, Any]] = sections[: _MAX_BLOCKS - 2]
    footer = [_source_link(s.title, s.heading, s.url or f"{s.collection}:{s.path}") for s in answer.sources]
    if answer.fallback_model:
        footer.append(f"Answered by {answer.fallback_model}")
    if footer:
        elements = [{"type": "mrkdwn", "text": text} for text in footer[:_CONTEXT_ELEMENTS]]
        blocks.append({"type": "context", "elements": elements})
    buttons = [
        _button("👍 Helpful", FEEDBACK_HELPFUL, answer_id),
        _button("👎 Not helpful", FEEDBACK_NOT_HELPFUL, answer_id),
    ]
    if can_escalate:
        buttons.append(_button("🙋 Ask a human", ASK_HUMAN, answer_id))
    if answer.status == "answered" and answer_id:  # an answer the records could not keep has nothing to rate
        blocks.append({"type": "actions", "block_id": f"answer-{answer_id}", "elements": buttons})
    return blocks


def _source_link(title: str, heading: str, target: str) -> str:
    label = " › ".join(part for part in (title, heading) if part).replace(">", "›")
    return f"<{target}|{label}>" if target.startswith(("http://", "https://")) else f"{label} (`{target}`)"


def _button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": value}


def notification_text(answer: Answer) -> str:
    """The plain `text` Slack shows in notifications and where blocks cannot be rendered."""
    return split_message(to_mrkdwn(answer.text), limit=SECTION_LIMIT)[0] if answer.text else "…"


def progress_text(partial: str) -> str:
    """The placeholder while the model writes: what it has so far, then a cursor."""
    return to_mrkdwn(partial)[-2900:] + " ▍" if partial else "Looking in the knowledge base… ▍"


def queued_text(position: int) -> str:
    return f"Waiting for the model: number {position} in line… ▍"


def preview_text(preview: Preview, *, position: int = 0) -> str:
    """The placeholder while the model reads: the pages' own words and links (the model's answer replaces them),
    with the place in line while it waits."""
    links = " · ".join(_source_link(s.title, s.heading, s.url or f"{s.collection}:{s.path}") for s in preview.sources)
    waiting = f"\n_{queued_text(position).removesuffix(' ▍')}_" if position else ""
    return f"{to_mrkdwn(preview.text)[:2500]}\n{links[:400]}{waiting} ▍"
