"""What `ask` and `chat` print: the answer streaming as the model writes it, then its sources."""

from __future__ import annotations

import getpass
import json
import sys
import uuid

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from adapters.cli.knowledge_commands import UsageError
from bot.config import Settings
from bot.messages import Answer, IncomingMessage, Preview
from bot.queue import Queued
from bot.wiring import Bot, Knowledge

err = Console(stderr=True)


def open_bot(settings: Settings) -> Bot:
    knowledge = Knowledge(settings, progress=lambda line: err.print(line, highlight=False))
    if not any(knowledge.manifest.status(c.name).last_sync for c in settings.collections):
        raise UsageError("The knowledge base has never been synced; run `supportbot sync` first.")
    return Bot(knowledge, warn=lambda line: err.print(line, style="yellow", highlight=False, markup=False))


def message(text: str, *, channel: str | None, thread: str) -> IncomingMessage:
    return IncomingMessage(
        platform="cli", workspace="local", channel=channel or "cli", thread=thread, user=getpass.getuser(), text=text
    )


def ask(settings: Settings, question: str, *, channel: str | None, as_json: bool) -> None:
    bot = open_bot(settings)
    incoming = message(question, channel=channel, thread=uuid.uuid4().hex)
    if as_json:
        print(json.dumps(bot.conversations.answer(incoming).as_dict(), ensure_ascii=False, indent=2))
        return
    show(bot.conversations.stream(incoming))


def chat(settings: Settings, *, channel: str | None) -> None:
    bot = open_bot(settings)
    thread = uuid.uuid4().hex
    err.print("Ask a question (an empty line or Ctrl-D ends the chat).", highlight=False)
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            return
        if not question:
            return
        show(bot.conversations.stream(message(question, channel=channel, thread=thread)))


def show(stream: object, *, console: Console = err) -> None:
    """Pieces are printed as they come (whole sentences, checked against the passages); the final Answer adds its
    sources, and its own words when it is not the answer that streamed (an apology, an answer no page backs).
    On a terminal, the pages' own words (a Preview) stand on stderr while the model reads, and vanish when it
    writes."""
    streamed = False
    previewed: Preview | None = None
    excerpt: Live | None = None  # the preview on screen, until the model's first words or the final answer
    try:
        for item in stream:  # type: ignore[attr-defined]
            if isinstance(item, Preview):
                if console.is_terminal:
                    previewed = item
                    excerpt = Live(preview_shown(item), console=console, transient=True, auto_refresh=False)
                    excerpt.start(refresh=True)
            elif isinstance(item, Queued):
                if excerpt is not None and previewed is not None:
                    excerpt.update(preview_shown(previewed, waiting=item.position), refresh=True)
                elif item.position:  # 0 only says the question was received
                    console.print(f"Waiting for the model: number {item.position} in line…", highlight=False)
            else:
                if excerpt is not None:  # the model's words, or the final answer, take the excerpt's place
                    excerpt.stop()
                    excerpt = None
                streamed = _printed(item, streamed)
    finally:
        if excerpt is not None:
            excerpt.stop()


def preview_shown(preview: Preview, *, waiting: int = 0) -> RenderableType:
    """The excerpt as the terminal shows it while the model reads: its Markdown, its pages, the place in line."""
    links = "\n".join(f"  - {s.title} ({s.url or s.collection + ':' + s.path})" for s in preview.sources)
    parts: list[RenderableType] = [Markdown(preview.text), Text(links, style="dim")]
    if waiting:
        parts.append(Text(f"Waiting for the model: number {waiting} in line…", style="dim"))
    return Group(*parts)


def _printed(item: str | Answer, streamed: bool) -> bool:
    """A piece of the model's text, or the final answer with its sources, on stdout; whether text has streamed."""
    if isinstance(item, Answer):
        if not streamed:
            sys.stdout.write(item.text)
        elif item.status != "answered":  # cut short, or nothing written could be backed by a page: say so
            sys.stdout.write(f"\n\n{item.text}")
        sys.stdout.write("\n")
        print_sources(item)
        return streamed
    sys.stdout.write(item)
    sys.stdout.flush()
    return True


def print_sources(answer: Answer) -> None:
    if answer.sources:
        print("\nSources:")
        for source in answer.sources:
            where = " > ".join(p for p in (source.title, source.heading) if p)
            print(f"  - {where} ({source.url or source.collection + ':' + source.path})")
    if answer.fallback_model:
        print(f"\nAnswered by {answer.fallback_model}.")
