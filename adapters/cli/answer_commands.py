"""What `ask` and `chat` print: the answer streaming as the model writes it, then its sources."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from adapters.answering import show_answer
from bot.config import Settings
from bot.host import Host
from bot.language import say
from bot.messages import Answer, AnswerEvent, IncomingMessage, Preview, Queued, answer_events

err = Console(stderr=True)


def open_host(settings: Settings) -> Host:
    host = Host.open(settings, progress=lambda line: err.print(line, highlight=False),
                     warn=lambda line: err.print(line, style="yellow", highlight=False, markup=False))  # fmt: skip
    host.require_synced([c.name for c in settings.collections])
    return host


def message(text: str, *, channel: str | None, thread: str) -> IncomingMessage:
    return IncomingMessage(
        platform="cli", workspace="local", channel=channel or "cli", thread=thread, user=getpass.getuser(), text=text
    )


def ask(settings: Settings, question: str, *, channel: str | None, as_json: bool) -> None:
    host = open_host(settings)
    incoming = message(question, channel=channel, thread=uuid.uuid4().hex)
    if as_json:
        print(json.dumps(host.answer(incoming).as_dict(), ensure_ascii=False, indent=2))
        return
    show(host.stream(incoming))


def chat(settings: Settings, *, channel: str | None) -> None:
    host = open_host(settings)
    thread = uuid.uuid4().hex
    err.print("Ask a question (an empty line or Ctrl-D ends the chat).", highlight=False)
    stop_warming = host.warm_up()  # while the asker reads and types, the pages' sentences are embedded ahead
    try:
        while True:
            try:
                question = input("> ").strip()
            except EOFError:
                return
            if not question:
                return
            show(host.stream(message(question, channel=channel, thread=thread)))
    finally:
        stop_warming()


def show(stream: Iterable[str | Queued | Preview | Answer], *, console: Console = err) -> None:
    """Pieces are printed as they come (whole sentences, checked against the passages); the final Answer adds its
    sources, and its own words when it is not the answer that streamed (an apology, an answer no page backs).
    On a terminal, the pages' own words (a Preview) stand on stderr while the model reads, and vanish when it
    writes."""

    async def events() -> AsyncIterator[AnswerEvent]:  # the terminal waits for nothing else meanwhile
        for event in answer_events(stream):
            yield event

    view = _Terminal(console)
    try:
        asyncio.run(show_answer(view, events()))
    finally:
        view.stop_excerpt()


class _Terminal:
    every = 0.0  # every piece at once

    def __init__(self, console: Console) -> None:
        self._console = console
        self._printed = 0  # how much of the text is on stdout
        self._previewed: Preview | None = None
        self._excerpt: Live | None = None  # the preview on screen, until the model's first words or the answer

    async def start(self) -> None:
        pass

    async def queued(self, position: int) -> None:
        if self._excerpt is not None and self._previewed is not None:
            self._excerpt.update(preview_shown(self._previewed, waiting=position), refresh=True)
        else:
            self._console.print(f"Waiting for the model: number {position} in line…", highlight=False)

    async def preview(self, preview: Preview) -> None:
        if self._console.is_terminal:
            self.stop_excerpt()
            self._previewed = preview
            self._excerpt = Live(preview_shown(preview), console=self._console, transient=True, auto_refresh=False)
            self._excerpt.start(refresh=True)

    async def write(self, text: str) -> None:
        self.stop_excerpt()  # the model's words take the excerpt's place
        sys.stdout.write(text[self._printed :])
        sys.stdout.flush()
        self._printed = len(text)

    async def finish(self, answer: Answer, text: str) -> None:
        """The final answer with its sources on stdout; its words too when they are not what streamed (an
        apology, or a note that the answer was cut short or that nothing written could be backed by a page)."""
        self.stop_excerpt()
        if not self._printed:
            sys.stdout.write(answer.text)
        elif answer.status != "answered":
            sys.stdout.write(f"\n\n{answer.text}")
        sys.stdout.write("\n")
        print_sources(answer)

    async def fail(self, error: Exception) -> None:  # the command's own error handling tells the user
        self.stop_excerpt()
        raise error

    def stop_excerpt(self) -> None:
        if self._excerpt is not None:
            self._excerpt.stop()
            self._excerpt = None


def preview_shown(preview: Preview, *, waiting: int = 0) -> RenderableType:
    """The excerpt as the terminal shows it while the model reads: its Markdown, its pages, the place in line."""
    links = "\n".join(f"  - {s.title} ({s.url or s.collection + ':' + s.path})" for s in preview.sources)
    parts: list[RenderableType] = [Markdown(preview.text), Text(links, style="dim")]
    if waiting:
        parts.append(Text(f"Waiting for the model: number {waiting} in line…", style="dim"))
    return Group(*parts)


def print_sources(answer: Answer) -> None:
    if answer.sources:  # an abstention's links are the closest pages, not what an answer drew on
        print(f"\n{say('closest' if answer.status == 'abstained' else 'sources', answer.language)}:")
        for source in answer.sources:
            where = " > ".join(p for p in (source.title, source.heading) if p)
            print(f"  - {where} ({source.url or source.collection + ':' + source.path})")
    if answer.fallback_model:
        print(f"\nAnswered by {answer.fallback_model}.")
