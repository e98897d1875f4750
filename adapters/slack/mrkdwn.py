"""The model's Markdown as Slack mrkdwn (bold, italics, links, headings, bullets, block quotes); code left as it is."""

from __future__ import annotations

import re

_FENCE = re.compile(r"(```.*?(?:```|$))", re.S)
_INLINE_CODE = re.compile(r"(`[^`\n]+`)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.M)
_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?")
_FENCE_LINE = re.compile(r"^[ \t]*```")


def to_mrkdwn(markdown: str) -> str:
    """Bold, italics, strike, links, headings, bullets and block quotes in Slack's dialect; code is left exactly as
    it is."""
    converted = "".join(
        part if part.startswith("```") else _outside_inline_code(part)
        for part in _FENCE.split(_mark_quotes(markdown))
        if part
    )
    return converted.replace("\x02", "> ")


def _mark_quotes(markdown: str) -> str:
    """A block quote's `>` is Slack's own (kept, not escaped as `&gt;`): marked outside code before escaping."""
    lines, fenced = [], False
    for line in markdown.split("\n"):
        if _FENCE_LINE.match(line):
            fenced = not fenced
        lines.append(line if fenced else _QUOTE.sub("\x02", line, count=1))
    return "\n".join(lines)


def _outside_inline_code(text: str) -> str:
    return "".join(part if part.startswith("`") else _convert(part) for part in _INLINE_CODE.split(text) if part)


def _convert(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        links.append(f"<{match.group(2)}|{match.group(1)}>")
        return f"\x00{len(links) - 1}\x00"

    text = _LINK.sub(keep_link, text)
    text = _HEADING.sub(lambda m: f"\x01{m.group(1)}\x01", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _BOLD.sub(lambda m: f"\x01{m.group(2)}\x01", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = _BULLET.sub(r"\1• ", text)
    text = text.replace("\x01", "*")
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)


_SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)\|([^>]+)>")
_SLACK_BARE_LINK = re.compile(r"<(https?://[^|>\s]+)>")
_SLACK_BOLD = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")


def from_mrkdwn(text: str) -> str:
    """A person's Slack message as Markdown, for a page of the knowledge base: links and bold; the rest (lists,
    code, italics with underscores) reads the same in both."""
    text = _SLACK_LINK.sub(r"[\2](\1)", text)
    text = _SLACK_BARE_LINK.sub(r"\1", text)
    text = _SLACK_BOLD.sub(r"**\1**", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
