"""The digest's schedule: crontab(5) as admins write it, and a clear error for what cron would not read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.config import ConfigError, ReportConfig, load_settings
from bot.cron import Cron, CronError

PARIS = ZoneInfo("Europe/Paris")


def test_mondays_at_nine_in_the_configured_time_zone() -> None:
    mondays = Cron.parse("0 9 * * mon")
    runs = list(mondays.between(datetime(2026, 11, 28, tzinfo=PARIS), datetime(2026, 12, 15, tzinfo=PARIS)))
    assert runs == [datetime(2026, 11, 30, 9, tzinfo=PARIS), datetime(2026, 12, 7, 9, tzinfo=PARIS),
                    datetime(2026, 12, 14, 9, tzinfo=PARIS)]  # fmt: skip
    # Monday 09:00 in Paris is 08:00 UTC in winter: the last look's time may be in any zone
    (run,) = mondays.between(datetime(2026, 12, 7, 7, 0, tzinfo=UTC), datetime(2026, 12, 7, 9, 30, tzinfo=PARIS))
    assert run.astimezone(UTC) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "when", "runs"),
    [
        ("*/15 9-17 * * mon-fri", datetime(2026, 12, 4, 9, 45), True),  # a Friday
        ("*/15 9-17 * * mon-fri", datetime(2026, 12, 5, 9, 45), False),  # a Saturday
        ("0 9 * * 0", datetime(2026, 12, 6, 9, 0), True),  # Sunday as 0
        ("0 9 * * 7", datetime(2026, 12, 6, 9, 0), True),  # and as 7
        ("30 8 1,15 * *", datetime(2026, 12, 15, 8, 30), True),
        ("30 8 1 * fri", datetime(2026, 12, 4, 8, 30), True),  # both days restricted: either runs, as in cron
        ("0 0 1 jan *", datetime(2027, 1, 1, 0, 0), True),
        ("0 0 1 jan *", datetime(2027, 2, 1, 0, 0), False),
    ],
)
def test_fields_read_as_cron_reads_them(expression: str, when: datetime, runs: bool) -> None:
    assert Cron.parse(expression).matches(when) is runs


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("0 9 * *", "five fields"),
        ("61 * * * *", "minute must be from 0 to 59"),
        ("x 9 * * *", "not a valid minute"),
        ("0 9 * * 8", "day of week must be from 0 to 7"),
        ("0 9 */0 * *", "day of month"),
    ],
)
def test_a_schedule_cron_would_not_read_is_refused_with_the_reason(expression: str, says: str) -> None:
    with pytest.raises(CronError, match=says):
        Cron.parse(expression)
    with pytest.raises(ValidationError, match=says):
        ReportConfig(digest_cron=expression)


def test_the_digest_channel_names_its_platform_and_the_time_zone_exists(tmp_path: Path) -> None:
    assert ReportConfig(digest_channel="slack:C0123").digest_channel == ["slack:C0123"]
    with pytest.raises(ValidationError, match="name the platform and the channel"):
        ReportConfig(digest_channel=["C0123"])
    config = tmp_path / "supportbot.yaml"
    config.write_text("report: {digest_channel: ['teams:19:abc']}\n")
    with pytest.raises(
        ConfigError,
        match="teams:19:abc names no chat platform supportbot runs; use discord:<channel id> or slack:<channel id>",
    ):
        load_settings(config)
    with pytest.raises(ValidationError, match="is not a time zone"):
        ReportConfig(timezone="Europe/Atlantis")
