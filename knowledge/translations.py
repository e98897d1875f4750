"""Translations: which documents of a collection are one page in several languages, decided at sync and stored, so
retrieval gives one passage per page, in the asker's language where the page exists in it.

Two documents are translations of one another when they have the same file name in sibling folders (`it/vpn.md`,
`de/vpn.md`, `ja/vpn.md`) and their text is in different languages, or when one says so in its front matter
(`translation_of: ../it/vpn.md`). A folder's name never tells the language (`it/` is the IT department); the
text does (`lang:` in the front matter overrides it)."""

from __future__ import annotations

import posixpath
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Engine, String, Table, delete, func, insert, select, update

from knowledge.database import METADATA
from knowledge.lexical_store import lexical_chunks

page_languages = Table(
    "page_languages", METADATA,
    Column("collection", String(64), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("language", String(8), nullable=True),  # ISO 639-1; None when the text does not tell
    Column("declared", String(1024), nullable=True),  # front matter `translation_of:`, as written
    Column("page", String(1024), nullable=False),  # shared by a page's translations: the path itself when alone
)  # fmt: skip

DETECTED_CHARS = 3000  # the start of a page tells its language; the rest only costs time
DECLARED_DEPTH = 8  # translation_of chains followed this far (a cycle ends there)


@dataclass(frozen=True)
class PageLanguage:
    """One document, the language its text is in, and the page it is a version of."""

    path: str
    language: str | None
    page: str


def group(documents: Mapping[str, tuple[str | None, str | None]]) -> dict[str, str]:
    """Each document's page: {path: (language, declared translation_of)} -> {path: page key}.

    The same file name in sibling folders, every one's language known and all of them different, is one page; a
    `translation_of:` (relative to the declaring file, else to the collection) joins the page it names."""
    pages = {path: path for path in documents}
    siblings: dict[tuple[str, str], list[str]] = {}
    for path in documents:
        folder, name = posixpath.split(path)
        if folder:  # a file at the top of a collection has no sibling folders
            siblings.setdefault((posixpath.dirname(folder), name), []).append(path)
    for members in siblings.values():
        languages = [documents[path][0] for path in members]
        if len(members) > 1 and None not in languages and len(set(languages)) == len(languages):
            key = min(members)
            for path in members:
                pages[path] = key
    for path in documents:
        target, seen = path, 0
        while (declared := _declared_target(target, documents)) is not None and seen < DECLARED_DEPTH:
            target, seen = declared, seen + 1
        if target != path:
            pages[path] = pages[target]
    return pages


def relative_path(path: str, target: str) -> str:
    """The path a link `target` written in the document at `path` names: "../hr/sick-leave.md" from
    "de/krankmeldung.md" is "hr/sick-leave.md"."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), target))


def _declared_target(path: str, documents: Mapping[str, tuple[str | None, str | None]]) -> str | None:
    declared = documents[path][1]
    if not declared:
        return None
    for candidate in (relative_path(path, declared), posixpath.normpath(declared.lstrip("/"))):
        if candidate in documents and candidate != path:
            return candidate
    return None


class Translations:
    """Each synced document's language and page, per collection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, collection: str, path: str, *, language: str | None, declared: str | None) -> None:
        """A document just synced: its language and declared original (its page is settled by `regroup`)."""
        key = (page_languages.c.collection == collection) & (page_languages.c.path == path)
        with self._engine.begin() as db:
            db.execute(delete(page_languages).where(key))
            db.execute(insert(page_languages).values(collection=collection, path=path, language=language,
                                                     declared=declared, page=path))  # fmt: skip

    def recorded(self, collection: str) -> set[str]:
        """The paths of the collection's documents whose language (and declared original) are kept."""
        with self._engine.connect() as db:
            return set(db.scalars(select(page_languages.c.path).where(page_languages.c.collection == collection)))

    def regroup(self, collection: str, live: Iterable[str], detect: Callable[[str], str | None] | None) -> None:
        """After a sync: rows of documents gone are dropped, documents synced before languages were kept get theirs
        from their stored text, and every document's page is settled again (a new translation changes others')."""
        live = set(live)
        c = page_languages.c
        with self._engine.begin() as db:
            rows = {r.path: (r.language, r.declared) for r in db.execute(
                select(c.path, c.language, c.declared).where(c.collection == collection))}  # fmt: skip
            gone = [path for path in rows if path not in live]
            for start in range(0, len(gone), 500):
                db.execute(delete(page_languages).where(c.collection == collection,
                                                        c.path.in_(gone[start:start + 500])))  # fmt: skip
            for path in sorted(live - set(rows)):
                language = detect(self._stored_text(db, collection, path)) if detect else None
                db.execute(insert(page_languages).values(collection=collection, path=path, language=language,
                                                         declared=None, page=path))  # fmt: skip
                rows[path] = (language, None)
            documents = {path: rows[path] for path in live if path in rows}
            pages = {r.path: r.page for r in db.execute(select(c.path, c.page).where(c.collection == collection))}
            for path, page in group(documents).items():
                if pages.get(path) != page:
                    db.execute(update(page_languages).where(c.collection == collection, c.path == path)
                               .values(page=page))  # fmt: skip

    def versions(self, collection: str, paths: Sequence[str]) -> list[PageLanguage]:
        """Every version of the pages `paths` belong to (the documents themselves included), path order."""
        c = page_languages.c
        pages = select(c.page).where(c.collection == collection, c.path.in_(list(paths)))
        query = (select(c.path, c.language, c.page).where(c.collection == collection, c.page.in_(pages))
                 .order_by(c.path))  # fmt: skip
        with self._engine.connect() as db:
            return [PageLanguage(r.path, r.language, r.page) for r in db.execute(query)]

    def languages(self, collection: str) -> dict[str, int]:
        """How many of the collection's documents are in each language (those whose language is known)."""
        c = page_languages.c
        query = (select(c.language, func.count()).where(c.collection == collection, c.language.is_not(None))
                 .group_by(c.language))  # fmt: skip
        with self._engine.connect() as db:
            return {language: count for language, count in db.execute(query)}

    def of(self, collection: str) -> list[PageLanguage]:
        """Every document of the collection with its language and page, path order."""
        c = page_languages.c
        query = select(c.path, c.language, c.page).where(c.collection == collection).order_by(c.path)
        with self._engine.connect() as db:
            return [PageLanguage(r.path, r.language, r.page) for r in db.execute(query)]

    @staticmethod
    def _stored_text(db: Connection, collection: str, path: str) -> str:
        c = lexical_chunks.c
        texts = db.execute(select(c.text).where(c.collection == collection, c.path == path).order_by(c.position))
        return "\n".join(t for (t,) in texts)[:DETECTED_CHARS]


def own_language_lead(best: Mapping[str, float], versions: Iterable[PageLanguage], language: str) -> float:
    """How much better a question scores pages in its own language than the same pages in another: the median, over
    the pages found in `language` and in another language (`best`: each document's best cosine), of the own
    version's cosine minus the best other one's; 0 when no page is found both ways (or the lead is not the own).

    Multilingual embedding models rank a page in the asker's language above a page in another language that
    answers better (multilingual-e5-small: a Japanese phishing question finds the Japanese VPN page before the
    English security page). A page kept in several languages measures that lead for this very question."""
    pages: dict[str, list[tuple[str | None, float]]] = {}
    for version in versions:
        if version.path in best:
            pages.setdefault(version.page, []).append((version.language, best[version.path]))
    leads = []
    for found in pages.values():
        own = [score for lang, score in found if lang == language]
        other = [score for lang, score in found if lang is not None and lang != language]
        if own and other:
            leads.append(max(own) - max(other))
    return max(0.0, statistics.median(leads)) if leads else 0.0
