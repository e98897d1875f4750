"""A cron schedule (`minute hour day-of-month month day-of-week`, as crontab(5) writes it) for the bot's own
posts: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, day and month names (`mon`, `jan`);
day of week 0 or 7 is Sunday. As in cron, when both day fields are restricted a day matching either runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

_DAYS = {name: number for number, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_MONTHS = {name: number + 1 for number, name in
           enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}  # fmt: skip
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)  # fmt: skip


class CronError(ValueError):
    """An expression cron would not read; the message says which field and why."""


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 Sunday … 6 Saturday
    any_day: bool  # day of month is `*`
    any_weekday: bool  # day of week is `*`

    @classmethod
    def parse(cls, expression: str) -> Cron:
        parts = expression.split()
        if len(parts) != 5:
            raise CronError(f"{expression!r} is not a cron schedule: five fields are needed (minute hour "
                            "day-of-month month day-of-week), e.g. '0 9 * * mon' for Mondays at 09:00.")  # fmt: skip
        values = [_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(day % 7 for day in values[4])
        return cls(expression, values[0], values[1], values[2], values[3], weekdays,
                   parts[2] == "*", parts[4] == "*")  # fmt: skip

    def matches(self, when: datetime) -> bool:
        """Whether the schedule runs at this minute (of `when`'s own time zone)."""
        if when.minute not in self.minutes or when.hour not in self.hours or when.month not in self.months:
            return False
        day, weekday = when.day in self.days, (when.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday

    def between(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """The minutes the schedule runs in (after, until], in `until`'s time zone."""
        minute = after.astimezone(until.tzinfo).replace(second=0, microsecond=0) + timedelta(minutes=1)
        while minute <= until:
            if self.matches(minute):
                yield minute
            minute += timedelta(minutes=1)


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.lower().split(","):
        span, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if span == "*":
                first, last = low, high
            elif "-" in span:
                first, last = (_number(end, names) for end in span.split("-", 1))
            else:
                first = last = _number(span, names)
                if step_text:
                    last = high
        except ValueError:
            raise CronError(f"{text!r} is not a valid {name} field.") from None
        if step < 1 or not low <= first <= last <= high:
            raise CronError(f"{text!r}: the {name} must be from {low} to {high}.")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(text: str, names: dict[str, int]) -> int:
    return names[text[:3]] if text[:3] in names else int(text)
