"""The gnome-help benchmark's questions: page titles and descriptions per language, and exact-term lookups."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from knowledge.evaluation import Question
from knowledge.loaders import LoadError, load_document

LANGUAGES = ("de", "es", "fr", "ja", "ko", "pt", "zh_CN")
MALLARD = "{http://projectmallard.org/1.0/}"
# Inline elements naming one exact thing: an application, a command, a system name, a file, code.
TERM_ELEMENTS = ("app", "cmd", "sys", "file", "code")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def title_and_desc(page: Path) -> tuple[str, str]:
    """A page's own title and its `<desc>` blurb, whitespace collapsed; "" where missing or unreadable."""
    try:
        root = etree.parse(str(page), _PARSER).getroot()
    except (OSError, etree.XMLSyntaxError):
        return "", ""
    title, desc = root.find(f"{MALLARD}title"), root.find(f"{MALLARD}info/{MALLARD}desc")
    return _flat(title), _flat(desc)


def query_text(title: str, desc: str) -> str:
    if not desc:
        return title
    return f"{title} {desc}" if re.search(r"[.?!。？！:：]$", title) else f"{title}. {desc}"


def translated_questions(help_dir: Path, names: list[str]) -> tuple[list[Question], dict[str, int]]:
    """English questions for every page, translated ones only where really translated (title and description
    both differ from the English); and per language the number of pages left out as untranslated."""
    questions: list[Question] = []
    untranslated = dict.fromkeys(LANGUAGES, 0)
    for name in names:
        english = title_and_desc(help_dir / "C" / "gnome-help" / name)
        if not english[0]:
            continue
        questions.append(Question(query_text(*english), "en", name))
        for language in LANGUAGES:
            translated = title_and_desc(help_dir / language / "gnome-help" / name)
            if translated[0] and all(t != e for t, e in zip(translated, english, strict=True) if e):
                questions.append(Question(query_text(*translated), language, name))
            else:
                untranslated[language] += 1
    return questions, untranslated


def term_questions(pages: Path, names: list[str]) -> list[Question]:
    """Language "terms": each product, command or file name (`<app>`, `<cmd>`, `<sys>`, `<file>`, `<code>`, four
    characters or more) whose text occurs in exactly one indexed page, asked bare, as someone pastes an error
    or a command; the gold is that page. This is what embeddings blur and words find."""
    texts = {name: _indexed_text(pages / name) for name in names}
    found: dict[str, str] = {}
    for name in names:
        root = etree.parse(str(pages / name), _PARSER).getroot()
        for element in root.iter(*(MALLARD + tag for tag in TERM_ELEMENTS)):
            if any(etree.QName(a).localname in ("comment", "info") for a in element.iterancestors()):
                continue
            term = _flat(element)
            if len(term) >= 4 and sum(term.lower() in text for text in texts.values()) == 1:
                found.setdefault(term, name)
    return [Question(term, "terms", name) for term, name in sorted(found.items())]


def _indexed_text(page: Path) -> str:
    try:
        document = load_document(page.read_bytes(), page)
    except LoadError:
        return ""
    return "\n".join([document.title, *(" ".join(s.heading_path) + "\n" + s.text for s in document.sections)]).lower()


def _flat(element: etree._Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""
