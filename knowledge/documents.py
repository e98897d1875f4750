"""The values that flow from loaders through the chunker to the store: documents, sections, chunks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path, e.g. ("VPN", "Install on macOS")."""

    heading_path: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Document:
    """One loaded file: its title and its text, in reading order, split by headings."""

    title: str
    sections: tuple[Section, ...]
    language: str | None = None  # declared by the file (front matter `lang:`), else told from the text at sync
    translation_of: str | None = None  # front matter: the path of the page this one translates

    @property
    def text(self) -> str:
        return "".join(section.text for section in self.sections)


@dataclass(frozen=True)
class Chunk:
    """A piece of a section small enough to embed; `start`/`end` index into the section's text."""

    title: str
    heading_path: tuple[str, ...]
    text: str
    section_index: int
    start: int
    end: int
    position: int

    @property
    def heading(self) -> str:
        """The heading path below the title ("Installing on macOS"), the page's H1 being its title already."""
        path = self.heading_path[1:] if self.heading_path[:1] == (self.title,) else self.heading_path
        return " > ".join(path)

    def embedding_text(self) -> str:
        """What is embedded: the title and heading give a short passage the context it lives in."""
        return f"{self.title}\n{self.heading}\n{self.text}" if self.heading else f"{self.title}\n{self.text}"


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the store keeps it: where it came from, so an answer can cite and link it."""

    id: str
    collection: str
    path: str
    chunk: Chunk


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its similarity score (cosine, 1.0 = identical)."""

    score: float
    chunk_id: str
    collection: str
    path: str
    title: str
    heading: str
    text: str
    position: int
    url: str | None = None
