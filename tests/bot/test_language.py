"""Language: detection on real chat messages, markup stripped first, the fallbacks, and every localised message."""

from __future__ import annotations

import re
import time

import pytest

from bot.language import LANGUAGES, MESSAGES, LanguageDetector, LinguaDetector, prose, response_language, say

# Short support messages as people type them in chat: questions, complaints and thanks, with product names inside.
CHAT = {
    "en": [
        "How do I reset my password?",
        "Where is the expense policy?",
        "Who approves my vacation request?",
        "is it down?",
        "thanks!",
        "still not working",
        "how do I get access to Jira?",
        "Where can I download the VPN client?",
    ],
    "fr": [
        "Comment me connecter au VPN ?",
        "J'ai oublié mon mot de passe",
        "Qui valide mes congés ?",
        "toujours pas",
        "ça marche pas",
        "bonjour",
        "Où puis-je télécharger le client VPN ?",
        "comment avoir accès à Jira ?",
    ],
    "de": [
        "Wie beantrage ich Urlaub?",
        "Ich habe mein Passwort vergessen",
        "Wo finde ich die Reisekostenrichtlinie?",
        "es geht nicht",
        "und auf dem Mac?",
        "danke",
        "vielen Dank",
        "Wie bekomme ich Zugriff auf Jira?",
    ],
    "es": [
        "¿Cómo solicito vacaciones?",
        "Olvidé mi contraseña",
        "¿Dónde está la política de gastos?",
        "sigue sin funcionar",
        "muchas gracias",
        "¿Cómo me conecto a la VPN?",
        "mi portátil no enciende",
        "¿El lunes es festivo?",
    ],
    "pt": [
        "Como peço férias?",
        "Esqueci minha senha",
        "Quem aprova minhas férias?",
        "não funciona",
        "obrigado",
        "Como consigo acesso ao Jira?",
        "meu crachá parou de funcionar",
        "Segunda-feira é feriado?",
    ],
    "ja": [
        "VPNに接続できません",
        "パスワードを忘れました",
        "休暇の申請方法を教えてください",
        "ありがとう",
        "Macではどうですか？",
    ],
    "zh": ["我怎么连接VPN？", "我忘记密码了", "怎么申请休假？", "谢谢", "Mac上呢？"],
    "ko": [
        "비밀번호를 잊어버렸어요",
        "VPN에 어떻게 연결하나요?",
        "휴가 신청은 어떻게 하나요?",
        "감사합니다",
        "맥에서는요?",
    ],
    "ar": ["كيف أعيد تعيين كلمة المرور؟", "لا أستطيع الاتصال بالـ VPN", "كيف أطلب إجازة؟", "شكرا", "وعلى الماك؟"],
}

# Nothing here says which language to answer in: the thread's language should decide.
NOT_LANGUAGE = [
    "",
    "   ",
    "VPN?",
    "SSO??",
    "👍",
    "😀😀🎉",
    "ok",
    "lol",
    "Jira",
    "+1",
    "404",
    "ERR_CONNECTION_RESET",
    "xkcd qwrtz",
    "https://intranet.example.com/hr/leave",
    ":+1:",
    "<@U024BE7LH>",
    "```\nkubectl get pods\n```",
]


class ScriptedDetector:
    """A fake with memory: answers from a script (None for anything else) and records every text it was asked."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    def detect(self, text: str) -> str | None:
        self.asked.append(text)
        return self.answers.get(text)


@pytest.fixture(scope="session")
def lingua() -> LinguaDetector:
    return LinguaDetector()  # loads its models once, ~0.5 s


@pytest.fixture(params=["lingua", "scripted"])
def detector(request: pytest.FixtureRequest, lingua: LinguaDetector) -> LanguageDetector:
    if request.param == "lingua":
        return lingua
    return ScriptedDetector({"Wie beantrage ich Urlaub?": "de", "我怎么连接VPN？": "zh"})


# The LanguageDetector contract, run against every implementation.


def test_a_detector_answers_a_supported_code_or_none(detector: LanguageDetector) -> None:
    for text in ["Wie beantrage ich Urlaub?", "我怎么连接VPN？", "asdf", "ok", "🙂"]:
        assert detector.detect(text) in {*LANGUAGES, None}


@pytest.mark.parametrize("text", ["", "   ", "👍", "<@U024BE7LH>"])
def test_a_detector_answers_none_without_text(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) is None


# Lingua on chat messages.


def test_every_language_is_detected_on_short_chat_messages(lingua: LinguaDetector) -> None:
    cases = [(code, text) for code, texts in CHAT.items() for text in texts]
    start = time.perf_counter()
    found = [(code, text, lingua.detect(text)) for code, text in cases]
    per_call_ms = (time.perf_counter() - start) * 1000 / len(cases)
    misses = [(text, code, got) for code, text, got in found if got != code]
    print(f"\nlanguage detection: {len(cases) - len(misses)}/{len(cases)} right, {per_call_ms:.3f} ms per call")
    assert set(CHAT) == set(LANGUAGES)
    assert all(len(texts) >= 4 for texts in CHAT.values())
    assert misses == []


@pytest.mark.parametrize("text", NOT_LANGUAGE)
def test_fragments_without_language_are_left_undecided(lingua: LinguaDetector, text: str) -> None:
    assert lingua.detect(text) is None


def test_code_mentions_and_links_do_not_outvote_the_question(lingua: LinguaDetector) -> None:
    message = (
        "<@U024BE7LH> <#C0123|it-help> :sweat_smile: j'ai cette erreur quand je lance le script, "
        "vous savez pourquoi ?\n```\nTraceback (most recent call last):\n"
        '  File "sync.py", line 12, in <module>\n    main()\n'
        "ConnectionError: could not reach the server, please check your network settings and try again\n```\n"
        "voir https://wiki.example.com/how-to-fix-connection-errors et `requests.get(url, timeout=10)`"
    )
    assert lingua.detect(message) == "fr"


def test_discord_markup_is_stripped_too(lingua: LinguaDetector) -> None:
    message = "<@!80351110224678912> <:pepe:123456> Wo finde ich die Anleitung für den Drucker? <t:1700000000:R>"
    assert lingua.detect(message) == "de"


def test_prose_keeps_the_words_and_drops_the_markup() -> None:
    text = "<@U1> <#C1|general> <@!123> :smile: see `pip install x` and https://x.example/a?b=1 — der ERR_X Drucker"
    words = prose(text).split()
    assert words == ["see", "and", "—", "der", "Drucker"]


def test_prose_never_swallows_a_sentence_written_without_spaces() -> None:
    assert "连接" in prose("我怎么连接VPN？") and "接続" in prose("VPN_v2に接続できません")


# Which language to answer in.


def test_a_forced_channel_language_wins_without_detecting() -> None:
    detector = ScriptedDetector({"Wie beantrage ich Urlaub?": "de"})
    assert response_language("Wie beantrage ich Urlaub?", detector=detector, forced="ja", previous="fr") == "ja"
    assert detector.asked == []


def test_the_detected_language_beats_the_thread() -> None:
    detector = ScriptedDetector({"Comment me connecter au VPN ?": "fr"})
    assert response_language("Comment me connecter au VPN ?", detector=detector, previous="en") == "fr"


@pytest.mark.parametrize("text", ["VPN?", "👍", "ok"])
def test_an_undecided_message_keeps_the_thread_language(lingua: LinguaDetector, text: str) -> None:
    assert response_language(text, detector=lingua, previous="ko") == "ko"


def test_without_a_thread_language_the_default_answers() -> None:
    assert response_language("👍", detector=ScriptedDetector()) == "en"
    assert response_language("👍", detector=ScriptedDetector(), default="de") == "de"


def test_a_stored_thread_language_no_longer_supported_is_ignored() -> None:
    assert response_language("👍", detector=ScriptedDetector(), previous="it", default="es") == "es"


@pytest.mark.parametrize("setting", ["forced", "default"])
def test_an_unsupported_configured_language_is_refused(setting: str) -> None:
    with pytest.raises(ValueError, match="not supported; use one of en, ar"):
        response_language("hi", detector=ScriptedDetector(), **{setting: "klingon"})


# The bot's own messages.


def test_every_language_has_every_message() -> None:
    assert set(MESSAGES) == set(LANGUAGES)
    for code in LANGUAGES:
        assert (
            set(MESSAGES[code])
            == set(MESSAGES["en"])
            == {
                "learned",
                "saved_for_review",
                "not_found",
                "not_found_near",
                "not_grounded",
                "escalate",
                "failed",
                "interrupted",
                "restarting",
                "sources",
                "closest",
                "excerpt_lead",
                "preview_lead",
                "restarted",
                "too_late",
            }
        )
        assert all(text.strip() for text in MESSAGES[code].values())


@pytest.mark.parametrize("code", LANGUAGES)
def test_only_escalate_has_a_placeholder_and_it_is_contact(code: str) -> None:
    for key, template in MESSAGES[code].items():
        assert re.findall(r"{(\w*)}", template) == (["contact"] if key == "escalate" else [])
    assert "#it-help" in say("escalate", code, contact="#it-help")
    assert "{" not in say("escalate", code, contact="#it-help")


@pytest.mark.parametrize("code", [code for code in LANGUAGES if code != "en"])
def test_messages_are_written_in_their_language(lingua: LinguaDetector, code: str) -> None:
    for key in ("not_found", "not_found_near", "failed"):
        assert lingua.detect(say(key, code)) == code


def test_say_falls_back_to_english() -> None:
    assert say("not_found", "it") == "I couldn't find this in the knowledge base."
    assert say("escalate", "xx", contact="@maria") == "You can ask @maria."
    assert say("sources", "de") == "Quellen"
