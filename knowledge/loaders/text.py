"""Plain text: one section; the first short line, else the file name, is the title."""

from __future__ import annotations

from pathlib import Path

from knowledge.documents import Document, Section
from knowledge.loaders.common import decode_text, title_from_path


def load(data: bytes, path: Path) -> Document:
    text = decode_text(data)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first_line if 0 < len(first_line) <= 80 else title_from_path(path)
    return Document(title=title, sections=(Section((), text),))
