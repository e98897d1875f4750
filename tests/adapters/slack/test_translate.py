"""An answer as Slack blocks."""

from __future__ import annotations

from adapters.slack.translate import ASK_HUMAN, FEEDBACK_HELPFUL, FEEDBACK_NOT_HELPFUL, answer_blocks
from bot.messages import Answer, Source


def answer(**fields: object) -> Answer:
    source = Source(collection="handbook", path="it/vpn.md", title="VPN", heading="Ports", url=None)
    values: dict[str, object] = {"text": "The VPN uses **UDP port 1194**.", "sources": (source,), "language": "en",
                                 "status": "answered", "model": "LiquidAI/LFM2-1.2B-RAG"}  # fmt: skip
    return Answer(**(values | fields))  # type: ignore[arg-type]


def test_a_recorded_answer_has_its_rating_and_escalation_buttons() -> None:
    blocks = answer_blocks(answer(id="a1"), answer_id="a1", can_escalate=True)
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "The VPN uses *UDP port 1194*."}}
    assert blocks[1]["elements"][0]["text"] == "VPN › Ports (`handbook:it/vpn.md`)"
    actions = blocks[-1]
    assert actions["type"] == "actions" and actions["block_id"] == "answer-a1"
    assert [(b["action_id"], b["value"]) for b in actions["elements"]] == [
        (FEEDBACK_HELPFUL, "a1"), (FEEDBACK_NOT_HELPFUL, "a1"), (ASK_HUMAN, "a1")]  # fmt: skip


def test_an_answer_the_records_could_not_keep_is_shown_without_buttons() -> None:
    blocks = answer_blocks(answer(), answer_id="", can_escalate=True)  # no id: nothing a rating could refer to
    assert [block["type"] for block in blocks] == ["section", "context"]


def test_an_abstention_has_no_rating_buttons() -> None:
    blocks = answer_blocks(answer(status="abstained", id="a2"), answer_id="a2", can_escalate=True)
    assert all(block["type"] != "actions" for block in blocks)
