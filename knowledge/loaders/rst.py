"""reStructuredText via docutils: the doctree's sections give the headings, its text the content."""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.core import publish_doctree
from docutils.utils import SystemMessage

from knowledge.documents import Document
from knowledge.loaders.common import LoadError, SectionBuilder, decode_text, title_from_path

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
            builder.add(child.astext().strip() + "\n\n")
