"""HTML via BeautifulSoup (lxml): page chrome dropped, h1-h6 give the headings, blocks keep their breaks."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Doctype, PageElement, ProcessingInstruction

from knowledge.documents import Document
from knowledge.loaders.common import SectionBuilder, decode_text, title_from_path

_CHROME = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg"]
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = {
    "p", "div", "li", "pre", "blockquote", "td", "th", "dd", "dt", "tr", "table", "ul", "ol",
    "section", "article", "main", "figcaption", "br", "hr", "body",
}  # fmt: skip


def load(data: bytes, path: Path) -> Document:
    soup = BeautifulSoup(decode_text(data), "lxml")
    for tag in soup.find_all(_CHROME):
        tag.decompose()
    root = soup.body or soup
    first_h1 = root.find("h1")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    title = (first_h1.get_text(" ", strip=True) if first_h1 else "") or page_title or title_from_path(path)
    builder = SectionBuilder()
    last_block: Tag | None = None
    for node in root.descendants:
        if isinstance(node, Tag) and node.name in _HEADINGS:
            builder.heading(_HEADINGS[node.name], node.get_text(" ", strip=True))
            last_block = node
        elif _is_text(node) and not _inside_heading(node):
            block = _block_of(node)
            if block is not last_block:
                builder.add("\n\n" if block is not None and block.name != "td" else " ")
                last_block = block
            builder.add(" ".join(str(node).split()) + " " if str(node).strip() else "")
    return Document(title=title, sections=builder.build())


def _is_text(node: object) -> bool:
    return isinstance(node, NavigableString) and not isinstance(node, Comment | Doctype | ProcessingInstruction)


def _inside_heading(node: PageElement) -> bool:
    return any(parent.name in _HEADINGS for parent in node.parents)


def _block_of(node: PageElement) -> Tag | None:
    return next((parent for parent in node.parents if parent.name in _BLOCKS), None)
