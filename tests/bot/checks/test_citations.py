"""Citations that hold, end to end through the conversation manager: an invented fact never reaches the asker, only
the pages that back the answer are cited, and an answer nothing backs becomes an abstention with links."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.language import say
from bot.messages import Answer, IncomingMessage
from bot.prompt import ChatMessage
from bot.wiring import Bot, Knowledge
from tests.bot.test_conversations import quoted
from tests.conftest import synced_handbook

INVENTED = "It also needs TCP port 8443 to be open."


class Scripted:
    """A model that writes the given text piece by piece (or, with none, the first passage's first sentences and an
    invented port), remembering the prompts it was asked."""

    name = "scripted"

    def __init__(self, text: str | None = None) -> None:
        self.text, self.prompts = text, []  # type: ignore[var-annotated]

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]:
        self.prompts.append(list(messages))
        text = self.text or f"{quoted(messages)} {INVENTED}"
        for start in range(0, len(text), 7):  # splits words and numbers: "84" then "43"
            yield text[start : start + 7]

    def count_tokens(self, text: str) -> int:
        return len(text) // 4


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    return synced_handbook(tmp_path_factory.mktemp("citations"), embedder)


def ask(config: Path, embedder: object, model: Scripted, question: str) -> tuple[list[str], Answer]:
    bot = Bot(Knowledge(load_settings(config), prebuilt_embedder=embedder), warn=print, prebuilt_generator=model)  # type: ignore[arg-type]
    items = list(bot.conversations.stream(IncomingMessage("cli", "local", "cli", question, "U1", question)))
    answer = items[-1]
    assert isinstance(answer, Answer)
    return [item for item in items if isinstance(item, str)], answer


@pytest.mark.slow
def test_an_invented_port_never_reaches_the_asker_and_only_the_backing_page_is_cited(synced, embedder) -> None:  # type: ignore[no-untyped-def]
    model = Scripted()
    shown, answer = ask(synced, embedder, model, "Which UDP port does the VPN use?")
    given = [line for line in model.prompts[0][-1].content.splitlines() if line.startswith("<document")]
    assert "8443" not in "".join(shown) and "8443" not in answer.text
    assert answer.status == "answered" and answer.text == quoted(model.prompts[0])
    assert "".join(shown).strip() == answer.text  # what streamed is what the answer says
    assert answer.sources[0].path.endswith("vpn.md") and len(answer.sources) < len(given) == 5  # not all 5 given
    assert answer.sources[0].sentences == (0, 1)
    assert answer.sentences is not None and answer.sentences.invented == 1 and answer.supported == 1.0
    shape = answer.as_dict()
    assert shape["supported"] == 1.0 and shape["sources"][0]["sentences"] == [0, 1]  # type: ignore[index]


@pytest.mark.slow
def test_an_answer_no_page_backs_is_an_abstention_that_links_the_closest_pages(synced, embedder) -> None:  # type: ignore[no-untyped-def]
    written = "Restart the router twice and wait 45 minutes. Then call extension 9911."
    shown, answer = ask(synced, embedder, Scripted(written), "How do I connect to the VPN?")
    assert answer.status == "abstained" and answer.text == say("not_grounded", "en")
    assert not "".join(shown).strip()  # every sentence stated a number no page holds: nothing was shown
    assert any(s.path == "it/vpn.md" for s in answer.sources)  # the pages that may help, linked
    assert answer.sentences is not None and answer.sentences.invented == 2
