"""Heading-aware chunking: each section is cut into overlapping pieces that fit the embedder's token budget."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Protocol

from knowledge.documents import Chunk, Document

# From coarse to fine: a piece too long for the budget is cut at the next level down. Each pattern keeps
# the whitespace that follows a piece with it, so the pieces always join back into the exact text.
_LEVELS = (
    re.compile(r".*?(?:\n[ \t]*\n\s*|$)", re.S),  # paragraphs
    re.compile(r".*?(?:\n\s*|$)", re.S),  # lines
    re.compile(r".*?(?:[.!?;:](?=\s)\s*|[。！？；]\s*|$)", re.S),  # sentences
    re.compile(r"\s*\S+\s*|\s+"),  # words
)


_WORD = re.compile(r"\S+\s*")


class TokenCounter(Protocol):
    """Counts tokens the way the embedding model's own tokenizer does (no special tokens)."""

    def count_tokens(self, text: str) -> int: ...


def chunk_document(document: Document, *, counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> list[Chunk]:
    """All of the document's text, in chunks whose `embedding_text()` fits `max_tokens` tokens."""
    chunks: list[Chunk] = []
    for index, section in enumerate(document.sections):
        probe = Chunk(document.title, section.heading_path, "", index, 0, 0, 0)
        header = counter.count_tokens(probe.embedding_text())
        if header > max_tokens // 2:  # a pathological heading must not crowd out the text
            probe = replace(probe, title=_clip(document.title), heading_path=section.heading_path[-1:])
            probe = replace(probe, heading_path=tuple(_clip(h) for h in probe.heading_path))
            header = counter.count_tokens(probe.embedding_text())
        budget = max(max_tokens - header - 2, 1)  # 2: the newline joins may merge into tokens of their own
        for start, end in _spans(section.text, counter=counter, budget=budget, overlap=overlap_tokens):
            text = section.text[start:end]
            chunks.append(replace(probe, text=text, start=start, end=end, position=len(chunks)))
    return chunks


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _spans(text: str, *, counter: TokenCounter, budget: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the chunks of one section's text; together they cover every character."""
    bounds: list[tuple[int, int, int]] = []  # (start, end, tokens) of each piece
    offset = 0
    for piece, tokens in _pieces(text, counter=counter, budget=budget, level=0):
        bounds.append((offset, offset + len(piece), tokens))
        offset += len(piece)
    spans: list[tuple[int, int]] = []
    first, carry_start, carry_tokens = 0, bounds[0][0], 0
    while first < len(bounds):
        last = _fill(bounds, first=first, budget=budget - carry_tokens)
        while counter.count_tokens(text[carry_start : bounds[last][1]]) > budget:
            if last > first:
                last -= 1  # the sum of piece counts was optimistic: tokens merged across a boundary
            else:
                carry_start = bounds[first][0]  # no room for the overlap next to this piece
        spans.append((carry_start, bounds[last][1]))
        first = last + 1
        if first < len(bounds):
            room = min(overlap, budget - bounds[first][2])
            carry_start, carry_tokens = _tail(text, start=carry_start, end=bounds[last][1], limit=room, counter=counter)
    return spans


def _fill(bounds: list[tuple[int, int, int]], *, first: int, budget: int) -> int:
    total = bounds[first][2]
    last = first
    while last + 1 < len(bounds) and total + bounds[last + 1][2] <= budget:
        last += 1
        total += bounds[last][2]
    return last


def _tail(text: str, *, start: int, end: int, limit: int, counter: TokenCounter) -> tuple[int, int]:
    """Where the next chunk begins: the previous one's last words, up to `limit` tokens, are repeated
    so that no idea is cut in two. Returns (offset, tokens); (end, 0) when nothing fits."""
    best = (end, 0)
    if limit <= 0:
        return best
    for word in reversed(list(_WORD.finditer(text, start, end))):
        if word.start() == start:
            break  # repeating the whole previous chunk would not move forward
        tokens = counter.count_tokens(text[word.start() : end])
        if tokens > limit:
            break
        best = (word.start(), tokens)
    return best


def _pieces(text: str, *, counter: TokenCounter, budget: int, level: int) -> list[tuple[str, int]]:
    tokens = counter.count_tokens(text)
    if tokens <= budget:
        return [(text, tokens)]
    if level == len(_LEVELS):
        return _by_characters(text, counter=counter, budget=budget)
    parts = [m.group(0) for m in _LEVELS[level].finditer(text) if m.group(0)]
    if len(parts) == 1:
        return _pieces(text, counter=counter, budget=budget, level=level + 1)
    found: list[tuple[str, int]] = []
    for part in parts:
        found.extend(_pieces(part, counter=counter, budget=budget, level=level + 1))
    return found


def _by_characters(text: str, *, counter: TokenCounter, budget: int) -> list[tuple[str, int]]:
    """Last resort for one enormous 'word' (a URL, base64): the longest prefixes that fit, by bisection."""
    found: list[tuple[str, int]] = []
    while text:
        low, high = 1, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if counter.count_tokens(text[:middle]) <= budget:
                low = middle
            else:
                high = middle - 1
        found.append((text[:low], counter.count_tokens(text[:low])))
        text = text[low:]
    return found
