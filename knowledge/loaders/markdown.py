"""Markdown via markdown-it-py: headings found by the parser, section text kept as Markdown source."""

from __future__ import annotations

from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from knowledge.documents import Document
from knowledge.loaders.common import SectionBuilder, decode_text, title_from_path

_PARSER = MarkdownIt("commonmark").enable("table")


def load(data: bytes, path: Path) -> Document:
    text = decode_text(data)
    front_title, text = _split_front_matter(text)
    lines = text.splitlines(keepends=True)
    tokens = _PARSER.parse(text)
    builder = SectionBuilder()
    title: str | None = front_title
    cursor = 0
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.map is None:
            continue
        first, after = token.map
        builder.add("".join(lines[cursor:first]))
        heading = tokens[index + 1].content
        level = int(token.tag[1:])
        if title is None and level == 1:
            title = heading
        builder.heading(level, heading)
        cursor = after
    builder.add("".join(lines[cursor:]))
    return Document(title=title or title_from_path(path), sections=builder.build())


def _split_front_matter(text: str) -> tuple[str | None, str]:
    """YAML front matter (`---` ... `---`) is metadata, not content: its `title` names the page."""
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 4)
    if end == -1:
        return None, text
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return None, text
    rest = text[end + 4 :].lstrip("-").lstrip("\n")
    title = meta.get("title") if isinstance(meta, dict) else None
    return (str(title) if title else None), rest
