"""Long answers cut into pieces within a platform's limit, at paragraph, line or word boundaries; a code block
that must be cut is closed and reopened, so every piece renders on its own."""

from __future__ import annotations


def split_message(text: str, *, limit: int) -> list[str]:
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
