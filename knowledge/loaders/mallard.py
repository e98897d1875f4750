"""Mallard (.page, GNOME help) via lxml: `<title>` names the page, `<section><title>` gives the headings."""

from __future__ import annotations

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


def load(data: bytes, path: Path) -> Document:
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as error:
        raise LoadError(f"it is not well-formed XML ({error}); check the file with `yelp-check validate`") from None
    if etree.QName(root).localname != "page":
        raise LoadError(f"it is not a Mallard page (its root element is <{etree.QName(root).localname}>)")
    builder = SectionBuilder()
    title = _page_title(root)
    _read(root, builder, level=1)
    return Document(title=title or title_from_path(path), sections=builder.build())


def _page_title(root: etree._Element) -> str:
    for child in root:
        if _name(child) == "title":
            return _text(child)
    return ""


def _read(element: etree._Element, builder: SectionBuilder, *, level: int) -> None:
    for child in element:
        name = _name(child)
        if name in _SKIPPED or name == "":
            continue
        if name == "section":
            heading = next((c for c in child if _name(c) == "title"), None)
            builder.heading(level, _text(heading) if heading is not None else "")
            _read(child, builder, level=level + 1)
        elif name == "title" and _name(element) in ("page", "section"):
            continue  # the page title and section headings are already the document's structure
        elif name in _CONTAINERS and any(_name(c) in _BLOCKS for c in child):
            _read(child, builder, level=level)
        else:
            text = _text(child, verbatim=name in _VERBATIM)
            if text:
                builder.add(text + "\n\n")


def _name(element: etree._Element) -> str:
    """The local name of an element; "" for XML comments and processing instructions."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _text(element: etree._Element, *, verbatim: bool = False) -> str:
    parts: list[str] = []
    _collect(element, parts)
    text = "".join(parts)
    return text.strip("\n") if verbatim else " ".join(text.split())


def _collect(element: etree._Element, parts: list[str]) -> None:
    """Inline text in reading order, leaving out editors' comments nested anywhere."""
    if element.text and isinstance(element.tag, str):
        parts.append(element.text)
    for child in element:
        if _name(child) not in _SKIPPED and _name(child) != "":
            _collect(child, parts)
        if child.tail:
            parts.append(child.tail)
