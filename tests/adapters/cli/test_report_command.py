"""`supportbot report` and `supportbot records purge` as an admin types them, on a week of questions in English,
German and French against the example knowledge base, with the default embedding model."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.records import answers_table
from bot.wiring import Knowledge
from tests.adapters.cli.test_main import supportbot
from tests.conftest import EXAMPLES, write_config
from tests.fixtures.report_records import fill

E5 = "bundled:multilingual-e5-small"
TOTALS = {"questions", "answered", "abstained", "failed", "helpful", "not_helpful", "escalated", "self_served_rate"}
GAP = {"label", "size", "examples", "channels", "languages", "closest"}


@pytest.mark.slow
def test_report_json_table_and_purge_on_a_week_of_questions(tmp_path: Path, e5_embedder: object) -> None:
    config = write_config(tmp_path / "supportbot.yaml", data_dir=str(tmp_path / "data"), embedding={"model": E5},
                          collections=[{"name": "handbook", "paths": [str(EXAMPLES)]}])  # fmt: skip
    knowledge = Knowledge(load_settings(config), prebuilt_embedder=e5_embedder)  # type: ignore[arg-type]
    knowledge.syncer.sync(knowledge.settings.collection("handbook"))  # as `supportbot sync` does
    engine = knowledge.manifest.engine
    filled = fill(engine, e5_embedder.embed_queries, model=E5, now=datetime.now(UTC))  # type: ignore[attr-defined]
    assert len(filled.ids) >= 200

    result = supportbot("report", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"period", "totals", "per_day", "per_channel", "per_language", "gaps", "cited", "never_cited"} <= set(report)
    assert set(report["totals"]) == TOTALS and report["totals"]["questions"] == len(filled.ids)
    assert set(report["per_language"]) == {"en", "de", "fr"}
    assert all(set(gap) >= GAP for gap in report["gaps"])
    # One gap per missing topic, in the three languages, with the page to improve.
    topic_of = {}
    for line in (Path(__file__).parents[2] / "fixtures" / "report_gaps.jsonl").read_text().splitlines():
        row = json.loads(line)
        topic_of[row["question"]] = row["topic"]
    for topic in ("dog", "gym", "rooms", "signature", "party"):
        sizes = Counter(
            g["label"] for g in report["gaps"] for e in g["examples"] if topic_of.get(e) == topic
        )  # gaps showing the topic among their examples
        label = sizes.most_common(1)[0][0]
        (gap,) = [g for g in report["gaps"] if g["label"] == label]
        assert gap["size"] >= 16 and set(gap["languages"]) == {"en", "de", "fr"}, gap
        assert (EXAMPLES / gap["closest"]["path"]).is_file()
    never = {page["path"] for page in report["never_cited"]}
    assert never and never.isdisjoint(filled.cited) and all((EXAMPLES / p).is_file() for p in never)
    assert not any(user in result.stdout for user in filled.users)

    html = tmp_path / "report.html"
    table = supportbot(
        "report", "--config", str(config), "--since", "30d", "--channel", "slack:C1", "--html", str(html)
    )
    assert table.returncode == 0, table.stderr
    assert all(words in table.stdout for words in ("Knowledge gaps", "self-served", "slack:C1", "Never cited"))
    assert "discord:D1" not in table.stdout
    text = html.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in text and "plotly.js" in text and 'src="http' not in text  # self-contained
    assert '<details class="gap">' in text and not any(user in text for user in filled.users)

    bad = supportbot("report", "--config", str(config), "--since", "last tuesday")
    assert bad.returncode == 1 and "is not a period" in bad.stderr and "Traceback" not in bad.stderr

    purged = supportbot("records", "purge", "--config", str(config), "--before", "3d")
    assert purged.returncode == 0 and purged.stdout.startswith("Deleted "), purged.stderr
    cutoff = datetime.now(UTC) - timedelta(days=3)
    with engine.connect() as db:
        kept = db.execute(select(func.count(), func.min(answers_table.c.created_at))).one()
    assert 0 < kept[0] < len(filled.ids) and kept[1].replace(tzinfo=UTC) >= cutoff - timedelta(minutes=5)
