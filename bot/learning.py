"""Answers learned from people: a colleague's reply in a thread the bot could not answer, marked by an admin or a
helper, is written as a Markdown draft into `learning.drafts_dir`; an approved draft moves into a folder of the
`learning.collection` collection, where the next sync indexes it; a rejected one is deleted. Nothing unvetted is
ever in a collection's folder."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

DRAFT_ID = re.compile(r"^[0-9a-f]{12}$")


class DraftError(Exception):
    """A draft that does not exist, or nowhere to put an approved one; the message says what to do."""


@dataclass(frozen=True)
class Draft:
    id: str
    question: str
    reply: str
    author: str  # who wrote the reply (a display name, not an id)
    marked_by: str  # who saved it
    link: str | None  # the thread
    language: str
    created: datetime

    def markdown(self) -> str:
        """The page the knowledge base will hold: the question as its title, the reply, and where it came from."""
        meta = {"title": self.question, "lang": self.language, "draft": self.id, "author": self.author,
                "saved_by": self.marked_by, "thread": self.link, "date": self.created.isoformat()}  # fmt: skip
        front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
        where = f" in [this thread]({self.link})" if self.link else ""
        footer = f"*Answered by {self.author} on {self.created:%Y-%m-%d}{where}.*"
        return f"---\n{front}---\n\n# {self.question}\n\n{self.reply.strip()}\n\n{footer}\n"


class Drafts:
    def __init__(self, folder: Path, *, learned: Path | None) -> None:
        """`folder`: the drafts waiting for review; `learned`: the folder approved ones go to (None: not set)."""
        self._folder = folder
        self._learned = learned

    def write(self, *, question: str, reply: str, author: str, marked_by: str, link: str | None,
              language: str) -> Draft:  # fmt: skip
        title = " ".join(question.split())  # one line: it becomes the page's title and heading
        draft = Draft(secrets.token_hex(6), title, reply, author, marked_by, link, language,
                      datetime.now(UTC))  # fmt: skip
        self._folder.mkdir(parents=True, exist_ok=True)
        written = self._folder / f"{draft.id}.md"
        partial = written.with_suffix(".part")
        partial.write_text(draft.markdown(), encoding="utf-8")
        partial.replace(written)  # a crash mid-write leaves a .part file, never half a draft
        return draft

    def waiting(self) -> list[Draft]:
        """The drafts waiting for review, oldest first."""
        if not self._folder.is_dir():
            return []
        drafts = [_read(path) for path in self._folder.glob("*.md") if DRAFT_ID.match(path.stem)]
        return sorted(drafts, key=lambda d: d.created)

    def approve(self, draft_id: str) -> Path:
        """Moves the draft into the learned collection's folder; returns where it now is."""
        source = self._path(draft_id)
        if self._learned is None:
            raise DraftError("learning.collection names no configured collection: add one (e.g. `learned`, "
                             "paths: [./knowledge/learned]) so approved answers have a folder.")  # fmt: skip
        draft = _read(source)
        self._learned.mkdir(parents=True, exist_ok=True)
        target = self._learned / f"{_slug(draft.question)}-{draft.id}.md"
        if source.stat().st_dev == self._learned.stat().st_dev:
            source.replace(target)
        else:
            _move(source, target)
        return target

    def reject(self, draft_id: str) -> Draft:
        source = self._path(draft_id)
        draft = _read(source)
        source.unlink()
        return draft

    def _path(self, draft_id: str) -> Path:
        path = self._folder / f"{draft_id}.md"
        if not DRAFT_ID.match(draft_id) or not path.is_file():
            raise DraftError(f"There is no draft {draft_id!r} waiting; `supportbot drafts list` shows them.")
        return path


def _read(path: Path) -> Draft:
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    reply = body.strip().split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
    created = datetime.fromisoformat(str(meta["date"]))
    return Draft(str(meta["draft"]), str(meta["title"]), reply, str(meta["author"]), str(meta["saved_by"]),
                 meta.get("thread"), str(meta.get("lang") or "en"), created)  # fmt: skip


def _slug(text: str) -> str:
    words = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return words[:60].rstrip("-") or "answer"


def _move(source: Path, target: Path) -> None:
    """Across file systems: written whole under the target's name, then the draft removed."""
    partial = target.with_suffix(".part")
    partial.write_bytes(source.read_bytes())
    partial.replace(target)
    source.unlink()
