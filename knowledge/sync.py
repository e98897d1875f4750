"""Sync: a collection's folders made the truth of the store, incrementally by content hash."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from knowledge.chunker import chunk_document
from knowledge.config import ChunkingConfig, CollectionConfig
from knowledge.discovery import FileFailure, FoundFile, discover
from knowledge.documents import Document, StoredChunk
from knowledge.loaders import LoadError, borrowed, load_document
from knowledge.manifest import FileRecord, Manifest
from knowledge.roles import ChunkStore, Embedder
from knowledge.sync_lock import HeldLock, SyncLocks, process_holder
from knowledge.titles import title_entry, title_id, titles_collection
from knowledge.translations import DETECTED_CHARS, Translations

log = logging.getLogger(__name__)


# How files of a format are read, for the formats whose reading changed: a file indexed the old way has another
# digest, so the next sync reads it again (without it, only `sync --rebuild` would).
READ_AS = {
    ".pdf": b"pdf: numbered section headings, no running headers and footers\n",
    ".page": b"mallard: key and menu sequences joined, links without words titled\n",
    ".html": b"html: spaced as written, list markers, Markdown tables and code\n",
    ".htm": b"html: spaced as written, list markers, Markdown tables and code\n",
    ".rst": b"rst: list markers, Markdown tables and code\n",
    ".docx": b"docx: list markers, Markdown tables\n",
}


class SyncProgress(Protocol):
    def start(self, collection: str, total: int) -> None: ...

    def advance(self, collection: str, path: str) -> None: ...


@dataclass
class SyncReport:
    collection: str
    dry_run: bool = False
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    chunks_embedded: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "collection": self.collection, "dry_run": self.dry_run,
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "chunks_embedded": self.chunks_embedded,
            "failed": [{"path": f.path, "reason": f.reason} for f in self.failed],
        }  # fmt: skip


class Syncer:
    """Indexes new and changed files, drops removed ones; unchanged files cost one hash."""

    def __init__(self, *, store: ChunkStore, embedder: Embedder, manifest: Manifest, locks: SyncLocks,
                 chunking: ChunkingConfig, max_file_bytes: int, titles: ChunkStore | None = None,
                 translations: Translations | None = None,
                 detect: Callable[[str], str | None] | None = None) -> None:  # fmt: skip
        self._store = store
        self._translations = translations  # each document's language and the page it is a version of
        self._detect = detect  # a text's language (ISO 639-1), or None when it cannot be told
        self._titles = titles
        self._embedder = embedder
        self._manifest = manifest
        self._locks = locks
        self._max_tokens = min(chunking.max_tokens, embedder.max_tokens)
        self._overlap = min(chunking.overlap_tokens, self._max_tokens // 2)
        self._max_file_bytes = max_file_bytes

    def sync(self, collection: CollectionConfig, *, dry_run: bool = False, progress: SyncProgress | None = None,
             holder: str | None = None) -> SyncReport:  # fmt: skip
        """Under the collection's sync lock (SyncAlreadyRunning if another holds it); a dry run changes
        nothing and takes no lock. `holder` names the caller to anyone refused, e.g. "platform:user"."""
        if dry_run:
            return self._sync(collection, SyncReport(collection.name, dry_run=True), progress, lock=None)
        with self._locks.hold(collection.name, holder=holder or process_holder("sync")) as lock:
            return self._sync(collection, SyncReport(collection.name), progress, lock=lock)

    def _sync(self, collection: CollectionConfig, report: SyncReport, progress: SyncProgress | None, *,
              lock: HeldLock | None) -> SyncReport:  # fmt: skip
        name, dry_run = collection.name, report.dry_run
        self._store.count(name)  # fails fast on an unreachable store or one built for another model
        if not dry_run:
            self.collect_garbage(name)  # repairs whatever an interrupted sync left staged
        found = discover(collection, max_bytes=self._max_file_bytes)
        report.failed.extend(found.failures)
        report.failed.extend(FileFailure(folder, "folder not found") for folder in found.missing_folders)
        records = self._manifest.files(name)
        # Documents whose language and declared original are kept: an unchanged one without them (synced before
        # supportbot kept them) has them read from its file, front matter and all.
        recorded = self._translations.recorded(name) if self._translations is not None and not dry_run else None
        if progress:
            progress.start(name, len(found.files))
        for file in found.files:
            if progress:
                progress.advance(name, file.path)
            if lock:
                lock.renew()
            self._sync_file(name, file, records.get(file.path), report, recorded)
        if len(found.missing_folders) < len(collection.paths):  # an unmounted share must not wipe the index
            present = {f.path for f in found.files} | {f.path for f in found.failures}
            for path, record in records.items():
                if path not in present:
                    self._remove(name, path, record, report)
        if not dry_run:
            for failure in found.failures:
                self._manifest.record_failure(name, failure.path, failure.reason)
            self.collect_garbage(name)
            if self._translations is not None:
                live = [path for path, record in self._manifest.files(name).items() if record.content_hash]
                self._translations.regroup(name, live, self._detect)
            self._manifest.mark_synced(name)
            self._warn_without_titles(name)
        return report

    def _warn_without_titles(self, name: str) -> None:
        """A store synced before titles were kept ranks without them until rebuilt: say so, once a sync."""
        if self._titles and self._store.count(name) and not self._titles.count(titles_collection(name)):
            log.warning("Collection %s has no document titles (indexed before supportbot kept them), so retrieval "
                        "ranks without them; run `supportbot sync --rebuild %s` once.", name, name)  # fmt: skip

    def collect_garbage(self, collection: str) -> None:
        ids = self._manifest.garbage(collection)
        if ids:
            self._store.delete(collection, ids)
            self._manifest.collected(collection, ids)

    def _sync_file(self, name: str, file: FoundFile, record: FileRecord | None, report: SyncReport,
                   recorded: set[str] | None = None) -> None:  # fmt: skip
        try:
            data = file.absolute.read_bytes()
        except FileNotFoundError:  # deleted while the sync runs: gone, so no longer answerable
            if record is not None:
                self._remove(name, file.path, record, report)
            return
        except OSError as error:
            self._fail(name, file.path, f"cannot be read ({error.strerror or error})", report)
            return
        digest = self._digest(file, data)
        if record is not None and record.content_hash == digest and record.error is None:
            if recorded is not None and file.path not in recorded:
                self._record_language(name, file, data)
            report.unchanged += 1
            return
        changed = report.updated if record is not None and record.content_hash else report.added
        if report.dry_run:
            changed.append(file.path)
            return
        try:
            document, stored = self._chunks(name, file, data, digest)
        except LoadError as error:
            self._fail(name, file.path, str(error), report)
            return
        except Exception as error:  # a parser bug on one odd file must not end the sync
            log.exception("Unexpected error reading %s", file.absolute)
            self._fail(name, file.path, f"unexpected error ({type(error).__name__}: {error})", report)
            return
        self._write(name, file.path, stored, digest)  # store errors end the sync: every file would fail
        if self._translations is not None:
            self._translations.record(name, file.path, language=self._language(document),
                                      declared=document.translation_of)  # fmt: skip
        changed.append(file.path)
        report.chunks_embedded += len(stored)

    @staticmethod
    def _digest(file: FoundFile, data: bytes) -> str:
        """What a file is indexed as: how its format is read, its bytes, and what its text takes from other files
        (a Mallard page's links show the titles of the pages beside it: one retitled reads the linking page again)."""
        content = hashlib.sha256(READ_AS.get(file.absolute.suffix.lower(), b"") + data)
        try:
            others = borrowed(data, file.absolute)
        except Exception:  # what a file borrows is only looked for: reading it tells the error, if there is one
            log.warning("Could not tell what %s takes from other files", file.absolute, exc_info=True)
            others = b""
        if others:
            content.update(b"\0borrowed\0" + others)
        return content.hexdigest()

    def _record_language(self, name: str, file: FoundFile, data: bytes) -> None:
        """The language and declared original of an unchanged document the record lacks, read from its file (its
        stored text has no front matter: `translation_of:` would be lost). Unreadable now: regroup() tells the
        language from the stored text."""
        assert self._translations is not None
        try:
            document = load_document(data, file.absolute)
        except Exception:  # it loaded when it was synced; whatever fails now, the stored text still tells
            log.warning("Could not read %s again for its language", file.absolute, exc_info=True)
            return
        self._translations.record(name, file.path, language=self._language(document),
                                  declared=document.translation_of)  # fmt: skip

    def _language(self, document: Document) -> str | None:
        if document.language or self._detect is None:
            return document.language
        return self._detect(document.text[:DETECTED_CHARS])

    def _chunks(self, name: str, file: FoundFile, data: bytes, digest: str) -> tuple[Document, list[StoredChunk]]:
        document = load_document(data, file.absolute)
        chunks = chunk_document(
            document, counter=self._embedder, max_tokens=self._max_tokens, overlap_tokens=self._overlap
        )
        stem = hashlib.sha1(f"{name}/{file.path}".encode()).hexdigest()[:16]
        return document, [StoredChunk(f"{stem}-{digest[:16]}-{c.position}", name, file.path, c) for c in chunks]

    def _write(self, name: str, path: str, stored: list[StoredChunk], digest: str) -> None:
        title = [title_entry(name, path, stored[0].chunk.title)] if self._titles and stored else []
        embeddings = self._embedder.embed_passages([s.chunk.embedding_text() for s in stored] +
                                                   [t.chunk.text for t in title])  # fmt: skip
        ids = [s.id for s in stored]
        # Why staged first: if we die between the write and the commit, these ids are garbage, not answers.
        self._manifest.stage(name, ids)
        self._store.upsert(name, stored, embeddings[: len(stored)])
        # The title before the commit: a file committed is never synced again while unchanged, so a death between
        # the commit and the title's write left it ranked without its title (or with its old one) for good.
        if self._titles and title:  # keyed by path, so it replaces the file's previous title
            self._titles.upsert(titles_collection(name), title, embeddings[len(stored) :])
        elif self._titles:
            self._titles.delete(titles_collection(name), [title_id(name, path)])
        self._manifest.commit_file(name, path, content_hash=digest, chunk_ids=ids)

    def _remove(self, name: str, path: str, record: FileRecord, report: SyncReport) -> None:
        if record.content_hash is None:  # only ever failed: nothing indexed, nothing to report
            if not report.dry_run:
                self._manifest.forget_file(name, path)
            return
        report.removed.append(path)
        if not report.dry_run:
            self._manifest.forget_file(name, path)
            if self._titles:
                self._titles.delete(titles_collection(name), [title_id(name, path)])

    def _fail(self, name: str, path: str, reason: str, report: SyncReport) -> None:
        report.failed.append(FileFailure(path, reason))
        self._manifest.record_failure(name, path, reason)
