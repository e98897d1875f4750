"""reStructuredText via docutils: the doctree's sections give the headings, its text the content."""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.core import publish_doctree
from docutils.utils import SystemMessage

from knowledge.documents import Document
from knowledge.loaders.common import LoadError, SectionBuilder, decode_text, markdown_table, title_from_path

# Quiet (no warnings on stderr) and never halting: a sloppy page still yields its text.
_SETTINGS = {"report_level": 5, "halt_level": 5, "file_insertion_enabled": False, "raw_enabled": False}


def load(data: bytes, path: Path) -> Document:
    text = decode_text(data)
    try:
        tree = publish_doctree(text, source_path=str(path), settings_overrides=_SETTINGS)
    except (SystemMessage, ValueError) as error:
        raise LoadError(f"it is not valid reStructuredText ({error})") from None
    title_node = next(iter(tree.findall(nodes.title)), None)
    builder = SectionBuilder()
    _walk(tree, builder, level=1)
    title = tree.get("title") or (title_node.astext() if title_node else None)
    return Document(title=title or title_from_path(path), sections=builder.build())


def _walk(node: nodes.Element, builder: SectionBuilder, *, level: int) -> None:
    for child in node.children:
        if isinstance(child, nodes.section):
            title = child.next_node(nodes.title)
            builder.heading(level, title.astext() if title else "")
            _walk(child, builder, level=level + 1)
        elif isinstance(child, nodes.title) and isinstance(node, nodes.document):
            builder.heading(0, child.astext())
        elif isinstance(child, nodes.title | nodes.comment | nodes.system_message | nodes.substitution_definition):
            continue
        elif isinstance(child, nodes.Element):
            builder.add(_markdown(child).strip("\n") + "\n\n")


def _markdown(node: nodes.Element) -> str:
    """A block as Markdown writes it, so it reads as a Markdown page's does: list items with their markers (an
    enumerated list's numbers, so steps are quoted as steps), a literal block fenced with its spaces, ``code`` in
    backticks, **strong** kept, a table as a Markdown table (its rows quoted with their header); anything else as
    its text."""
    if isinstance(node, nodes.paragraph):
        return _inline(node)
    if isinstance(node, nodes.bullet_list | nodes.enumerated_list):
        start = int(node.get("start", 1)) if isinstance(node, nodes.enumerated_list) else None
        items = [child for child in node.children if isinstance(child, nodes.list_item)]
        return "\n".join(_item("- " if start is None else f"{start + n}. ", item) for n, item in enumerate(items))
    if isinstance(node, nodes.literal_block):
        return "```\n" + node.astext() + "\n```"
    if isinstance(node, nodes.table):
        return _table(node) or node.astext()
    return node.astext()


def _item(marker: str, item: nodes.list_item) -> str:
    """A list item: its marker, then its blocks, each line after the first indented under the marker."""
    text = "\n\n".join(_markdown(child) for child in item.children if isinstance(child, nodes.Element))
    return marker + text.replace("\n", "\n" + " " * len(marker)).replace(" " * len(marker) + "\n", "\n")


def _inline(node: nodes.Element) -> str:
    parts = []
    for child in node.children:
        if isinstance(child, nodes.literal):
            parts.append(f"`{child.astext()}`")
        elif isinstance(child, nodes.strong):
            parts.append(f"**{child.astext()}**")
        else:
            parts.append(child.astext())
    return "".join(parts)


def _table(table: nodes.table) -> str:
    return markdown_table([[entry.astext() for entry in row.findall(nodes.entry)] for row in table.findall(nodes.row)])
