"""Markdown to Slack mrkdwn."""

from __future__ import annotations

from adapters.slack.mrkdwn import to_mrkdwn


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


def test_a_block_quote_stays_a_quote_and_what_it_quotes_is_escaped() -> None:
    """Slack reads `>` at a line's start as a quote only unescaped; everywhere else it is escaped as text."""
    markdown = "Voici :\n\n> **Printing**\n> Select *FollowMe* & press <Print>.\n```\n> code\n```\n> a > b `x>y`"
    assert to_mrkdwn(markdown) == (
        "Voici :\n\n> *Printing*\n> Select _FollowMe_ &amp; press &lt;Print&gt;.\n```\n> code\n```\n> a &gt; b `x>y`"
    )
