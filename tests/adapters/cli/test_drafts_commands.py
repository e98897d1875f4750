"""The learning loop from the command line: a reply saved as a draft is never indexed before approval; once
`supportbot drafts approve` moves it into the learned collection and a sync indexes it, the same question is
answered from it, citing it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.host import Host
from tests.adapters.cli.test_main import supportbot
from tests.conftest import EXAMPLES

QUESTION = "Can I bring my dog to the office?"


def cited(config: Path) -> tuple[str, list[str]]:
    result = supportbot("ask", QUESTION, "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    return answer["status"], [source["path"] for source in answer["sources"]]


@pytest.mark.slow
def test_a_saved_reply_is_answered_from_only_after_approval_and_sync(make_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    learned = tmp_path / "learned"
    learned.mkdir()
    config = make_config(
        EXAMPLES,
        collections=[{"name": "handbook", "paths": [str(EXAMPLES)]}, {"name": "learned", "paths": [str(learned)]}],
        generator={"backend": "extractive"},
    )
    draft = Host.open(load_settings(config)).drafts.write(  # what a helper's ✅ on a reply will do
        question=QUESTION, reply="Yes: dogs are welcome on Fridays in the Lyon office, on a lead.", author="Dana",
        marked_by="Al", link="https://acme.slack.com/archives/C1/p1700000000000100", language="en",
    )  # fmt: skip
    assert supportbot("sync", "--config", str(config)).returncode == 0
    status, sources = cited(config)
    assert not any(path.startswith(draft.id) or "dog" in path for path in sources)  # a draft is never indexed

    listed = supportbot("drafts", "list", "--config", str(config), "--json")
    assert [d["id"] for d in json.loads(listed.stdout)] == [draft.id]
    unknown = supportbot("drafts", "approve", "0123456789ab", "--config", str(config))
    assert unknown.returncode == 1 and "There is no draft" in unknown.stderr and "Traceback" not in unknown.stderr
    approved = supportbot("drafts", "approve", draft.id, "--config", str(config))
    assert approved.returncode == 0 and "supportbot sync learned" in approved.stdout, approved.stderr
    assert supportbot("sync", "learned", "--config", str(config)).returncode == 0

    status, sources = cited(config)
    assert status == "answered" and f"can-i-bring-my-dog-to-the-office-{draft.id}.md" in sources
    assert json.loads(supportbot("drafts", "list", "--config", str(config), "--json").stdout) == []
