"""Re-ranking by sentences: a page whose one sentence answers the question goes before a page that is only about the
question's topic, with either embedder's score scale; the sentences are embedded once per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.messages import Answer, IncomingMessage, Preview
from bot.queue import Queued
from bot.rerank import SentenceRerank, units
from bot.wiring import Bot, Knowledge
from knowledge.documents import Hit
from knowledge.vectors import PassageVectors

PAGES = {
    # about the VPN throughout, and silent on its port
    "remote.md": "# Working remotely\n\nThe VPN keeps your connection to Acme private when you work from home, a "
    "café or a hotel. Connect to the VPN before you open internal sites, and keep the VPN on while you work remotely. "
    "If the VPN drops, connect again.\n",
    "news.md": "# VPN news\n\nThe VPN app has a new look this year. The VPN team thanks everyone who tried the VPN "
    "beta. More VPN news follows in spring.\n",
    # about everything, and the one page that says the port
    "facts.md": "# Office facts\n\nThe lifts are serviced on Mondays. Lost property goes to reception. The kitchen has "
    "free tea. The canteen opens at noon and closes at two. Visitor badges wait at reception. Parking is free after "
    "six. The VPN server listens on UDP port 1194. Printers stand on every floor.\n",
}
QUESTION = "Which UDP port is the VPN on?"


def test_the_page_whose_sentence_answers_comes_into_the_first_passages(make_config, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "kb"
    root.mkdir()
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    # Dense ranking alone (no BM25 nor titles, which would find "UDP" and "port" by their words): the two pages
    # about the VPN throughout are nearer as a whole than the page with one sentence on it.
    plain = {"hybrid": False, "title_weight": 0}
    config = make_config(root, retrieval={**plain, "sentence_weight": 0})
    knowledge = Knowledge(load_settings(config), prebuilt_embedder=embedder)
    knowledge.syncer.sync(knowledge.settings.collection("kb"))
    before = knowledge.retriever.search(QUESTION, collections=["kb"], k=2)
    assert [h.path for h in before] == ["remote.md", "news.md"]

    config = make_config(root, retrieval={**plain, "sentence_weight": 1.0})
    reranked = Knowledge(load_settings(config), prebuilt_embedder=embedder)
    after = reranked.retriever.search(QUESTION, collections=["kb"], k=2)
    assert [h.path for h in after] == ["remote.md", "facts.md"]
    cosines = {h.path: h.score for h in knowledge.retriever.search(QUESTION, collections=["kb"])}
    assert all(h.score == pytest.approx(cosines[h.path]) for h in after)  # each keeps its cosine: abstention reads it


@pytest.mark.parametrize("model", ["embedder", "e5_embedder"])  # all-MiniLM-L6-v2 and multilingual-e5-small
def test_the_sentence_ranking_is_fused_with_retrievals_own(model: str, request: pytest.FixtureRequest) -> None:
    embedder = request.getfixturevalue(model)
    hits = [hit(path, text.split("\n\n", 1)[1], 0.5) for path, text in PAGES.items()]  # retrieval's order, one score
    reranked = SentenceRerank(PassageVectors(embedder), weight=1.0)(embedder.embed_query(QUESTION), hits)
    # facts.md has the best sentence by far: from third to second (ranks 3 and 1 fuse level with remote.md's 1 and
    # 2 or 3, and a tie keeps retrieval's order); never first over a page retrieval put first
    assert [h.path for h in reranked] == ["remote.md", "facts.md", "news.md"]


class Quoting:
    """A model on a CPU that answers with the first sentence of the first passage it is given, remembering prompts."""

    name = "quoting"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def stream(self, messages, *, max_new_tokens: int):  # type: ignore[no-untyped-def]
        self.prompts.append("\n".join(m.content for m in messages))
        passage = self.prompts[-1].split("<document1>\n", 1)[1].split("\n</document1>", 1)[0]
        yield passage.split("\n\n", 1)[-1].split(". ")[0] + "."

    def count_tokens(self, text: str) -> int:
        return len(text) // 4


def test_the_excerpt_comes_before_the_sentences_are_embedded_and_the_model_reads_the_reranked_passages(  # type: ignore[no-untyped-def]
    make_config, embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedding the passages' sentences takes most of a second on a CPU: the excerpt shown while a model reads comes
    first, from retrieval's own first passages; the model then reads the re-ranked ones. With nobody watching the
    answer grow (answer()), the re-ranking comes at once."""
    root = tmp_path / "kb"
    root.mkdir()
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    # retrieval's own order as the test above has it: dense alone (hubness, which sees "VPN news" as less of a hub
    # than the remote-work page for English questions, would put news.md first; the re-ranking is what is tested)
    retrieval = {"hybrid": False, "title_weight": 0, "hub_weight": 0, "sentence_weight": 1.0}
    config = make_config(root, retrieval=retrieval, bot={"top_k": 2, "preview": "excerpt", "abstain": "lenient"})
    knowledge = Knowledge(load_settings(config), prebuilt_embedder=embedder)
    knowledge.syncer.sync(knowledge.settings.collection("kb"))
    reranked: list[int] = []
    original = SentenceRerank.__call__

    def counted(self, query, hits):  # type: ignore[no-untyped-def]
        reranked.append(len(hits))
        return original(self, query, hits)

    monkeypatch.setattr(SentenceRerank, "__call__", counted)
    model = Quoting()
    bot = Bot(knowledge, warn=print, prebuilt_generator=model)  # type: ignore[arg-type]
    stream = bot.conversations.stream(IncomingMessage("slack", "T1", "C1", "t1", "U1", QUESTION))
    assert next(stream) == Queued(0)
    preview = next(stream)
    assert isinstance(preview, Preview) and reranked == [] and model.prompts == []
    assert {source.path for source in preview.sources} <= {"remote.md", "news.md"}  # retrieval's own first two
    answer = list(stream)[-1]
    assert isinstance(answer, Answer) and answer.status == "answered" and len(reranked) == 1
    assert "UDP port 1194" in model.prompts[-1] and "VPN news" not in model.prompts[-1]  # the re-ranked first two
    assert "facts.md" in {source.path for source in answer.sources}

    again = bot.conversations.answer(IncomingMessage("slack", "T1", "C1", "t2", "U1", QUESTION))
    assert again.status == "answered" and len(reranked) == 2 and "UDP port 1194" in model.prompts[-1]


def hit(path: str, text: str, score: float) -> Hit:
    return Hit(score=score, chunk_id=path, collection="kb", path=path, title=path, heading="", text=text, position=0)


def test_only_the_first_passages_are_looked_at_again(embedder) -> None:  # type: ignore[no-untyped-def]
    hits = [hit(path, text.split("\n\n", 1)[1], 0.5) for path, text in PAGES.items()]
    query = embedder.embed_query(QUESTION)
    assert SentenceRerank(PassageVectors(embedder), weight=1.0, depth=2)(query, hits) == hits  # facts.md: past it
    assert SentenceRerank(PassageVectors(embedder), weight=1.0)(query, hits[:1]) == hits[:1]


def test_units_are_sentences_and_clauses_without_fragments() -> None:
    found = units("Open Acme Connect. Then sign in with your Acme address, your password and the MFA prompt. OK.")
    assert "Open Acme Connect." in found
    assert "OK." not in found
    assert "your password and the MFA prompt." in found  # a long sentence's clause, matched on its own
    assert units("OK.") == ["OK."]  # nothing longer: the passage itself


class Counting:
    def __init__(self, embedder) -> None:  # type: ignore[no-untyped-def]
        self.embedder = embedder
        self.embedded: list[str] = []

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        self.embedded.extend(texts)
        return self.embedder.embed_passages(texts)


def test_each_text_is_embedded_once_and_the_least_recently_used_go_first(embedder) -> None:  # type: ignore[no-untyped-def]
    counting = Counting(embedder)
    vectors = PassageVectors(counting, limit=2)  # type: ignore[arg-type]
    first = vectors(["a cat", "a dog", "a cat"])
    assert counting.embedded == ["a cat", "a dog"]
    assert first.shape[0] == 3 and (first[0] == first[2]).all()
    assert abs(float((first[0] ** 2).sum()) - 1) < 1e-6
    vectors(["a cat"])  # used again: the dog is now the least recently used
    vectors(["a bird"])
    assert counting.embedded == ["a cat", "a dog", "a bird"]
    vectors(["a cat", "a dog"])
    assert counting.embedded == ["a cat", "a dog", "a bird", "a dog"]  # the dog had gone, the cat had stayed
