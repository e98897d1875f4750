"""PDF via pypdf: text page by page, without the running headers and footers every page repeats; the outline
(bookmarks), where there is one, gives the headings, else the text's own numbered section headings, else the page
numbers."""

from __future__ import annotations

import re
from collections import Counter
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
    pages = without_running_lines(pages)
    first_line = next((line.strip() for text in pages for line in text.splitlines() if line.strip()), "")
    title = metadata_title.strip() or (first_line if len(first_line) <= 80 else "") or title_from_path(path)
    numbered = None if headings else _numbered_sections(pages)  # bookmarks, where there are some, say it best
    return Document(title=title, sections=numbered or _sections(pages, headings))


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


EDGE_LINES = 2  # lines at the top and at the bottom of a page where a running header or footer stands
_DIGITS = re.compile(r"\d+")


def without_running_lines(pages: list[str]) -> list[str]:
    """The pages without their running headers and footers: a line among a page's first or last EDGE_LINES that,
    its numbers aside, stands at the top or the bottom of more than half the pages (two at least). "Expense Policy
    v3.1 - Page 1 of 2" and "Acme Corp - Finance - Internal" are no part of any section, yet each was a unit an
    answer could quote: the German question on a company pension was answered with both footers. A document of one
    page keeps all of its lines (nothing tells a header from a first line there)."""
    if len(pages) < 2:
        return pages
    lines = [text.splitlines() for text in pages]
    seen: Counter[str] = Counter()
    for page in lines:
        seen.update({_running_key(page[i]) for i in _edges(page)})
    least = max(2, len(pages) // 2 + 1)
    running = {key for key, count in seen.items() if count >= least and key}
    if not running:
        return pages
    kept = []
    for text, page in zip(pages, lines, strict=True):
        cut = {i for i in _edges(page) if _running_key(page[i]) in running}  # the edges only, not their equals
        kept.append("\n".join(line for i, line in enumerate(page) if i not in cut) + "\n" * text.endswith("\n"))
    return kept


def _edges(page: list[str]) -> list[int]:
    """The indexes of a page's first and last EDGE_LINES lines that hold text."""
    filled = [i for i, line in enumerate(page) if line.strip()]
    return filled[:EDGE_LINES] + filled[EDGE_LINES:][-EDGE_LINES:]


def _running_key(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split()).casefold())


_NUMBERED = re.compile(r"^\s*(\d{1,2})\.?\s+(\S.*?)\s*$")
MAX_HEADING_WORDS = 6


def _numbered_sections(pages: list[str]) -> tuple[Section, ...] | None:
    """A PDF without bookmarks whose text numbers its sections ("1. Purpose and scope" ... "4. Limits"): one
    section per numbered heading, across page breaks, so a passage is about one section and cites it ("Page 2" held
    the limits table, taxis and what is not reimbursed in one blur). A heading is a short line, numbered one more
    than the last heading, not followed at once by the next number (that is a numbered list: "1. Open the app" /
    "2. Sign in"). None when fewer than two are found."""
    lines = [line for text in pages for line in text.splitlines()]
    starts: list[tuple[int, str]] = []
    expected = 1
    for index, line in enumerate(lines):
        match = _NUMBERED.match(line)
        if not match or int(match.group(1)) != expected or not _heading_like(match.group(2)):
            continue
        following = next((other for other in lines[index + 1 :] if other.strip()), "")
        listed = _NUMBERED.match(following)
        if listed and int(listed.group(1)) == expected + 1:
            continue
        starts.append((index, line.strip()))
        expected += 1
    if len(starts) < 2:
        return None
    sections: list[Section] = []
    if "\n".join(lines[: starts[0][0]]).strip():
        sections.append(Section(("Page 1",), "\n".join(lines[: starts[0][0]])))
    for number, (start, heading) in enumerate(starts):
        end = starts[number + 1][0] if number + 1 < len(starts) else len(lines)
        sections.append(Section((heading,), "\n".join(lines[start + 1 : end])))
    return tuple(sections)


def _heading_like(text: str) -> bool:
    words = text.split()
    return (0 < len(words) <= MAX_HEADING_WORDS and words[0][:1].isupper()
            and not text.endswith((".", ",", ";", ":")))  # fmt: skip


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
