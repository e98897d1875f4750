"""HTML via BeautifulSoup (lxml): page chrome dropped, h1-h6 give the headings, blocks keep their breaks."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Doctype, PageElement, ProcessingInstruction

from knowledge.documents import Document
from knowledge.loaders.common import SectionBuilder, decode_text, markdown_table, title_from_path

_CHROME = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg"]
_SPACES = re.compile(r"\s+")
# What a table holding these is laid out with, not data: it is read as the rest of the page is, cell by cell.
_LAYOUT = ["table", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "pre", "blockquote"]
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
    page_title = _inline(soup.title) if soup.title else ""
    title = (_inline(first_h1) if first_h1 else "") or page_title or title_from_path(path)
    builder = SectionBuilder()
    last_block: Tag | None = None
    marked: set[int] = set()  # the list items whose marker is written
    numbers: dict[int, dict[int, int]] = {}  # per ordered list, each item's place in it (counted once per list)
    written: set[int] = set()  # the tables and code blocks written whole
    for node in root.descendants:
        if written and any(id(parent) in written for parent in node.parents):
            continue  # written with its table or code block
        if isinstance(node, Tag) and (node.name == "pre" or (node.name == "table" and _holds_data(node))):
            builder.add("\n\n" + (_fenced(node) if node.name == "pre" else _markdown_table(node)) + "\n\n")
            written.add(id(node))
            last_block = node
        elif isinstance(node, Tag) and node.name in _HEADINGS:
            builder.heading(_HEADINGS[node.name], _inline(node))
            last_block = node
        elif _is_text(node) and not _inside_heading(node):
            # Spaces as the page has them, each run as one: "install <em>Acme Print</em>." reads "install Acme
            # Print." (each string with a space after it read "install Acme Print .").
            text = _SPACES.sub(" ", str(node))
            if node.parent is not None and node.parent.name == "code" and len(node.parent.contents) == 1:
                text = f"`{text.strip()}`" if text.strip() else text  # as Markdown marks a command or an address
            block = _block_of(node)
            if block is not last_block:
                text = text.lstrip()
                if not text:
                    continue  # the spaces between two blocks
                item = node.find_parent("li")
                separator = "\n\n"
                if item is not None and id(item) not in marked:  # an item's first words: its marker before them
                    marked.add(id(item))
                    before = _item_of(last_block)
                    separator = "\n" if before is not None and before.parent is item.parent else "\n\n"
                    text = _marker(item, numbers) + text
                elif item is not None and _item_of(block) is item:  # its next paragraph, indented as Markdown does
                    separator, text = "\n", "   " + text
                builder.add(separator)
                last_block = block
            builder.add(text)
    return Document(title=title, sections=builder.build())


def _inline(tag: Tag) -> str:
    """A heading's or title's words, spaced as the page spaces them (a line break is a space)."""
    parts = [" " if isinstance(node, Tag) and node.name == "br" else str(node) for node in tag.descendants
             if (isinstance(node, Tag) and node.name == "br") or _is_text(node)]  # fmt: skip
    return " ".join("".join(parts).split())


def _fenced(pre: Tag) -> str:
    """A <pre> block as a Markdown code fence, its lines as they are (a command's spaces are its meaning)."""
    return "```\n" + pre.get_text().strip("\n") + "\n```"


def _item_of(block: Tag | None) -> Tag | None:
    """The list item a block is (or is in), if any."""
    if block is None or block.name == "li":
        return block
    return block.find_parent("li")


def _holds_data(table: Tag) -> bool:
    """Whether a table holds data (rows of cells), not a page's layout (headings, lists or tables in its cells)."""
    return table.find(_LAYOUT) is None


def _markdown_table(table: Tag) -> str:
    """A table of data as a Markdown table, its cells' words spaced as the page spaces them."""
    return markdown_table([[_inline(cell) for cell in row.find_all(["td", "th"], recursive=False)]
                           for row in table.find_all("tr")])  # fmt: skip


def _marker(item: Tag, numbers: dict[int, dict[int, int]]) -> str:
    """A list item's marker, as Markdown writes it: its number in an ordered list (from the list's `start`), a dash
    in any other; so a page's steps keep their numbers in an answer, as a Markdown page's do. `numbers` keeps each
    list's items' places, counted on its first item: counting them for each item made a long list's load quadratic
    (benchmarks/html_lists.py)."""
    parent = item.parent
    if not isinstance(parent, Tag) or parent.name != "ol":
        return "- "
    try:
        start = int(str(parent.get("start", "1")))
    except ValueError:
        start = 1
    if id(parent) not in numbers:
        siblings = [child for child in parent.children if isinstance(child, Tag) and child.name == "li"]
        numbers[id(parent)] = {id(child): i for i, child in enumerate(siblings)}
    return f"{start + numbers[id(parent)][id(item)]}. "


def _is_text(node: object) -> bool:
    return isinstance(node, NavigableString) and not isinstance(node, Comment | Doctype | ProcessingInstruction)


def _inside_heading(node: PageElement) -> bool:
    return any(parent.name in _HEADINGS for parent in node.parents)


def _block_of(node: PageElement) -> Tag | None:
    return next((parent for parent in node.parents if parent.name in _BLOCKS), None)
