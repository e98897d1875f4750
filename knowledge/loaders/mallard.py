"""Mallard (.page, GNOME help) via lxml: `<title>` names the page, `<section><title>` gives the headings. Inline
text reads as Yelp shows it: `<keyseq>` as "Ctrl+P", `<guiseq>` as "Settings ▸ Network", and a link with no words
of its own (`See <link xref="sound-alert"/> to ...`) as its target's title, which Yelp fills in."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from lxml import etree

from knowledge.documents import Document
from knowledge.loaders.common import LoadError, SectionBuilder, title_from_path

MALLARD = "http://projectmallard.org/1.0/"
# Elements that hold other blocks: read child by child so paragraphs keep their breaks.
_CONTAINERS = {
    "steps", "list", "terms", "tree", "item", "note", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
    "media", "figure", "example", "quote", "listing", "synopsis", "div", "links", "choose", "when", "else",
}  # fmt: skip
_BLOCKS = _CONTAINERS | {"p", "code", "screen", "title", "subtitle", "desc", "section", "comment", "info", "cite"}
_VERBATIM = {"code", "screen"}  # whitespace there is meaning (commands, output)
# Never content: <info> is metadata (credits, revisions, links, the <desc> blurb shown in link lists) and
# <comment> holds editors' notes to each other ("Incomplete for now"), not help for readers.
_SKIPPED = {"info", "comment"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_PAGE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")  # a page beside this one: never a path elsewhere
GUI_JOIN = " ▸ "  # what Yelp puts between the parts of a <guiseq>
# A link with no words of its own (self-closed, or with only spaces inside; its xref in either quotes, as XML
# allows), and what is never shown.
_WORDLESS_LINK = re.compile(rb"""<link\b[^>]*?\sxref\s*=\s*(?:"([^"]+)"|'([^']+)')[^>]*?(?:/>|>\s*</link>)""")
_UNSHOWN = re.compile(rb"<(info|comment)\b[^>]*(?<!/)>.*?</\1>", re.DOTALL)


def load(data: bytes, path: Path) -> Document:
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as error:
        raise LoadError(f"it is not well-formed XML ({error}); check the file with `yelp-check validate`") from None
    if etree.QName(root).localname != "page":
        raise LoadError(f"it is not a Mallard page (its root element is <{etree.QName(root).localname}>)")
    builder = SectionBuilder()
    page = _Page(root, path)
    _read(root, builder, page, level=1)
    return Document(title=_page_title(root, page) or title_from_path(path), sections=builder.build())


class _Page:
    """What reading a page's inline text needs beyond its elements: where it is, for its links' titles."""

    def __init__(self, root: etree._Element, path: Path) -> None:
        self.root = root
        self.path = path

    def link_text(self, link: etree._Element) -> str:
        """A link's words where it has none: its target's title (the page's, or its section's after "#"), as Yelp
        shows it; the address itself for a web link; the target's id when the page is not beside this one."""
        xref, href = link.get("xref"), link.get("href")
        if not xref:
            return href or ""
        page_id, _, section = xref.partition("#")
        if not page_id:
            titles = _titles(self.root)
        elif _PAGE_ID.match(page_id) and (target := self.path.parent / f"{page_id}.page").is_file():
            titles = _file_titles(str(target), target.stat().st_mtime_ns)
        else:
            titles = {}
        return titles.get(section) or (titles.get("") if not section else "") or xref


def _titles(root: etree._Element) -> dict[str, str]:
    """A page's title (key "") and its sections' titles by their ids."""
    found = {"": _page_title(root, None)}
    for section in root.iter(f"{{{MALLARD}}}section"):
        heading = next((c for c in section if _name(c) == "title"), None)
        if section.get("id") and heading is not None:
            found[section.get("id")] = _text(heading, None)
    return found


def borrowed_titles(data: bytes, path: Path) -> bytes:
    """The titles a page's text borrows from the pages beside it (a link with no words shows its target's title), as
    `xref=title` lines: what the page reads as changes when one of them does, though its own file does not (sync
    adds them to its digest). Found by a pattern rather than a parse, at every sync of every page: a link in <info>
    or a <comment>, never shown, is left out; a page that is not well-formed gives what its pattern finds."""
    shown = _UNSHOWN.sub(b"", data)
    page = _Page(etree.Element("page"), path)
    found = sorted({(double or single).decode("utf-8", "replace") for double, single in _WORDLESS_LINK.findall(shown)})
    lines = [f"{xref}={page.link_text(etree.Element('link', xref=xref))}" for xref in found if not xref.startswith("#")]
    return "\n".join(lines).encode()


@functools.lru_cache(maxsize=4096)
def _file_titles(path: str, mtime_ns: int) -> dict[str, str]:  # the modification time keys a changed file anew
    try:
        return _titles(etree.fromstring(Path(path).read_bytes(), parser=_PARSER))
    except (OSError, etree.XMLSyntaxError):
        return {}


def _page_title(root: etree._Element, page: _Page | None) -> str:
    for child in root:
        if _name(child) == "title":
            return _text(child, page)
    return ""


def _read(element: etree._Element, builder: SectionBuilder, page: _Page, *, level: int) -> None:
    for child in element:
        name = _name(child)
        if name in _SKIPPED or name == "":
            continue
        if name == "section":
            heading = next((c for c in child if _name(c) == "title"), None)
            builder.heading(level, _text(heading, page) if heading is not None else "")
            _read(child, builder, page, level=level + 1)
        elif name == "title" and _name(element) in ("page", "section"):
            continue  # the page title and section headings are already the document's structure
        elif name in _CONTAINERS and any(_name(c) in _BLOCKS for c in child):
            _read(child, builder, page, level=level)
        else:
            text = _text(child, page, verbatim=name in _VERBATIM)
            if text:
                builder.add(text + "\n\n")


def _name(element: etree._Element) -> str:
    """The local name of an element; "" for XML comments and processing instructions."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _text(element: etree._Element, page: _Page | None, *, verbatim: bool = False) -> str:
    parts: list[str] = []
    _collect(element, parts, page)
    text = "".join(parts)
    return text.strip("\n") if verbatim else " ".join(text.split())


def _collect(element: etree._Element, parts: list[str], page: _Page | None) -> None:
    """Inline text in reading order, leaving out editors' comments nested anywhere; a key or menu sequence joined
    as Yelp joins it, a link with no words given its target's title."""
    name = _name(element)
    if name in ("keyseq", "guiseq"):
        pieces = []
        for child in element:
            if _name(child) not in _SKIPPED and _name(child) != "":
                piece: list[str] = []
                _collect(child, piece, page)
                pieces.append(" ".join("".join(piece).split()))
        if any(pieces):
            joiner = element.get("join") or (GUI_JOIN if name == "guiseq" else
                                              " " if element.get("type") == "sequence" else "+")  # fmt: skip
            parts.append(joiner.join(filter(None, pieces)))
            return
    if name == "link" and page is not None and not (element.text or "").strip() and not len(element):
        parts.append(page.link_text(element))
        return
    if element.text and isinstance(element.tag, str):
        parts.append(element.text)
    for child in element:
        if _name(child) not in _SKIPPED and _name(child) != "":
            _collect(child, parts, page)
        if child.tail:
            parts.append(child.tail)
