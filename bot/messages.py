"""The platform-neutral values adapters exchange with the bot: an incoming message, an answer, and the events of
an answer as it is written."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Status = Literal["answered", "abstained", "failed"]
Visibility = Literal["internal", "public"]  # who may read a collection, or what a channel may read


@dataclass(frozen=True)
class IncomingMessage:
    """A question as any platform delivers it; `thread` groups a conversation (a DM's channel will do)."""

    platform: str
    workspace: str
    channel: str
    thread: str
    user: str
    text: str
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    is_direct: bool = False
    # What a channel with no entry under `channels:` may read: the platform decides ("public" where anyone may join
    # or DM the bot, or in a channel shared with another organisation).
    default_visibility: Visibility = "internal"
    # Every log line about this question carries it; not part of equality (the same words twice are equal).
    id: str = field(default_factory=lambda: secrets.token_hex(6), compare=False)


@dataclass(frozen=True)
class Source:
    """A document behind the passages the model was given, for citation."""

    title: str
    heading: str
    path: str
    url: str | None
    collection: str
    sentences: tuple[int, ...] = ()  # the answer's sentences (0-based) this document's passages support


@dataclass(frozen=True)
class Preview:
    """What the pages themselves say, shown while a language model still reads the prompt (`bot.preview`): the
    passages' own sentences under a lead-in in the asker's language, with the pages they come from. The model's
    answer replaces it; an adapter that cannot replace a message may ignore it."""

    text: str
    sources: tuple[Source, ...]
    language: str


@dataclass(frozen=True)
class Timings:
    retrieval: float = 0.0
    first_token: float | None = None
    generation: float = 0.0


@dataclass(frozen=True)
class SentenceCounts:
    """What the support check found in an answer (bot/checks/grounding.py): sentences a cited passage backs,
    sentences kept without backing (filler aside), and sentences dropped for stating what no passage holds."""

    supported: int = 0
    unsupported: int = 0
    invented: int = 0


@dataclass(frozen=True)
class Answer:
    text: str
    sources: tuple[Source, ...]
    language: str
    status: Status
    model: str | None
    timings: Timings = Timings()
    id: str | None = None  # set once the answer is recorded; buttons and feedback refer to it
    sentences: SentenceCounts | None = None  # None: no model answer was checked (an abstention, an apology)

    @property
    def fallback_model(self) -> str | None:
        """Who answered, when the asker must be told: a bundled stand-in model or the extractive answerer (no
        language model), never the configured model."""
        model = self.model or ""
        return model if "stand-in" in model or "no language model" in model else None

    @property
    def supported(self) -> float | None:
        """The share of the answer's claims (filler aside) that a cited passage supports."""
        if self.sentences is None:
            return None
        claims = self.sentences.supported + self.sentences.unsupported
        return round(self.sentences.supported / claims, 4) if claims else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "answer": self.text,
            "language": self.language,
            "status": self.status,
            "model": self.model,
            "id": self.id,
            "supported": self.supported,
            "invented_sentences": self.sentences.invented if self.sentences else 0,
            "sources": [
                {
                    "title": s.title,
                    "heading": s.heading,
                    "path": s.path,
                    "url": s.url,
                    "collection": s.collection,
                    "sentences": list(s.sentences),
                }
                for s in self.sources
            ],
            "timings": {
                "retrieval": round(self.timings.retrieval, 4),
                "first_token": None if self.timings.first_token is None else round(self.timings.first_token, 4),
                "generation": round(self.timings.generation, 4),
            },
        }


# The answer as it is written, event by event: what an adapter's view shows (adapters/answering.py).


@dataclass(frozen=True)
class Started:
    """The question is taken: comes first, before any work, so that the asker sees a sign of life at once."""


@dataclass(frozen=True)
class Queued:
    """The question waits for the model: `position` 1 means next in line. (The bot's stream also yields position 0
    first, before any work: the question was received; as an event, that is Started.)"""

    position: int


@dataclass(frozen=True)
class Text:
    """A piece of the answer as the model writes it (whole sentences, checked against the passages)."""

    piece: str


@dataclass(frozen=True)
class Finished:
    """The final answer, always last, also when nothing could be written (an abstention, an apology)."""

    answer: Answer


AnswerEvent = Started | Queued | Preview | Text | Finished


def answer_events(stream: Iterable[str | Queued | Preview | Answer]) -> Iterator[AnswerEvent]:
    """The conversation's stream as typed events: Started at once, then its places in line, the excerpt, the text
    pieces and the final answer."""
    yield Started()
    for item in stream:
        if isinstance(item, Answer):
            yield Finished(item)
        elif isinstance(item, str):
            yield Text(item)
        elif not (isinstance(item, Queued) and item.position == 0):  # "received" is Started
            yield item
