"""Drafts of answers learned from people: written whole, listed, approved into the learned collection's folder (as a
page the loaders read: the question as its title), or rejected; nothing else ever reaches the collection."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.learning import DraftError, Drafts
from knowledge.loaders import load_document


def draft(drafts: Drafts, question: str = "Can I bring my dog to the office?") -> str:
    return drafts.write(question=question, reply="Yes, on Fridays, if it is calm.\n\nAsk your team first.",
                        author="Dana", marked_by="Admin Al", link="https://acme.slack.com/archives/C1/p1",
                        language="en").id  # fmt: skip


def test_a_draft_waits_then_is_approved_into_the_learned_folder_as_a_page(tmp_path: Path) -> None:
    drafts = Drafts(tmp_path / "drafts", learned=tmp_path / "kb" / "learned")
    first, second = draft(drafts), draft(drafts, "Is there a gym discount?")
    (tmp_path / "drafts" / "abc.part").write_text("half a draft")  # a crash mid-write
    assert [d.id for d in drafts.waiting()] == [first, second]
    waiting = drafts.waiting()[0]
    assert waiting.reply == "Yes, on Fridays, if it is calm.\n\nAsk your team first." and waiting.author == "Dana"
    assert not (tmp_path / "kb").exists()  # nothing reaches the collection before approval

    page = drafts.approve(first)
    assert page.parent == tmp_path / "kb" / "learned" and page.name == f"can-i-bring-my-dog-to-the-office-{first}.md"
    assert [d.id for d in drafts.waiting()] == [second]
    loaded = load_document(page.read_bytes(), page)
    assert loaded.title == "Can I bring my dog to the office?"
    assert "on Fridays" in loaded.text and "Dana" not in loaded.text and "saved_by" not in loaded.text  # only the
    assert "author: Dana" in page.read_text()  # answer is indexed; who gave it, when and where is kept beside it

    assert drafts.reject(second).question == "Is there a gym discount?"
    assert drafts.waiting() == [] and list((tmp_path / "kb" / "learned").iterdir()) == [page]


def test_unknown_drafts_and_a_missing_learned_collection_are_one_sentence(tmp_path: Path) -> None:
    drafts = Drafts(tmp_path / "drafts", learned=None)
    with pytest.raises(DraftError, match=r"no draft '\.\./etc' waiting"):
        drafts.approve("../etc")
    waiting = draft(drafts)
    with pytest.raises(DraftError, match="names no configured collection"):
        drafts.approve(waiting)
    assert [d.id for d in drafts.waiting()] == [waiting]  # nothing lost


def test_reviews_are_counted_and_waiting_drafts_are_a_gauge(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from bot.config import Settings
    from bot.host import Host
    from bot.operations.metrics import PrometheusMetrics
    from knowledge.config import CollectionConfig

    metrics = PrometheusMetrics()
    settings = Settings(data_dir=tmp_path / "data",
                        collections=[CollectionConfig(name="learned", paths=[str(tmp_path / "learned")])])  # fmt: skip
    host = Host.open(settings, observer=metrics)
    metrics.watch_drafts(lambda: len(host.drafts.waiting()))  # as `supportbot run` does
    kept, dropped, left = draft(host.drafts), draft(host.drafts), draft(host.drafts)
    host.approve(kept)
    host.reject(dropped)
    found = {(s.name, tuple(s.labels.values())): s.value
             for f in text_string_to_metric_families(metrics.render().decode()) for s in f.samples}  # fmt: skip
    assert found[("supportbot_drafts_waiting", ())] == 1 and left
    assert found[("supportbot_drafts_reviewed_total", ("approved",))] == 1
    assert found[("supportbot_drafts_reviewed_total", ("rejected",))] == 1


def test_a_question_on_several_lines_is_a_one_line_title(tmp_path: Path) -> None:
    drafts = Drafts(tmp_path / "drafts", learned=tmp_path / "learned")
    page = drafts.approve(draft(drafts, "Can I bring\nmy dog   to the office?\n"))
    loaded = load_document(page.read_bytes(), page)
    assert loaded.title == "Can I bring my dog to the office?"
    assert "# Can I bring my dog to the office?\n" in page.read_text(encoding="utf-8")


def test_a_draft_written_with_the_older_attribution_line_reads_without_it(tmp_path: Path) -> None:
    """Drafts written before the attribution moved into the front matter ended with a line naming who answered."""
    drafts = Drafts(tmp_path / "drafts", learned=tmp_path / "learned")
    written = tmp_path / "drafts" / f"{draft(drafts)}.md"
    written.write_text(written.read_text() + "\n*Answered by Dana on 2026-12-01 in [this thread](https://x/p1).*\n")
    (waiting,) = drafts.waiting()
    assert waiting.reply == "Yes, on Fridays, if it is calm.\n\nAsk your team first."
