"""Mallard pages (GNOME help): the title, section headings and body text; editors' comments and metadata left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loaders import LoadError, is_supported, load_document

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
