"""PDF via pypdf: text page by page; the outline (bookmarks), where there is one, gives the headings."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from knowledge.documents import Document, Section
from knowledge.loaders.common import LoadError, title_from_path


def load(data: bytes, path: Path) -> Document:
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("the PDF is encrypted (password protected); save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        headings = _outline_headings(reader)
        metadata_title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise LoadError(f"the PDF is damaged or unreadable ({type(error).__name__}: {error})") from None
    except Exception as error:  # pypdf raises assorted errors on corrupt files; none may end a sync
        raise LoadError(f"the PDF could not be parsed ({type(error).__name__}: {error})") from None
    first_line = next((line.strip() for text in pages for line in text.splitlines() if line.strip()), "")
    title = metadata_title.strip() or (first_line if len(first_line) <= 80 else "") or title_from_path(path)
    return Document(title=title, sections=_sections(pages, headings))


def _outline_headings(reader: PdfReader) -> dict[int, str]:
    """Page index -> the first top-level bookmark that starts on it."""
    found: dict[int, str] = {}
    try:
        outline: list[Any] = list(reader.outline)
        for item in outline:
            if isinstance(item, list):
                continue  # nested bookmarks: the top level is enough to cite a section
            page = reader.get_destination_page_number(item)
            if page is not None and page >= 0:
                found.setdefault(page, str(item.title))
    except Exception:  # a broken outline costs the headings, never the text
        return {}
    return found


def _sections(pages: list[str], headings: dict[int, str]) -> tuple[Section, ...]:
    sections: list[Section] = []
    current: tuple[str, ...] = ()
    for index, text in enumerate(pages):
        if index in headings:
            current = (headings[index],)
        heading = current or (f"Page {index + 1}",)
        if not text.strip():
            continue
        if sections and sections[-1].heading_path == heading:
            sections[-1] = Section(heading, sections[-1].text + "\n\n" + text)
        else:
            sections.append(Section(heading, text))
    return tuple(sections)
