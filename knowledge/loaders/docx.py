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
from knowledge.loaders.common import LoadError, SectionBuilder, title_from_path

_HEADING = re.compile(r"^Heading (\d)$")


def load(data: bytes, path: Path) -> Document:
    try:
        document = docx.Document(BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise LoadError(f"it is not a readable DOCX file ({type(error).__name__}: {error})") from None
    builder = SectionBuilder()
    title = (document.core_properties.title or "").strip() or None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows]
            builder.add("\n".join(rows) + "\n\n")
        elif isinstance(block, Paragraph):
            title = _paragraph(block, builder, title)
    return Document(title=title or title_from_path(path), sections=builder.build())


def _paragraph(paragraph: Paragraph, builder: SectionBuilder, title: str | None) -> str | None:
    style = paragraph.style.name if paragraph.style is not None else ""
    text = paragraph.text
    heading = _HEADING.match(style or "")
    if style == "Title":
        builder.heading(0, text)
        return title or text.strip()
    if heading:
        builder.heading(int(heading.group(1)), text)
        return title or (text.strip() if heading.group(1) == "1" else None)
    if text.strip():
        builder.add(text + "\n\n")
    return title
