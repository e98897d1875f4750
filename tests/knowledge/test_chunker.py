"""Chunking properties, measured with the real embedding tokenizer: nothing lost, nothing over budget."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.chunker import chunk_document
from knowledge.documents import Document, Section

WORDS = st.sampled_from(
    ["VPN", "Acme", "Connect", "port", "1194", "congés", "Urlaub", "の", "接続", "https://vpn.acme.example/x?y=1",
     "a" * 300, "Ünïcödé", "\n", "\n\n", "  ", ".", "。", "-", "**bold**", "`code`"]
)  # fmt: skip
TEXTS = st.lists(WORDS, min_size=1, max_size=400).map(" ".join)
SECTIONS = st.lists(
    st.tuples(st.lists(st.text(min_size=1, max_size=30), max_size=3).map(tuple), TEXTS), min_size=1, max_size=4
)
BUDGETS = st.sampled_from([(32, 0), (48, 8), (64, 16), (128, 32), (256, 32)])


def _document(sections: list[tuple[tuple[str, ...], str]]) -> Document:
    return Document(title="Acme Handbook", sections=tuple(Section(h, t) for h, t in sections))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=SECTIONS, budget=BUDGETS)
def test_no_text_is_lost_between_chunks(embedder, sections, budget) -> None:  # type: ignore[no-untyped-def]
    document = _document(sections)
    chunks = chunk_document(document, counter=embedder, max_tokens=budget[0], overlap_tokens=budget[1])
    for index, section in enumerate(document.sections):
        mine = [c for c in chunks if c.section_index == index]
        assert mine[0].start == 0 and mine[-1].end == len(section.text)
        for previous, chunk in pairwise(mine):
            assert chunk.start <= previous.end  # contiguous or overlapping: no gap
            assert chunk.start > previous.start  # always moving forward
        for chunk in mine:
            assert chunk.text == section.text[chunk.start : chunk.end]
            assert chunk.heading_path == section.heading_path or len(chunk.heading_path) <= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=SECTIONS, budget=BUDGETS)
def test_no_chunk_exceeds_the_budget(embedder, sections, budget) -> None:  # type: ignore[no-untyped-def]
    document = _document(sections)
    max_tokens, overlap = budget
    for chunk in chunk_document(document, counter=embedder, max_tokens=max_tokens, overlap_tokens=overlap):
        assert embedder.count_tokens(chunk.embedding_text()) <= max_tokens


def test_chunks_record_their_place(embedder) -> None:  # type: ignore[no-untyped-def]
    paragraph = "Install Acme Connect from Self Service, then sign in with your Acme account. " * 12
    document = Document(
        title="VPN",
        sections=(Section(("VPN",), "Intro.\n\n"), Section(("VPN", "Installing on macOS"), paragraph)),
    )
    chunks = chunk_document(document, counter=embedder, max_tokens=64, overlap_tokens=16)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    mac = [c for c in chunks if c.section_index == 1]
    assert len(mac) > 2
    assert all(c.heading == "Installing on macOS" and c.title == "VPN" for c in mac)
    assert mac[1].start < mac[0].end  # consecutive chunks overlap


def test_a_short_section_is_one_chunk(embedder) -> None:  # type: ignore[no-untyped-def]
    document = Document(title="Wi-Fi", sections=(Section(("Networks",), "Acme-Guest needs a daily code.\n"),))
    chunks = chunk_document(document, counter=embedder, max_tokens=256, overlap_tokens=32)
    assert len(chunks) == 1 and chunks[0].text == "Acme-Guest needs a daily code.\n"
