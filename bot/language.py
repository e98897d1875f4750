"""Language: which of the nine supported languages to answer in, and the bot's own short messages in each."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Final, Protocol

# The languages the answer model writes well, by ISO 639-1 code, with the English name the system prompt uses.
LANGUAGES: Final[Mapping[str, str]] = {
    "en": "English",
    "ar": "Arabic",
    "zh": "Chinese",
    "fr": "French",
    "de": "German",
    "ja": "Japanese",
    "ko": "Korean",
    "pt": "Portuguese",
    "es": "Spanish",
}

# Formal address throughout (vous, Sie, usted, 您, です/ます, 합니다): the bot speaks for the company to anyone.
# {contact} is a channel, a team or a person, so each sentence is built to need no article or case ending before it.
MESSAGES: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "not_found": "I couldn't find this in the knowledge base.",
        "not_found_near": "I couldn't find an answer to this in the knowledge base; these pages come closest.",
        "escalate": "You can ask {contact}.",
        "failed": "Sorry, something went wrong while answering. Please try again in a moment.",
        "interrupted": (
            "Sorry, your question was interrupted because the bot is restarting. Please ask it again in a moment."
        ),
        "restarting": "The bot is restarting and cannot take new questions right now. Please ask again in a moment.",
        "not_grounded": "I could not find an answer the knowledge base backs up; these pages may help.",
        "excerpt_lead": "Here is what the knowledge base says:",
        "preview_lead": "Excerpt from the knowledge base, while I write a full answer:",
        "restarted": "Sorry for the wait, I restarted:",
        "learned": "Saved; I will answer this from now on.",
        "saved_for_review": "Saved for review: once an admin approves it, I will answer this from it.",
        "too_late": (
            "Sorry, I restarted, and your question has waited too long for me to answer it now. Please ask it again."
        ),
        "sources": "Sources",
        "closest": "Closest pages",
    },
    "ar": {
        "not_found": "لم أجد هذه المعلومة في قاعدة المعرفة.",
        "not_found_near": "لم أجد إجابة عن هذا في قاعدة المعرفة؛ هذه أقرب الصفحات إليه.",
        "escalate": "يمكنك التواصل مع {contact}.",
        "failed": "عذرًا، حدث خطأ أثناء إعداد الإجابة. يُرجى المحاولة مرة أخرى بعد قليل.",
        "interrupted": "عذرًا، انقطعت الإجابة عن سؤالك بسبب إعادة تشغيل البوت. يُرجى طرح السؤال مرة أخرى بعد قليل.",
        "restarting": "تجري الآن إعادة تشغيل البوت ولا يمكنه استقبال أسئلة جديدة. يُرجى طرح سؤالك مرة أخرى بعد قليل.",
        "not_grounded": "لم أجد إجابة تدعمها قاعدة المعرفة؛ قد تفيدك هذه الصفحات.",
        "excerpt_lead": "إليك ما تقوله قاعدة المعرفة:",
        "preview_lead": "مقتطف من قاعدة المعرفة، ريثما أكتب إجابة كاملة:",
        "restarted": "عذرًا على الانتظار، لقد أُعيد تشغيلي:",
        "learned": "تم الحفظ؛ سأجيب عن هذا من الآن فصاعدًا.",
        "saved_for_review": "حُفظ للمراجعة: بعد موافقة أحد المسؤولين سأجيب عن هذا منه.",
        "too_late": "عذرًا، أُعيد تشغيلي وانتظر سؤالك طويلًا. يُرجى طرحه مرة أخرى.",
        "sources": "المصادر",
        "closest": "أقرب الصفحات",
    },
    "zh": {
        "not_found": "在知识库中没有找到相关内容。",
        "not_found_near": "在知识库中没有找到这个问题的答案；以下是最接近的页面。",
        "escalate": "您可以联系{contact}。",
        "failed": "抱歉，生成回答时出了点问题。请稍后再试。",
        "interrupted": "抱歉，机器人正在重启，您的问题被中断了。请稍后重新提问。",
        "restarting": "机器人正在重启，暂时无法接收新问题。请稍后再提问。",
        "not_grounded": "未能在知识库中找到有依据的答案；以下页面或许有帮助。",
        "excerpt_lead": "知识库中的相关内容如下：",
        "preview_lead": "在我撰写完整回答期间，先请看知识库中的相关摘录：",
        "restarted": "抱歉久等了，我刚刚重启过：",
        "learned": "已保存；从现在起我会回答这个问题。",
        "saved_for_review": "已保存待审核：管理员批准后，我会据此回答这个问题。",
        "too_late": "抱歉，我重启了，您的问题已等待太久。请重新提问。",
        "sources": "来源",
        "closest": "最接近的页面",
    },
    "fr": {
        "not_found": "Je n'ai pas trouvé cette information dans la base de connaissances.",
        "not_found_near": (
            "Je n'ai pas trouvé de réponse à cette question dans la "
            "base de connaissances ; voici les pages qui s'en approchent le plus."
        ),
        "escalate": "Vous pouvez contacter {contact}.",
        "failed": "Désolé, une erreur s'est produite en préparant la réponse. Veuillez réessayer dans un instant.",
        "interrupted": (
            "Désolé, votre question a été interrompue par un redémarrage du bot. Veuillez la reposer dans un instant."
        ),
        "restarting": (
            "Le bot redémarre et ne peut pas prendre de nouvelles questions pour le moment. "
            "Veuillez réessayer dans un instant."
        ),
        "not_grounded": (
            "Je n'ai pas trouvé de réponse étayée par la base de connaissances ; ces pages peuvent vous aider."
        ),
        "excerpt_lead": "Voici ce que dit la base de connaissances :",
        "preview_lead": "Extrait de la base de connaissances, en attendant ma réponse complète :",
        "restarted": "Désolé pour l'attente, j'ai redémarré :",
        "learned": "Enregistré ; je répondrai à cette question désormais.",
        "saved_for_review": (
            "Enregistré pour relecture : une fois approuvé par un administrateur, je répondrai à partir de ce message."
        ),
        "too_late": "Désolé, j'ai redémarré et votre question a attendu trop longtemps. Veuillez la reposer.",
        "sources": "Sources",
        "closest": "Pages les plus proches",
    },
    "de": {
        "not_found": "Dazu habe ich in der Wissensdatenbank nichts gefunden.",
        "not_found_near": (
            "Dazu habe ich in der Wissensdatenbank keine Antwort gefunden; am nächsten kommen diese Seiten."
        ),
        "escalate": "Sie können {contact} fragen.",
        "failed": "Entschuldigung, beim Beantworten ist ein Fehler aufgetreten. Bitte versuchen Sie es gleich erneut.",
        "interrupted": (
            "Entschuldigung, Ihre Frage wurde durch einen Neustart des Bots unterbrochen. "
            "Bitte stellen Sie sie gleich noch einmal."
        ),
        "restarting": (
            "Der Bot wird gerade neu gestartet und nimmt keine neuen Fragen an. Bitte fragen Sie gleich noch einmal."
        ),
        "not_grounded": (
            "Ich habe keine durch die Wissensdatenbank belegte Antwort gefunden; diese Seiten können Ihnen helfen."
        ),
        "excerpt_lead": "Das steht dazu in der Wissensdatenbank:",
        "preview_lead": "Auszug aus der Wissensdatenbank, während ich eine vollständige Antwort schreibe:",
        "restarted": "Entschuldigung für die Wartezeit, ich wurde neu gestartet:",
        "learned": "Gespeichert; ab jetzt beantworte ich diese Frage.",
        "saved_for_review": "Zur Prüfung gespeichert: Sobald ein Admin zustimmt, beantworte ich diese Frage damit.",
        "too_late": (
            "Entschuldigung, ich wurde neu gestartet und Ihre Frage hat zu lange gewartet. "
            "Bitte stellen Sie sie noch einmal."
        ),
        "sources": "Quellen",
        "closest": "Nächstliegende Seiten",
    },
    "ja": {
        "not_found": "ナレッジベースに該当する情報が見つかりませんでした。",
        "not_found_near": "ナレッジベースにこの質問への回答は見つかりませんでした。最も近いページは次のとおりです。",
        "escalate": "{contact}にお問い合わせください。",
        "failed": "申し訳ありません。回答の作成中に問題が発生しました。しばらくしてからもう一度お試しください。",
        "interrupted": (
            "申し訳ありません。ボットの再起動により、ご質問への回答が中断されました。"
            "しばらくしてからもう一度ご質問ください。"
        ),
        "restarting": (
            "ボットを再起動中のため、現在新しいご質問を受け付けられません。しばらくしてからもう一度お試しください。"
        ),
        "not_grounded": (
            "ナレッジベースに裏付けのある回答が見つかりませんでした。以下のページが参考になるかもしれません。"
        ),
        "excerpt_lead": "ナレッジベースには次のように記載されています：",
        "preview_lead": "回答を作成している間に、ナレッジベースの該当箇所をお見せします：",
        "restarted": "お待たせしました。再起動しました：",
        "learned": "保存しました。今後はこの質問に答えます。",
        "saved_for_review": "レビュー用に保存しました。管理者が承認すると、この内容で回答します。",
        "too_late": "申し訳ありません。再起動したため、ご質問への回答が遅くなりすぎました。もう一度質問してください。",
        "sources": "出典",
        "closest": "最も近いページ",
    },
    "ko": {
        "not_found": "지식 베이스에서 관련 내용을 찾지 못했습니다.",
        "not_found_near": "지식 베이스에서 이 질문에 대한 답을 찾지 못했습니다. 가장 가까운 페이지는 다음과 같습니다.",
        # Korean picks 에/에게 by whether the contact is a team or a person; "쪽으로" fits both.
        "escalate": "{contact} 쪽으로 문의해 주세요.",
        "failed": "죄송합니다. 답변을 준비하는 중에 문제가 발생했습니다. 잠시 후 다시 시도해 주세요.",
        "interrupted": "죄송합니다. 봇이 다시 시작되어 질문에 대한 답변이 중단되었습니다. 잠시 후 다시 질문해 주세요.",
        "restarting": "봇이 다시 시작되는 중이라 지금은 새 질문을 받을 수 없습니다. 잠시 후 다시 질문해 주세요.",
        "not_grounded": "지식 베이스에서 근거가 확인된 답변을 찾지 못했습니다. 다음 페이지가 도움이 될 수 있습니다.",
        "excerpt_lead": "지식 베이스의 관련 내용은 다음과 같습니다:",
        "preview_lead": "전체 답변을 작성하는 동안 지식 베이스의 관련 내용을 먼저 보여 드립니다:",
        "restarted": "기다리게 해서 죄송합니다. 다시 시작했습니다:",
        "learned": "저장했습니다. 이제부터 이 질문에 답하겠습니다.",
        "saved_for_review": "검토를 위해 저장했습니다. 관리자가 승인하면 이 내용으로 답하겠습니다.",
        "too_late": "죄송합니다. 다시 시작하는 동안 질문이 너무 오래 기다렸습니다. 다시 질문해 주세요.",
        "sources": "출처",
        "closest": "가장 가까운 페이지",
    },
    "pt": {
        # Wording that reads naturally in both Brazil and Portugal.
        "not_found": "Não encontrei esta informação na base de conhecimento.",
        "not_found_near": (
            "Não encontrei uma resposta para isto na base de conhecimento; estas são as páginas mais próximas."
        ),
        "escalate": "Pode falar com {contact}.",
        "failed": "Desculpe, ocorreu um erro ao preparar a resposta. Tente novamente em instantes.",
        "interrupted": (
            "Desculpe, a sua pergunta foi interrompida por um reinício do bot. Faça-a novamente dentro de instantes."
        ),
        "restarting": (
            "O bot vai ser reiniciado e não pode receber novas perguntas agora. Tente novamente dentro de instantes."
        ),
        "not_grounded": "Não encontrei uma resposta fundamentada na base de conhecimento; estas páginas podem ajudar.",
        "excerpt_lead": "Eis o que diz a base de conhecimento:",
        "preview_lead": "Trecho da base de conhecimento, enquanto escrevo uma resposta completa:",
        "restarted": "Desculpe a espera, fui reiniciado:",
        "learned": "Salvo; a partir de agora responderei a isto.",
        "saved_for_review": "Salvo para revisão: quando um administrador aprovar, responderei a isto com base nele.",
        "too_late": "Desculpe, fui reiniciado e a sua pergunta esperou demasiado tempo. Por favor, faça-a de novo.",
        "sources": "Fontes",
        "closest": "Páginas mais próximas",
    },
    "es": {
        "not_found": "No encontré esta información en la base de conocimientos.",
        "not_found_near": (
            "No encontré una respuesta a esto en la base de conocimientos; estas son las páginas más cercanas."
        ),
        "escalate": "Puede ponerse en contacto con {contact}.",
        "failed": "Lo siento, algo salió mal al preparar la respuesta. Vuelva a intentarlo en un momento.",
        "interrupted": (
            "Lo siento, su pregunta se interrumpió porque el bot se está reiniciando. Vuelva a hacerla en un momento."
        ),
        "restarting": (
            "El bot se está reiniciando y ahora no puede recibir preguntas nuevas. Vuelva a intentarlo en un momento."
        ),
        "not_grounded": (
            "No encontré una respuesta respaldada por la base de conocimientos; estas páginas pueden ayudarle."
        ),
        "excerpt_lead": "Esto es lo que dice la base de conocimientos:",
        "preview_lead": "Extracto de la base de conocimientos, mientras escribo una respuesta completa:",
        "restarted": "Perdona la espera, me he reiniciado:",
        "learned": "Guardado; a partir de ahora responderé a esto.",
        "saved_for_review": "Guardado para revisión: cuando un administrador lo apruebe, responderé a esto con ello.",
        "too_late": "Lo siento, me he reiniciado y tu pregunta ha esperado demasiado. Vuelve a hacerla, por favor.",
        "sources": "Fuentes",
        "closest": "Páginas más cercanas",
    },
}

# What carries no language, removed before detection so a traceback or a link doesn't outvote the one-line question.
_NOISE: Final = [
    re.compile(r"```.*?(?:```|\Z)", re.DOTALL),  # fenced code, closed or left open at the end
    re.compile(r"`[^`\n]*`"),  # inline code
    re.compile(r"^(?: {4}|\t).*$", re.MULTILINE),  # Markdown's indented code
    # Chat platforms' markup: <@U123>, <#C1|name>, <@!123>, <@&1>, <!here>, <https://…|label>, <:emoji:1>, <t:1:R>
    re.compile(r"<[^<>\s][^<>]*>"),
    re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE),
    re.compile(r"\S+@\S+\.\w+"),  # e-mail addresses
    re.compile(r":[a-z0-9_+\-]+:"),  # emoji shortcodes such as :smile: and :+1:
    # Identifiers, paths, versions and acronyms (VPN, SSO, ERR_CONNECTION_RESET): ASCII only, so that a Chinese or
    # Japanese sentence, which has no spaces, is never swallowed whole with the Latin word inside it.
    re.compile(r"[!-~]*[/\\][!-~]*"),
    re.compile(r"\b\w+(?:\.\w+)+\b|\b\w*[\d_]\w*\b|\b[a-z]+[A-Z]\w*\b|\b[A-Z]{2,}s?\b", re.ASCII),
]
# A Latin-script word without a vowel is a keyboard mash or a sound ("xkcd", "hmm", "zzz"), not a language.
# Unicode word boundaries here, so "für" is one word; two letters at least, so French "l'" and "j'" stay.
_VOWELLESS: Final = re.compile(r"\b[b-df-hj-np-tv-xz]{2,}\b", re.IGNORECASE)
# Elisions count as one word: "d'accord" is a single word, and as uncertain as one.
_WORD: Final = re.compile(r"\w+(?:['’]\w+)*")


class LanguageDetector(Protocol):
    """Tells the language of a chat message, or None when the text is too short or not language at all."""

    def detect(self, text: str) -> str | None:
        """An ISO 639-1 code from LANGUAGES, or None when unsure."""
        ...


def prose(text: str) -> str:
    """The message with code, links, mentions and emoji codes removed: what is left to tell the language from."""
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    return _VOWELLESS.sub(" ", text)


class LinguaDetector:
    """Lingua's n-gram models, restricted to the nine answer languages (which also makes it more accurate)."""

    # Thresholds on lingua's "relative distance", the gap between the two best confidences (0..1), measured on ~270
    # chat messages. Full questions mostly score 0.15-1.0; fragments like "no funciona" or "and on Mac?" score under
    # 0.07 and are often wrong, so they go to the thread's language. One word needs far more: "hello" scores 0.17 for
    # Spanish, "qwerty" 0.35 for English, while "thanks", "danke", "obrigado" score over 0.65. Hence two thresholds,
    # applied here rather than with lingua's builder option, which has one for every length.
    MIN_DISTANCE: Final = 0.1
    MIN_DISTANCE_ONE_WORD: Final = 0.5

    def __init__(
        self, *, min_distance: float = MIN_DISTANCE, min_distance_one_word: float = MIN_DISTANCE_ONE_WORD
    ) -> None:
        # Imported here so that `say` and the tables work in tools and tests that never detect anything.
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(code)) for code in LANGUAGES]
        # Preloading takes ~0.5 s and ~200 MB once, at start-up, rather than ~1 s on the first user's message;
        # afterwards a call takes well under a millisecond. Build one and share it.
        self._lingua = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
        self._min_distance = min_distance
        self._min_distance_one_word = min_distance_one_word

    def detect(self, text: str) -> str | None:
        text = prose(text)
        words = len(_WORD.findall(text))
        if words == 0:
            return None
        best, second = self._lingua.compute_language_confidence_values(text)[:2]
        needed = self._min_distance_one_word if words == 1 else self._min_distance
        if best.value == 0 or best.value - second.value < needed:
            return None
        return best.language.iso_code_639_1.name.lower()


@cache
def shared_detector() -> LinguaDetector:
    """One detector a process (~200 MB, ~1.5 s to build): what sync and the conversation manager both use."""
    return LinguaDetector()


def response_language(
    text: str,
    *,
    detector: LanguageDetector,
    forced: str | None = None,
    previous: str | None = None,
    default: str = "en",
) -> str:
    """The language to answer `text` in: the channel's forced one, else the detected one, else the thread's, else
    `default`. A thread keeps its language through "VPN?" or "👍", which no detector can place."""
    for setting, value in (("forced", forced), ("default", default)):
        if value is not None and value not in LANGUAGES:
            raise ValueError(f"The {setting} language {value!r} is not supported; use one of {', '.join(LANGUAGES)}.")
    if forced is not None:
        return forced
    detected = detector.detect(text)
    if detected is not None and detected in LANGUAGES:
        return detected
    # A thread's language comes from history that may predate a change to LANGUAGES, so check it too.
    if previous is not None and previous in LANGUAGES:
        return previous
    return default


def say(key: str, language: str, **fields: str) -> str:
    """One of the bot's own messages (a key of MESSAGES["en"]) in `language`, English if that language has none."""
    template = MESSAGES.get(language, {}).get(key) or MESSAGES["en"][key]
    return template.format(**fields)
