"""Turns a file into a Document by its extension, each format through a library made for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.documents import Document
from knowledge.loaders import docx, html, mallard, markdown, pdf, rst, text
from knowledge.loaders.common import LoadError

Loader = Callable[[bytes, Path], Document]

LOADERS: dict[str, Loader] = {
    ".md": markdown.load,
    ".markdown": markdown.load,
    ".txt": text.load,
    ".text": text.load,
    ".rst": rst.load,
    ".html": html.load,
    ".htm": html.load,
    ".pdf": pdf.load,
    ".docx": docx.load,
    ".page": mallard.load,
}

# What a format's text takes from other files (a Mallard link without words shows its target's title), by extension.
BORROWS: dict[str, Callable[[bytes, Path], bytes]] = {".page": mallard.borrowed_titles}

__all__ = ["BORROWS", "LOADERS", "LoadError", "borrowed", "is_supported", "load_document"]


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def borrowed(data: bytes, path: Path) -> bytes:
    """What the text of `path` (whose bytes are `data`) takes from other files, as bytes: b"" for most formats. Sync
    adds it to the file's digest, so a change there reads the file again."""
    borrows = BORROWS.get(path.suffix.lower())
    return borrows(data, path) if borrows is not None else b""


def load_document(data: bytes, path: Path) -> Document:
    """Parse `data` (the bytes of `path`); raise LoadError with a reason a person can act on."""
    if not data.strip():
        raise LoadError("the file is empty")
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"no loader for {path.suffix or 'files without an extension'}")
    document = loader(data, path)
    if not document.text.strip():
        raise LoadError("no text could be extracted from it")
    return document
