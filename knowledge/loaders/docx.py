"""DOCX via python-docx: 'Title' and 'Heading N' paragraph styles give the structure; tables are read too."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from knowledge.documents import Document
from knowledge.loaders.common import LoadError, SectionBuilder, markdown_table, title_from_path

_HEADING = re.compile(r"^Heading (\d)$")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def load(data: bytes, path: Path) -> Document:
    try:
        document = docx.Document(BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise LoadError(f"it is not a readable DOCX file ({type(error).__name__}: {error})") from None
    builder = SectionBuilder()
    title = (document.core_properties.title or "").strip() or None
    lists = _Lists(document)
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lists.end()
            builder.add(_table(block) + "\n\n")
        elif isinstance(block, Paragraph):
            title = _paragraph(block, builder, title, lists)
    return Document(title=title or title_from_path(path), sections=builder.build())


def _paragraph(paragraph: Paragraph, builder: SectionBuilder, title: str | None, lists: _Lists) -> str | None:
    style = paragraph.style.name if paragraph.style is not None else ""
    text = paragraph.text
    heading = _HEADING.match(style or "")
    if style == "Title":
        lists.end()
        builder.heading(0, text)
        return title or text.strip()
    if heading:
        lists.end()
        builder.heading(int(heading.group(1)), text)
        return title or (text.strip() if heading.group(1) == "1" else None)
    if text.strip():
        listed = lists.open
        marker = lists.marker(paragraph, style or "")
        if listed and not marker:
            builder.add("\n")  # a list's end: a blank line before the paragraph after it
        builder.add(marker + text + ("\n" if marker else "\n\n"))
    return title


class _Lists:
    """List items' markers, as Markdown writes them: a number in a numbered list, a dash in a bulleted one. Word
    marks an item by its numbering (a definition whose format is "bullet" or a number format) or only by its style
    ("List Number", "List Bullet 2"); it counts a list's items through the whole document, from the level's start
    (or the list's own "restart at"), and starts a level again after an item of a level above it."""

    def __init__(self, document: docx.document.Document) -> None:
        self._formats: dict[tuple[str, str], str] = {}  # (numId, level) -> numFmt
        self._starts: dict[tuple[str, str], int] = {}  # (numId, level) -> its first number
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            numbering = None
        if numbering is not None:
            abstract = {a.get(_W + "abstractNumId"): a for a in numbering.findall(_W + "abstractNum")}
            for num in numbering.findall(_W + "num"):
                ref, number = num.find(_W + "abstractNumId"), str(num.get(_W + "numId"))
                definition = abstract.get(ref.get(_W + "val")) if ref is not None else None
                for level in definition.findall(_W + "lvl") if definition is not None else []:
                    key = (number, str(level.get(_W + "ilvl")))
                    self._formats[key] = _value(level.find(_W + "numFmt")) or "decimal"
                    self._starts[key] = _number(_value(level.find(_W + "start")))
                for override in num.findall(_W + "lvlOverride"):
                    if (restart := _value(override.find(_W + "startOverride"))) is not None:
                        self._starts[(number, str(override.get(_W + "ilvl")))] = _number(restart)
        self._counts: dict[tuple[str, str], int] = {}
        self._open = False

    def marker(self, paragraph: Paragraph, style: str) -> str:
        fmt, key = self._format(paragraph, style)
        self._open = fmt not in (None, "none")
        if not self._open:
            return ""  # no list item, or one Word shows without a marker
        level = int(key[1]) if key[1].isdigit() else 0
        for deeper in [k for k in self._counts if k[0] == key[0] and k[1].isdigit() and int(k[1]) > level]:
            del self._counts[deeper]
        indent = "   " * level
        if fmt == "bullet":
            return indent + "- "
        self._counts[key] = self._counts.get(key, self._starts.get(key, 1) - 1) + 1
        return f"{indent}{self._counts[key]}. "

    @property
    def open(self) -> bool:
        """Whether the paragraph before was a list item."""
        return self._open

    def end(self) -> None:
        """A heading or a table: the paragraph after it follows no list item."""
        self._open = False

    def _format(self, paragraph: Paragraph, style: str) -> tuple[str | None, tuple[str, str]]:
        numbering = paragraph._p.find(f"{_W}pPr/{_W}numPr")
        number = numbering.find(_W + "numId") if numbering is not None else None
        if number is not None and number.get(_W + "val") not in (None, "0"):  # numId 0: numbering taken off
            level = numbering.find(_W + "ilvl")
            key = (str(number.get(_W + "val")), str(level.get(_W + "val")) if level is not None else "0")
            fmt = self._formats.get(key) or self._formats.get((key[0], "0"), "decimal")  # a level it lacks: its first
            return fmt, key
        if style.startswith("List Bullet"):
            return "bullet", ("style", "0")
        if style.startswith("List Number"):
            return "decimal", ("style", "0")
        return None, ("", "")


def _value(element: object) -> str | None:
    return element.get(_W + "val") if element is not None else None  # type: ignore[attr-defined]


def _number(value: str | None) -> int:
    return int(value) if value is not None and value.isdigit() else 1


def _table(table: Table) -> str:
    return markdown_table([[cell.text for cell in row.cells] for row in table.rows])
