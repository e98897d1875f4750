"""The model's Markdown as Slack mrkdwn, cut into pieces within Slack's limits without breaking code blocks."""

from __future__ import annotations

import re

# A section block's text holds at most 3,000 characters.
SECTION_LIMIT = 3000

_FENCE = re.compile(r"(```.*?(?:```|$))", re.S)
_INLINE_CODE = re.compile(r"(`[^`\n]+`)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.M)


def to_mrkdwn(markdown: str) -> str:
    """Bold, italics, strike, links, headings and bullets in Slack's dialect; code is left exactly as it is."""
    return "".join(
        part if part.startswith("```") else _outside_inline_code(part) for part in _FENCE.split(markdown) if part
    )


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


def split_message(text: str, *, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph, then line, then word boundaries; a code block
    that has to be cut is closed at the end of one piece and reopened at the start of the next."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut_point(rest, limit - 4)
        head, rest = rest[:cut], rest[cut:]
        if head.count("```") % 2 == 1:  # inside a code block: close it here, reopen it in the next piece
            head, rest = head + "\n```", "```\n" + rest
        pieces.append(head.rstrip())
        rest = rest.lstrip("\n") if not rest.startswith("```") else rest
    if rest.strip():
        pieces.append(rest)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, limit // 2, limit)
        if at > 0:
            return at + len(separator)
    return limit
