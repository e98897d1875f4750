"""Markdown to Slack mrkdwn, and splitting within Slack's limits."""

from __future__ import annotations

from adapters.slack.mrkdwn import split_message, to_mrkdwn


def test_inline_styles_links_and_lists() -> None:
    markdown = (
        "## Steps\n\n- Open **Self Service**\n- Click *Install* or ~~wait~~\n\n"
        "See [the guide](https://wiki.acme.example/vpn)."
    )
    assert to_mrkdwn(markdown) == (
        "*Steps*\n\n• Open *Self Service*\n• Click _Install_ or ~wait~\n\n"
        "See <https://wiki.acme.example/vpn|the guide>."
    )


def test_code_is_left_alone_and_special_characters_escaped() -> None:
    markdown = "Run `sudo apt install **x**` then:\n```\nif a < b && c > d: print('**')\n```\nIf x < 3 & y > 2"
    assert to_mrkdwn(markdown) == (
        "Run `sudo apt install **x**` then:\n```\nif a < b && c > d: print('**')\n```\nIf x &lt; 3 &amp; y &gt; 2"
    )


def test_split_keeps_every_word_and_respects_the_limit() -> None:
    text = "\n\n".join(f"Paragraph {n}: " + "word " * 40 for n in range(30))
    pieces = split_message(text, limit=500)
    assert all(len(p) <= 500 for p in pieces) and len(pieces) > 5
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())


def test_split_closes_and_reopens_a_cut_code_block() -> None:
    text = "Intro\n\n```\n" + "\n".join(f"line {n}" for n in range(200)) + "\n```\nAfter."
    pieces = split_message(text, limit=400)
    assert all(len(p) <= 400 for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces)
