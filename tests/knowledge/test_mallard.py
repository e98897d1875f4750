"""Mallard pages (GNOME help): the title, section headings and body text, its inline parts as Yelp shows them;
editors' comments and metadata left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loaders import LoadError, is_supported, load_document
from knowledge.loaders.mallard import borrowed_titles

PAGE = b"""<?xml version="1.0" encoding="utf-8"?>
<page xmlns="http://projectmallard.org/1.0/" xmlns:if="http://projectmallard.org/if/1.0/"
      type="topic" style="task" id="net-vpn-connect">
  <info>
    <link type="guide" xref="net-wireless"/>
    <credit type="author"><name>Phil Bull</name><email>philbull@gmail.com</email></credit>
    <desc>Set up a VPN connection to a local network over the Internet.</desc>
  </info>
  <title>Connect to a <gui>VPN</gui></title>
  <comment>
    <cite date="2012-02-19">shaunm</cite>
    <p>Needs a screenshot. Incomplete for now.</p>
  </comment>
  <p>A VPN (or <em>Virtual Private Network</em>) is a way of connecting to a
  local network over the internet.</p>
  <section id="setup">
    <title>Set up the connection</title>
    <steps>
      <item><p>Open the <gui>Network</gui> panel.</p></item>
      <item><p>Click the <gui>+</gui> button next to <gui>VPN</gui>.</p></item>
    </steps>
    <section id="openvpn">
      <title>OpenVPN</title>
      <p>Install <sys>network-manager-openvpn</sys> first.<comment><p>link the package</p></comment></p>
      <screen>nmcli connection import type openvpn file client.ovpn</screen>
    </section>
  </section>
  <section id="problems">
    <title>Problems</title>
    <if:choose><if:when test="platform:gnome-classic"><p>Use the menu.</p></if:when></if:choose>
  </section>
</page>
"""


def load(data: bytes = PAGE):  # type: ignore[no-untyped-def]
    return load_document(data, Path("help/net-vpn-connect.page"))


def test_title_headings_and_text() -> None:
    document = load()
    assert is_supported(Path("x.page"))
    assert document.title == "Connect to a VPN"
    assert [s.heading_path for s in document.sections] == [
        (),
        ("Set up the connection",),
        ("Set up the connection", "OpenVPN"),
        ("Problems",),
    ]
    intro, steps, openvpn, problems = (s.text for s in document.sections)
    assert "A VPN (or Virtual Private Network) is a way of connecting to a local network" in intro
    assert "Open the Network panel.\n\nClick the + button next to VPN." in steps
    assert "Install network-manager-openvpn first." in openvpn
    assert "nmcli connection import type openvpn file client.ovpn" in openvpn
    assert problems.strip() == "Use the menu."


def test_comments_and_info_are_not_content() -> None:
    text = load().text
    for left_out in ("Incomplete for now", "shaunm", "link the package", "Phil Bull", "Set up a VPN connection"):
        assert left_out not in text
    assert "Set up the connection" not in text  # a heading lives in the heading path, not in the text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<page xmlns='http://projectmallard.org/1.0/'><title>Broken</p></page>", "not well-formed XML"),
        (b"<html><body><p>Hello</p></body></html>", "not a Mallard page (its root element is <html>)"),
        (b"<page xmlns='http://projectmallard.org/1.0/'><title>Only links</title><links type='topic'/></page>",
         "no text could be extracted"),
    ],
)  # fmt: skip
def test_bad_pages_get_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(LoadError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load(data)


SHOWN = """<page xmlns="http://projectmallard.org/1.0/" id="printing-2sided">
  <title>Print two-sided</title>
  <steps>
    <item><p>Open the print dialog by pressing <keyseq><key>Ctrl</key><key>P</key></keyseq>.</p></item>
    <item><p>Go to <guiseq><gui>Page Setup</gui><gui>Two-sided</gui></guiseq>.</p></item>
  </steps>
  <p>See <link xref="printing-setup"/> first, <link xref="printing-setup#driver"/> for drivers, <link xref="#faq"/>
  below, <link xref="gone-page"/>, <link href="https://help.gnome.org/"/> and <link xref="printing-setup">our
  guide</link>. Press <keyseq type="sequence"><key>Alt</key><key>F</key></keyseq> or
  <keyseq join="-"><key>Super</key><key>Tab</key></keyseq>.</p>
  <section id="faq"><title>Questions and answers</title><p>None yet.</p></section>
</page>
"""
SETUP = """<page xmlns="http://projectmallard.org/1.0/" id="printing-setup">
  <title>Set up a <gui>local</gui> printer</title>
  <section id="driver"><title>Install a driver</title><p>Drivers.</p></section>
</page>
"""


def test_keys_menus_and_links_read_as_yelp_shows_them(tmp_path: Path) -> None:
    """gnome-help's Ctrl+P was "CtrlP", its menu paths ran together ("Page SetupTwo-sided"), and a link with no
    words of its own (Yelp shows its target's title) left "See  first" in the text (gnome-help's "See  for more
    info."): an answer quoting one said nothing."""
    (tmp_path / "printing-setup.page").write_text(SETUP, encoding="utf-8")
    path = tmp_path / "printing-2sided.page"
    path.write_text(SHOWN, encoding="utf-8")
    text = load_document(path.read_bytes(), path).text
    assert "Open the print dialog by pressing Ctrl+P.\n\nGo to Page Setup ▸ Two-sided.\n\n" in text
    assert (
        "See Set up a local printer first, Install a driver for drivers, Questions and answers below, gone-page, "
        "https://help.gnome.org/ and our guide. Press Alt F or Super-Tab."
    ) in text
    # A link's target is a page beside this one, never a path elsewhere: its id is shown instead.
    (tmp_path / "help").mkdir()
    outside = SHOWN.replace('xref="gone-page"', 'xref="../printing-setup"')  # tmp_path/printing-setup.page
    text = load_document(outside.encode(), tmp_path / "help" / "printing-2sided.page").text
    assert ", ../printing-setup," in text


def test_the_titles_a_page_borrows_are_found_whichever_quotes_its_links_use(tmp_path: Path) -> None:
    """XML quotes an attribute either way: a wordless link written `xref='printing-setup'` shows its target's title
    as `xref="..."` does, so a change of that title must reach the page's digest too (it was missed)."""
    (tmp_path / "printing-setup.page").write_text(SETUP, encoding="utf-8")
    page = (b'<page xmlns="http://projectmallard.org/1.0/" id="p"><info><link type="guide" xref=\'index\'/></info>'
            b"<p>See <link xref='printing-setup'/>, <link xref = \"printing-setup#driver\"></link> and "
            b"<link xref='printing-setup'>words of its own</link>.</p></page>")  # fmt: skip
    assert borrowed_titles(page, tmp_path / "p.page") == (
        b"printing-setup=Set up a local printer\nprinting-setup#driver=Install a driver"
    )
