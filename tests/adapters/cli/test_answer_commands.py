"""What `ask` and `chat` print while an answer comes: the excerpt on a terminal's stderr until the model writes."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from adapters.cli.answer_commands import show
from bot.messages import Answer, Preview, Source
from bot.queue import Queued

EXCERPT = "Excerpt from the knowledge base, while I write a full answer:\n\n| Port | 1194 (UDP) |"
VPN = Source("VPN", "Connection details", "it/vpn.md", None, "handbook")


def answer_stream(console_output: io.StringIO, seen: list[str]) -> Iterator[object]:
    yield Queued(0)
    yield Preview(EXCERPT, (VPN,), "en")
    yield Queued(2)
    seen.append(console_output.getvalue())  # what stderr showed while the model read
    yield "The VPN uses port "
    yield "1194."
    yield Answer("The VPN uses port 1194.", (VPN,), "en", "answered", "LFM2")


def test_on_a_terminal_the_excerpt_stands_until_the_model_writes(capsys: pytest.CaptureFixture[str]) -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=100)
    seen: list[str] = []
    show(answer_stream(output, seen), console=console)
    (while_reading,) = seen
    assert "1194 (UDP)" in while_reading and "it/vpn.md" in while_reading
    assert "number 2 in line" in while_reading  # the place in line under the excerpt, not instead of it
    assert output.getvalue().endswith("\x1b[1A\x1b[2K")  # then erased, line by line, before the answer prints
    printed = capsys.readouterr().out
    assert printed.startswith("The VPN uses port 1194.") and "Excerpt from" not in printed
    assert "handbook:it/vpn.md" in printed  # the answer's sources


def test_piped_output_gets_the_answer_only(capsys: pytest.CaptureFixture[str]) -> None:
    output = io.StringIO()
    seen: list[str] = []
    show(answer_stream(output, seen), console=Console(file=output, force_terminal=False))
    assert "Excerpt from" not in output.getvalue() and "Excerpt from" not in capsys.readouterr().out


def test_an_abstentions_links_are_printed_as_the_closest_pages(capsys: pytest.CaptureFixture[str]) -> None:
    near = Answer("I couldn't find an answer to this in the knowledge base; these pages come closest.", (VPN,), "en",
                  "abstained", None)  # fmt: skip
    show(iter([near]), console=Console(file=io.StringIO(), force_terminal=False))
    printed = capsys.readouterr().out
    assert "Closest pages:" in printed and "Sources:" not in printed and "handbook:it/vpn.md" in printed


def test_the_links_heading_is_printed_in_the_askers_language(capsys: pytest.CaptureFixture[str]) -> None:
    show(iter([Answer("El VPN usa el puerto UDP 1194.", (VPN,), "es", "answered", "LFM2")]),
         console=Console(file=io.StringIO(), force_terminal=False))  # fmt: skip
    assert "Fuentes:" in capsys.readouterr().out
