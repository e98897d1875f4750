"""What the loaders share: the load error, strict text decoding, titles from file names, sections."""

from __future__ import annotations

from pathlib import Path

from knowledge.documents import Section


class LoadError(Exception):
    """A file that cannot be indexed; the message says why, in words an admin can act on."""


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or a clear refusal: binary content and other encodings are reported."""
    if b"\x00" in data[:8192]:
        raise LoadError("it looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(
            f"it is not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); save it as UTF-8"
        ) from None


def title_from_path(path: Path) -> str:
    """'expense-policy.pdf' -> 'Expense policy', for documents that carry no title of their own."""
    words = path.stem.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else path.name


class SectionBuilder:
    """Collects text under the current heading path, keeping headings as a stack by level."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []
        self._parts: list[str] = []
        self.sections: list[Section] = []

    def heading(self, level: int, title: str) -> None:
        self.flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, " ".join(title.split())))

    def add(self, text: str) -> None:
        self._parts.append(text)

    def flush(self) -> None:
        body = "".join(self._parts)
        self._parts = []
        if body.strip():
            self.sections.append(Section(tuple(t for _, t in self._stack if t), body))

    def build(self) -> tuple[Section, ...]:
        self.flush()
        return tuple(self.sections)


def markdown_table(rows: list[list[str]]) -> str:
    """Rows of cell texts as a Markdown table: the first row its header, then a rule, a line a row (a cell's spaces
    as one, a "|" in it escaped, short rows filled out), as the extractive answerer quotes a row with its header; ""
    with no cell holding words."""
    cells = [[" ".join(cell.split()).replace("|", "\\|") for cell in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in cells]
    return "\n".join([lines[0], "|" + "---|" * width, *lines[1:]])


def language_code(value: object) -> str | None:
    """A front matter `lang:` value as an ISO 639-1 code: "de", "de-DE" and "DE_at" are German; None otherwise."""
    if not isinstance(value, str):
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if len(code) == 2 and code.isalpha() else None
