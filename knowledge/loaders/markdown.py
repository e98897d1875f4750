"""Markdown via markdown-it-py: headings found by the parser, section text kept as Markdown source."""

from __future__ import annotations

from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from knowledge.documents import Document
from knowledge.loaders.common import SectionBuilder, decode_text, language_code, title_from_path

_PARSER = MarkdownIt("commonmark").enable("table")


def load(data: bytes, path: Path) -> Document:
    text = decode_text(data)
    meta, text = _split_front_matter(text)
    front_title = str(meta["title"]) if meta.get("title") else None
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
    original = meta.get("translation_of")
    return Document(title=title or title_from_path(path), sections=builder.build(),
                    language=language_code(meta.get("lang") or meta.get("language")),
                    translation_of=str(original) if original else None)  # fmt: skip


def _split_front_matter(text: str) -> tuple[dict[str, object], str]:
    """YAML front matter (`---` ... `---`) is metadata, not content: its `title` names the page, `lang` says its
    language and `translation_of` the page it translates."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        return {}, text
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}, text
    rest = text[end + 4 :].lstrip("-").lstrip("\n")
    return ({str(key): value for key, value in meta.items()} if isinstance(meta, dict) else {}), rest
