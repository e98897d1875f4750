"""The answer evaluation: questions read, answers scored per language as a person reading them would judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.checks.evaluation import (
    AnswerQuestion,
    evaluate_answers,
    own_words,
    read_answer_questions,
    score_answers,
    summarise_answers,
)
from bot.messages import Answer, SentenceCounts, Source
from knowledge.evaluation import QuestionsError

VPN = Source("VPN", "", "it/vpn.md", None, "handbook")


def answer(text: str, status: str = "answered", *, sources: tuple[Source, ...] = (VPN,),
           sentences: SentenceCounts | None = None) -> Answer:  # fmt: skip
    return Answer(text, sources, "en", status, "m", sentences=sentences)  # type: ignore[arg-type]


def test_a_line_may_expect_one_string_or_any_of_several_or_nothing_and_gold_may_be_null(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [
        {"question": "VPN port?", "language": "en", "gold": "it/vpn.md", "answer_contains": "1194"},
        {
            "question": "Urlaub?",
            "language": "de",
            "gold": "hr/holidays.md",
            "answer_contains": ["25", "fünfundzwanzig"],
        },
        {"question": "Who is the CEO?", "language": "en", "gold": None},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    assert read_answer_questions(path) == [
        AnswerQuestion("VPN port?", "en", "it/vpn.md", ("1194",)),
        AnswerQuestion("Urlaub?", "de", "hr/holidays.md", ("25", "fünfundzwanzig")),
        AnswerQuestion("Who is the CEO?", "en", None, ()),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"question": "x"}', "line 1: expected a JSON object with question, language and gold"),
        ('{"question": "x", "language": "en", "gold": ""}', "gold must be a source path, or null"),
        ('{"question": "x", "language": "en", "gold": null, "answer_contains": [3]}', "answer_contains must be"),
        ("[1, 2]", "line 1: expected a JSON object"),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(QuestionsError, match=reason):
        read_answer_questions(path)


def test_every_figure_of_the_contract_per_language() -> None:
    asked = {
        AnswerQuestion("VPN port?", "en", "it/vpn.md", ("1194",)): answer(
            "The VPN uses UDP port １１９４.", sentences=SentenceCounts(supported=1)
        ),
        AnswerQuestion("Wi-Fi?", "en", "it/wifi.md", ("Acme-Guest",)): answer(
            "Use the guest network.", sentences=SentenceCounts(supported=1, unsupported=1)
        ),
        AnswerQuestion("CEO?", "en", None, ()): answer("not found", "abstained", sources=()),
        AnswerQuestion("Pension?", "en", None, ()): answer("Acme pays 5%.", sentences=SentenceCounts(unsupported=1)),
        AnswerQuestion("VPN-Port?", "de", "it/vpn.md", ("1194",)): answer("nicht gefunden", "abstained", sources=()),
    }
    languages = {"The VPN uses UDP port １１９４.": "en", "Use the guest network.": "en", "Acme pays 5%.": "de"}
    seconds = iter([1.0, 2.0, 3.0, 4.0, 5.0])
    result = evaluate_answers(
        list(asked), ask=lambda q: (asked[q], next(seconds)), detect=lambda text: languages.get(text.strip()),
        model="m",
    )  # fmt: skip
    english = dict(result.per_language)["en"]
    assert (english.questions, english.answerable, english.unanswerable) == (4, 2, 2)
    assert english.accuracy == 0.5  # full-width digits count; the Wi-Fi answer never names the network
    assert english.cited_gold == 0.5  # the Wi-Fi answer cites the VPN page
    assert english.gold_first == 0.5 and english.others_cited == 0.5  # of the two answered: the Wi-Fi one
    assert english.abstained_unanswerable == 0.5 and english.abstained_answerable == 0.0
    assert english.answered_in_language == pytest.approx(2 / 3, abs=1e-4)  # the pension answer came out in German
    assert english.supported == pytest.approx((1 + 0.5 + 0) / 3, abs=1e-4)
    assert english.p50_seconds == 2.5 and english.p95_seconds == 4.0
    german = dict(result.per_language)["de"]
    assert german.abstained_answerable == 1.0 and german.accuracy == 0.0 and german.answered_in_language is None
    assert result.overall.questions == 5
    shape = result.as_dict()
    assert shape["model"] == "m" and set(shape["per_language"]) == {"de", "en"}  # type: ignore[arg-type]
    assert set(shape["overall"]) == {  # type: ignore[arg-type]
        "questions", "answerable", "unanswerable", "accuracy", "cited_gold", "gold_first", "others_cited",
        "abstained_unanswerable",
        "abstained_answerable", "answered_in_language", "supported", "p50_seconds", "p95_seconds",
    }  # fmt: skip


def test_each_answer_not_as_expected_says_what_was_wrong_with_it() -> None:
    wifi = Source("Wi-Fi", "", "it/wifi.md", None, "handbook")
    asked = {
        AnswerQuestion("VPN port?", "en", "it/vpn.md", ("1194",)): answer("UDP port 1194."),
        AnswerQuestion("VPN server?", "en", "it/vpn.md", ("vpn.acme.example",)): answer("Use the VPN client."),
        AnswerQuestion("Guest Wi-Fi?", "en", "it/wifi.md", ()): answer("Ask at reception."),
        AnswerQuestion("MFA?", "en", "it/mfa.md", ()): answer("not found", "abstained", sources=()),
        AnswerQuestion("Wi-Fi code?", "en", "it/wifi.md", ()): answer("not found", "abstained", sources=(wifi,)),
        AnswerQuestion("CEO?", "en", None, ()): answer("not found", "abstained", sources=()),
        AnswerQuestion("Pension?", "en", None, ()): answer("Acme pays 5%."),
        AnswerQuestion("Canteen?", "en", None, ()): answer("", "failed", sources=()),
    }
    result = evaluate_answers(list(asked), ask=lambda q: (asked[q], 1.0), detect=lambda text: "en")
    assert [outcome.fault for outcome in result.outcomes] == [
        None,
        "answered without 'vpn.acme.example'",
        "answered citing it/vpn.md, not it/wifi.md",
        "abstained; it/mfa.md answers it",
        "abstained; it/wifi.md answers it (among the pages linked)",
        None,
        "answered, though no page holds the answer; cited it/vpn.md",
        "failed",
    ]


def test_figures_with_nothing_to_count_are_null_not_zero() -> None:
    only_unanswerable = summarise_answers([]).overall
    assert only_unanswerable.accuracy is None and only_unanswerable.p50_seconds is None
    assert score_answers([]).questions == 0


def test_the_language_of_an_answer_is_told_from_its_own_words_not_what_it_quotes() -> None:
    text = 'Die Seite sagt: "Connect to vpn.acme.example with Acme Connect" und dann `sudo systemctl restart vpn`.'
    words = own_words(text)
    assert "Connect to" not in words and "systemctl" not in words and "Die Seite sagt" in words


def test_an_answer_opening_with_another_page_cites_its_gold_but_not_first() -> None:
    wifi = Source("Wi-Fi", "", "it/wifi.md", None, "handbook")
    asked = {
        AnswerQuestion("VPN port?", "en", "it/vpn.md", ("1194",)): answer("UDP port 1194.", sources=(wifi, VPN)),
        AnswerQuestion("VPN server?", "en", "it/vpn.md", ()): answer("vpn.acme.example", sources=(VPN,)),
        AnswerQuestion("MFA?", "en", "it/mfa.md", ()): answer("not found", "abstained", sources=(wifi,)),
    }
    scores = evaluate_answers(list(asked), ask=lambda q: (asked[q], 1.0), detect=lambda text: "en").overall
    assert scores.cited_gold == pytest.approx(2 / 3, abs=1e-4)  # an abstention's links count there, not below
    assert scores.gold_first == 0.5 and scores.others_cited == 0.5
