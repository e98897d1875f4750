"""How an answer's links are shown on Discord."""

from __future__ import annotations

from adapters.discord.translate import sources_embed
from bot.messages import Answer, Source

VPN = Source("VPN", "Connection details", "it/vpn.md", "https://wiki.example.com/vpn", "handbook")


def test_an_answers_links_are_its_sources_and_an_abstentions_are_the_closest_pages() -> None:
    answered = sources_embed(Answer("The VPN uses UDP port 1194.", (VPN,), "en", "answered", "LFM2"))
    near = sources_embed(Answer("Not found; these pages come closest.", (VPN,), "en", "abstained", None))
    assert answered is not None and near is not None
    assert answered["title"] == "Sources" and near["title"] == "Closest pages"
    assert (
        near["description"] == answered["description"] == "• [VPN › Connection details](https://wiki.example.com/vpn)"
    )
    assert sources_embed(Answer("Not found.", (), "en", "abstained", None)) is None  # no links, no embed


def test_the_links_heading_is_in_the_askers_language() -> None:
    answered = sources_embed(Answer("Das VPN nutzt UDP-Port 1194.", (VPN,), "de", "answered", "LFM2"))
    near = sources_embed(Answer("Nicht gefunden; am nächsten kommen diese Seiten.", (VPN,), "de", "abstained", None))
    assert answered is not None and near is not None
    assert (answered["title"], near["title"]) == ("Quellen", "Nächstliegende Seiten")
