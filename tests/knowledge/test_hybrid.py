"""Hybrid retrieval: BM25 fused with the dense ranking finds exact rare terms the embedding blurs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

import knowledge.retrieval
from bot.config import load_settings
from bot.wiring import Bot, Knowledge
from knowledge.lexical import LexicalIndex, best, common_words, names, tokens, without_names
from knowledge.retrieval import fuse
from tests.adapters.cli.test_main import supportbot
from tests.conftest import BrokenModel

PRINTERS = {
    "laserjet.md": "# LaserJet 4200 error codes\n\nCode 13.2 means a paper jam in tray 2: open the tray and pull the "
    "sheet out. Code 79.00 is a firmware fault: switch the printer off and on again.\n",
    "kyocera.md": "# Kyocera FS-2100 error codes\n\nC6000 means the fuser unit is broken: call the vendor. J0511 "
    "means paper is stuck at the rear cover.\n",
    "canon.md": "# Canon iR-ADV error codes\n\nE602-0001 means the hard disk failed: call the vendor. E000007 is a "
    "fuser temperature error.\n",
    "brother.md": "# Brother HL-L2350 error codes\n\nError 46 means the waste toner box is full: replace it. "
    "Error 50 is a fuser fault.\n",
    "ricoh.md": "# Ricoh MP C3004 error codes\n\nSC542 means the fusing lamp did not heat up. SC899 is a software "
    "error: restart the copier.\n",
    "vpn.md": "# VPN\n\nConnect with Acme Connect. The VPN server is vpn.acme.example on port 1194.\n",
}
RARE = "E000007"  # only canon.md has it; all-MiniLM-L6-v2 alone ranks kyocera.md first


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    for name, text in PRINTERS.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def open_kb(make_config, embedder, folder: Path):  # type: ignore[no-untyped-def]
    def open_(*, hybrid: bool) -> Knowledge:
        # The embedding alone beside the words: no titles, sentences or hubs, which rank by the same embedding.
        alone = {"title_weight": 0, "sentence_weight": 0, "hub_weight": 0}
        settings = load_settings(make_config(folder, retrieval={"hybrid": hybrid, **alone}))
        return Knowledge(settings, prebuilt_embedder=embedder)

    return open_


def ranked(kb: Knowledge, query: str) -> list[str]:
    return [hit.path for hit in kb.retriever.search(query, collections=["kb"], k=5)]


def test_an_exact_rare_term_comes_first_only_with_hybrid(open_kb) -> None:  # type: ignore[no-untyped-def]
    dense = open_kb(hybrid=False)
    dense.syncer.sync(dense.settings.collection("kb"))
    hybrid = open_kb(hybrid=True)
    assert ranked(dense, RARE).index("canon.md") > 0  # the embedding alone gets it wrong...
    assert ranked(hybrid, RARE)[0] == "canon.md"  # ...the exact word puts it first
    # Scores stay cosine whichever ranking found a passage, so bot.relevance_threshold keeps its meaning.
    cosine = {hit.path: hit.score for hit in dense.retriever.search(RARE, collections=["kb"], k=6)}
    assert hybrid.retriever.search(RARE, collections=["kb"], k=1)[0].score == cosine["canon.md"]
    # A question sharing no word with any page is answered by the dense ranking alone, unchanged.
    assert ranked(hybrid, "Wie verbinde ich mich?") == ranked(dense, "Wie verbinde ich mich?")


def test_the_lexical_index_follows_syncs(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(hybrid=True)
    collection = kb.settings.collection("kb")
    kb.syncer.sync(collection)
    assert "zebra.md" not in ranked(kb, "ZX-9912")
    (folder / "zebra.md").write_text("# Zebra ZD421 labels\n\nZX-9912 means the ribbon is out.\n", encoding="utf-8")
    (folder / "canon.md").unlink()
    kb.syncer.sync(collection)
    kb.retriever.warm()  # as /kb sync does before it answers; a question alone rebuilds in the background
    assert ranked(kb, "ZX-9912")[0] == "zebra.md"
    assert "canon.md" not in ranked(kb, RARE)


def test_a_japanese_sentence_is_looked_for_only_by_its_words_in_other_scripts(
    make_config,
    embedder,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    """Character pairs of a Japanese sentence are mostly kana endings every page shares ("すれば", "ですか"): an FAQ
    page that asks "how do I ...?" about leave must not outrank the VPN page for a VPN question by them. A short
    Japanese term is still looked for by its characters."""
    root = tmp_path / "ja"
    root.mkdir()
    (root / "vpn.md").write_text("# VPN\n\nVPNに接続するには、Acme Connectを開いてください。\n", encoding="utf-8")
    (root / "leave.md").write_text("# 有給休暇\n\n有給休暇を申請するにはどうすればいいですか？ポータルから申請してく"
                                   "ださい。年間25日です。\n", encoding="utf-8")  # fmt: skip
    kb = Knowledge(load_settings(make_config(root, retrieval={"hybrid": True})), prebuilt_embedder=embedder)
    kb.syncer.sync(kb.settings.collection("kb"))
    lexical = LexicalIndex(kb.lexical_store, manifest=kb.manifest)
    paths = {chunk: record.path for record in kb.manifest.files("kb").values() for chunk in record.chunk_ids}

    def found(query: str) -> list[str]:
        return [paths[m.chunk_id] for m in lexical.search(query, collections=["kb"], k=5)]

    assert found("VPNに接続するにはどうすればいいですか？") == ["vpn.md"]
    assert found("有給休暇") == ["leave.md"]
    assert found("申請するにはどうすればいいですか") == []  # nothing but kana and Han: the embedding's


def test_for_a_question_in_another_language_than_most_pages_bm25_leaves_out_the_pages_in_its_language(  # type: ignore[no-untyped-def]
    open_kb, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its ordinary words are shared only by the pages in its language (a Spanish printer page that says "impresora"
    and "oficina"), which BM25 would rank first whatever they say, and fusion lift above the English pages that
    answer; with the others it shares the words languages share (a code, a name). A question in the pages' own
    language, or with no language told, is looked for on every page."""
    (folder / "es").mkdir()
    spanish = "# Impresoras de la oficina\n\nPara imprimir en la oficina, elige la impresora de tu planta en el "
    spanish += "diálogo de impresión y acerca tu tarjeta a la impresora para recoger el trabajo.\n"
    (folder / "es" / "impresoras.md").write_text(spanish, encoding="utf-8")
    kb = open_kb(hybrid=True)
    kb.syncer.sync(kb.settings.collection("kb"))
    paths = {chunk: record.path for record in kb.manifest.files("kb").values() for chunk in record.chunk_ids}
    lexical: list[list[str]] = []
    fuse = knowledge.retrieval.fuse

    def recorded(rankings):  # type: ignore[no-untyped-def]
        lexical.append([paths[chunk] for chunk in rankings[1]])
        return fuse(rankings)

    monkeypatch.setattr(knowledge.retrieval, "fuse", recorded)  # the real fusion, its lexical ranking kept

    def bm25(question: str, language: str | None) -> list[str]:
        kb.retriever.search(question, collections=["kb"], k=5, language=language)
        return lexical[-1]

    question = "¿Qué significa el código E000007 en la impresora de la oficina?"
    assert bm25(question, "es") == ["canon.md"]
    assert bm25(question, None)[:2] == ["es/impresoras.md", "canon.md"]  # no language told: every page
    assert bm25("¿Cómo imprimo en la impresora de la oficina?", "es") == []
    assert "es/impresoras.md" in bm25("¿Cómo imprimo en la impresora de la oficina?", None)
    assert "canon.md" in bm25("printer error code E000007", "en")  # the pages' language: every page


def test_a_questions_topic_words_the_pages_never_use_in_any_form_are_its_unfamiliar_share(open_kb) -> None:  # type: ignore[no-untyped-def]
    """What abstention weighs (bot/checks/abstention.py): of "connecting", "server", "tomorrow", "afternoon", the
    pages use the first two ("connecting" as "Connect"); "VPN" is too short to judge, "How" and "does" say nothing
    of the topic. A question in the pages' words has none unfamiliar."""
    kb = open_kb(hybrid=True)
    kb.syncer.sync(kb.settings.collection("kb"))
    lexical = LexicalIndex(kb.lexical_store, manifest=kb.manifest)
    everyday = frozenset({"work", "does"})  # words everyday questions use
    assert lexical.unfamiliar("How does connecting to the VPN server work tomorrow afternoon?", collections=["kb"],
                              ordinary=everyday) == 0.5  # fmt: skip
    assert lexical.unfamiliar("Which port does the VPN server use?", collections=["kb"], ordinary=everyday) == 0.0
    assert lexical.unfamiliar("VPN?", collections=["kb"]) == 0.0  # no topic word
    # A page's shorter form is the question's word too ("a paper jam": "jammed", whose stem "jamm" begins no page
    # word), up to three letters shorter: "off" ("switch the printer off") is not "offspring".
    assert lexical.unfamiliar("Which printer is jammed?", collections=["kb"]) == 0.0
    assert lexical.unfamiliar("Which printer did my offspring jam?", collections=["kb"]) == 0.5


def test_a_question_in_another_language_is_judged_by_the_names_the_pages_never_hold(open_kb) -> None:  # type: ignore[no-untyped-def]
    """Its other words are unknown to English pages whatever it asks, so only its names are looked up, counted
    against them and two words more: Spotify, which no page names, takes a third of the standout away; a question
    naming the printers the pages hold loses nothing."""
    kb = open_kb(hybrid=True)
    kb.syncer.sync(kb.settings.collection("kb"))
    lexical = LexicalIndex(kb.lexical_store, manifest=kb.manifest)

    def share(query: str, language: str) -> float:
        return lexical.unfamiliar_names(query, collections=["kb"], language=language)

    assert share("¿Cómo descargo canciones de Spotify?", "es") == pytest.approx(1 / 3, abs=1e-4)
    assert share("Wie lade ich Musik von SoundCloud und YouTube herunter?", "de") == pytest.approx(2 / 4, abs=1e-4)
    assert share("Spotify läuft nicht auf meinem Drucker", "de") == 0.0  # German: a capital alone names nothing
    assert share("Spotifyで音楽をダウンロードするには？", "ja") == pytest.approx(1 / 3, abs=1e-4)
    assert share("Que veut dire l'erreur E602-0001 sur ma Canon ?", "fr") == 0.0  # the pages hold both
    assert share("Was bedeutet der Fehler 46 beim Brother-Drucker?", "de") == 0.0  # a German noun names nothing
    assert share("¿Cómo conecto mi portátil?", "es") == 0.0  # no name: nothing to judge
    # Through retrieval: a Spanish question is not in the pages' language, so its names are what is judged.
    retrieved = kb.retriever.retrieve("¿Cómo descargo canciones de Spotify?", collections=["kb"], language="es")
    assert retrieved.unfamiliar == pytest.approx(1 / 3, abs=1e-4)


def test_the_names_of_a_question_in_any_script() -> None:
    assert names("¿Cómo descargo canciones de Spotify?", "es") == ["spotify"]  # a sentence's capital is none
    assert names("Comment créer une macro dans Excel ? Merci.", "fr") == ["excel"]
    assert names("Wie komme ich ins BIOS meines Laptops?", "de") == ["bios"]  # German nouns: only inner capitals
    assert names("Wie übertrage ich WhatsApp-Chats?", "de") == ["whatsapp"]
    assert names("iPhone怎么把照片备份到iCloud？", "zh") == ["iphone", "icloud"]  # any word in a cased script
    assert names("ITヘルプデスクの内線番号は？", "ja") == []  # "it" is a function word once folded
    assert names("¿Qué hace la tecla F de mi portátil?", "es") == []  # one letter names nothing
    assert names("¿CÓMO DESCARGO CANCIONES DE SPOTIFY?", "es") == []  # capitals throughout tell nothing
    assert names("Cómo Descargo Canciones De Spotify Sin Conexión", "es") == []  # nor a capital on every word
    assert names("Cómo Descargo Canciones De SoundCloud", "es") == ["soundcloud"]  # one inside a word still does
    assert names("¿Usas Spotify?", "es") == ["spotify"]  # a short question's one capital is a name
    assert names("كيف أنقل محادثات واتساب إلى هاتف جديد؟", "ar") == []  # a name written in Arabic is not told


def test_fusion_and_words() -> None:
    assert fuse([["a", "b", "c"], ["c", "d"]]) == ["c", "a", "b", "d"]
    assert fuse([["a", "b"], ["b", "a"]]) == ["a", "b"]  # a tie keeps the first ranking's order
    assert tokens("The Wi-Fi code ERR_42 on ＶＰＮ") == ["wi", "fi", "code", "err_42", "vpn"]
    assert tokens("蓝牙设备") == ["蓝牙", "牙设", "设备"]


def test_a_question_is_judged_without_the_names_nearly_every_page_holds_when_it_asks_about_more_than_them() -> None:
    common = frozenset({"acme", "you"})
    ordinary = frozenset(tokens("Where is the station? What is the time? What does a baker do?"))
    assert without_names("Who is Acme's CEO?", common, ordinary) == "Who is CEO?"
    assert without_names("How much does Acme contribute to my pension?", common, ordinary) == (
        "How much does contribute to my pension?"
    )
    assert without_names("Acmeの社長は誰ですか", common, ordinary) == "の社長は誰ですか"  # glued to CJK: still a name
    assert without_names("What does Acme do?", common, ordinary) == "What does Acme do?"  # asks about Acme itself
    everyday = frozenset(tokens("What is the time? How far is the moon?"))  # no "where" among them
    assert without_names("Where is Acme?", common, everyday) == "Where is Acme?"  # a question word: about Acme
    assert without_names("Wo ist Acme?", common, everyday) == "Wo ist Acme?"
    assert without_names("Where is Acme's office in Lyon?", common, everyday) == "Where is office in Lyon?"
    assert without_names("You can book a room?", common, ordinary) == "You can book a room?"  # a sentence's capital
    assert without_names("Who is acme's CEO?", common, ordinary) == "Who is acme's CEO?"  # not written as a name
    assert without_names("Who runs Globex?", common, ordinary) == "Who runs Globex?"  # not on most pages


def test_the_common_words_are_those_nearly_every_document_holds() -> None:
    pages = [{"acme", "vpn"}, {"acme", "leave"}, {"acme", "vpn"}, {"acme", "badge"}, {"acme", "wifi"}]
    assert common_words(pages) == {"acme"}
    assert common_words(pages[:4]) == frozenset()  # in a handful of pages every word is on most of them
    assert common_words([*pages, {"vpn"}] * 2) == frozenset()  # acme on 10 of 12: under nine in ten


@pytest.mark.slow
def test_search_json_keeps_its_shape_with_hybrid(make_config, folder: Path) -> None:  # type: ignore[no-untyped-def]
    config = make_config(folder, retrieval={"hybrid": True})
    assert supportbot("sync", "--config", str(config)).returncode == 0
    result = supportbot("search", "--config", str(config), RARE, "--json", "-k", "3")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert [set(hit) for hit in hits] == [{"score", "collection", "path", "title", "heading", "text", "url",
                                           "position"}] * 3  # fmt: skip
    assert hits[0]["path"] == "canon.md" and all(isinstance(hit["score"], float) for hit in hits)


def test_the_best_scores_come_in_the_order_a_full_stable_sort_gives() -> None:
    rng = np.random.default_rng(4)
    for size, k in [(0, 5), (3, 5), (50, 5), (1000, 50), (1000, 1)]:
        scores = rng.choice([0.0, 0.0, 0.5, 1.25, 2.0, 3.5], size=size) * rng.choice([1, 1, 1.1], size=size)
        everything = np.argsort(-scores, kind="stable")[:k]  # what the index sorted before: every score
        assert best(scores, k).tolist() == [i for i in everything.tolist() if scores[i] > 0]


class ReadCounting:
    """The real lexical store, noting each collection whose chunks were read (one read = one index build)."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store, self.rows_read = store, []

    def rows(self, collection: str):  # type: ignore[no-untyped-def]
        self.rows_read.append(collection)
        return self._store.rows(collection)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)


def test_a_bot_ready_to_answer_has_built_its_index_before_the_first_question(open_kb) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(hybrid=True)
    kb.syncer.sync(kb.settings.collection("kb"))
    reads = ReadCounting(kb.lexical_store)
    kb.lexical_store = reads
    Bot(kb, warn=print, prebuilt_generator=BrokenModel()).conversations  # noqa: B018 - as `supportbot run` starts
    assert reads.rows_read == ["kb"]
    assert ranked(kb, RARE)[0] == "canon.md" and reads.rows_read == ["kb"]  # the question built nothing


class HeldReads(ReadCounting):
    """Reading a collection's chunks (an index build) waits until the test lets it go."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        super().__init__(store)
        self.go, self.held = threading.Event(), threading.Event()
        self.go.set()

    def rows(self, collection: str):  # type: ignore[no-untyped-def]
        self.rows_read.append(collection)
        if not self.go.is_set():
            self.held.set()
        assert self.go.wait(timeout=120), "an index build was held and never let go"
        return self._store.rows(collection)


def test_a_question_after_a_sync_does_not_wait_for_the_index_rebuild(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(hybrid=True)
    collection = kb.settings.collection("kb")
    kb.syncer.sync(collection)
    reads = HeldReads(kb.lexical_store)
    kb.lexical_store = reads
    assert ranked(kb, RARE)[0] == "canon.md" and reads.rows_read == ["kb"]  # the first index, built inline
    (folder / "zebra.md").write_text("# Zebra ZD421 labels\n\nZX-9912 means the ribbon is out.\n", encoding="utf-8")
    (folder / "canon.md").unlink()
    kb.syncer.sync(collection)  # another process's sync, as far as this index knows
    reads.go.clear()
    answered = threading.Event()
    asking = threading.Thread(target=lambda: (ranked(kb, RARE), answered.set()))
    asking.start()
    # Held, an inline rebuild would never let the question finish: it is answered from the previous index,
    # without the removed page (the retriever drops passages of replaced files).
    assert answered.wait(timeout=60), "the question waited for the index rebuild"
    assert reads.held.wait(timeout=60), "no rebuild started"
    assert "canon.md" not in ranked(kb, RARE)
    assert reads.rows_read == ["kb", "kb"]  # the rebuild started once, however many questions came
    reads.go.set()
    kb.retriever.warm()  # waits for the rebuild under way instead of starting another
    assert reads.rows_read == ["kb", "kb"]
    assert ranked(kb, "ZX-9912")[0] == "zebra.md"
