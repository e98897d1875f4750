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
from typing import TYPE_CHECKING, Literal

import yaml

if TYPE_CHECKING:
    from bot.config import Settings

DRAFT_ID = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True)
class Origin:
    """The thread a reply was saved from, where the bot says once it has learned it."""

    platform: str
    channel: str
    thread: str


@dataclass(frozen=True)
class Reply:
    """A person's reply marked by an admin or a helper on a chat platform: what to save, and where it was."""

    origin: Origin
    key: str  # the platform's id of the reply message: one draft per reply, however many marks
    text: str
    author: str
    marked_by: str
    link: str | None
    written: datetime | None = None  # when the reply was posted: the question it answers was asked before


@dataclass(frozen=True)
class Saved:
    outcome: Literal["saved", "already_saved", "nothing_to_learn"]  # nothing to learn: the bot's answer stood
    draft: Draft | None = None


@dataclass(frozen=True)
class Learned:
    """An approved reply now in the index: the thread it came from is told so, once."""

    draft_id: str
    origin: Origin
    language: str

    @property
    def key(self) -> str:
        """Its claim: one process of the fleet tells the thread."""
        return f"learned:{self.draft_id}"


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
    origin: Origin | None = None

    def markdown(self) -> str:
        """The page the knowledge base will hold: the question as its title, the reply; who wrote and saved it, when
        and where, in its front matter."""
        meta: dict[str, object] = {
            "title": self.question, "lang": self.language, "draft": self.id, "author": self.author,
            "saved_by": self.marked_by, "thread": self.link, "date": self.created.isoformat(),
        }  # fmt: skip
        if self.origin is not None:
            meta["origin"] = {"platform": self.origin.platform, "channel": self.origin.channel,
                              "thread": self.origin.thread}  # fmt: skip
        front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
        # Who answered and where stay in the front matter: a line saying so in the body would be indexed as
        # answer material, and quoted in place of the answer itself.
        return f"---\n{front}---\n\n# {self.question}\n\n{self.reply.strip()}\n"


class Drafts:
    def __init__(self, folder: Path, *, learned: Path | None) -> None:
        """`folder`: the drafts waiting for review; `learned`: the folder approved ones go to (None: not set)."""
        self._folder = folder
        self._learned = learned

    def write(self, *, question: str, reply: str, author: str, marked_by: str, link: str | None,
              language: str, origin: Origin | None = None) -> Draft:  # fmt: skip
        title = " ".join(question.split())  # one line: it becomes the page's title and heading
        draft = Draft(secrets.token_hex(6), title, reply, author, marked_by, link, language,
                      datetime.now(UTC), origin)  # fmt: skip
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

    def learned(self) -> list[tuple[Draft, str]]:
        """The approved drafts in the learned collection's folder, each with its path there (as a sync records
        it); pages written there by hand are not drafts and are left out."""
        if self._learned is None or not self._learned.is_dir():
            return []
        found = []
        for path in sorted(self._learned.rglob("*.md")):
            match = re.search(r"-([0-9a-f]{12})$", path.stem)
            if match:
                try:
                    found.append((_read(path), path.relative_to(self._learned).as_posix()))
                except (ValueError, KeyError, IndexError, TypeError, AttributeError, yaml.YAMLError):
                    # edited by hand past reading: indexed as any page, its thread not told
                    continue
        return found

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
    reply = body.strip().split("\n\n", 1)[1]
    last = reply.rsplit("\n\n", 1)
    if len(last) == 2 and last[1].startswith("*Answered by "):  # a page written with the body's attribution line
        reply = last[0]
    created = datetime.fromisoformat(str(meta["date"]))
    where = meta.get("origin")
    origin = Origin(str(where["platform"]), str(where["channel"]), str(where["thread"])) if where else None
    return Draft(str(meta["draft"]), str(meta["title"]), reply, str(meta["author"]), str(meta["saved_by"]),
                 meta.get("thread"), str(meta.get("lang") or "en"), created, origin)  # fmt: skip


def drafts_for(settings: Settings) -> Drafts:
    """The drafts folder and the learned collection's first folder, as the settings name them."""
    names = {c.name: c for c in settings.collections}
    learned = names.get(settings.learning.collection)
    return Drafts(settings.learning.drafts_dir or settings.data_dir / "drafts",
                  learned=Path(learned.paths[0]) if learned else None)  # fmt: skip


def _slug(text: str) -> str:
    words = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return words[:60].rstrip("-") or "answer"


def _move(source: Path, target: Path) -> None:
    """Across file systems: written whole under the target's name, then the draft removed."""
    partial = target.with_suffix(".part")
    partial.write_bytes(source.read_bytes())
    partial.replace(target)
    source.unlink()
