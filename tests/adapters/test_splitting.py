"""Splitting long answers within a platform's limit (Slack's 3,000, Discord's 2,000 characters)."""

from __future__ import annotations

from adapters.splitting import split_message


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
