"""Time: the canonical timestamp form, and a site's reporting time zone (PRODUCT §10).

Every bucket boundary is local to the site's zone. A local hour is identified by the UTC instant it starts
at (exact for zones with 30- and 45-minute offsets, and the two 01:00 hours of a DST fall-back stay
apart); a local day by its date; a week by its ISO year and week; a month by year and month.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_timestamp(value: str) -> int:
    """ISO 8601 with a zone (`Z` or an offset) to epoch milliseconds; raises ValueError otherwise."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("timestamp needs a time zone (use Z for UTC)")
    return to_ms(parsed)


def to_ms(moment: datetime) -> int:
    delta = moment - _EPOCH
    return delta.days * DAY_MS + delta.seconds * 1000 + delta.microseconds // 1000


def format_timestamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC) + timedelta(milliseconds=ms % 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def hour_key(hour_start_ms: int) -> str:
    """Sort key of the local hour starting at this instant: its UTC start, to the minute."""
    return datetime.fromtimestamp(hour_start_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def hour_of_key(key: str) -> int:
    return to_ms(datetime.strptime(key, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC))


def is_time_zone(name: str) -> bool:
    return name in _zone_names()


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


@dataclass(frozen=True)
class Zone:
    """A site's reporting time zone (IANA name). Local hours are one hour long in every zone whose DST shift
    is a whole hour (all but Lord Howe Island), so an hour bucket is `[hour_start, hour_start + 1h)`."""

    name: str = "UTC"

    @property
    def info(self) -> ZoneInfo:
        return _zone_info(self.name)

    def local(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms // 1000, tz=self.info) + timedelta(milliseconds=ms % 1000)

    def hour_start(self, ms: int) -> int:
        """The instant the local hour holding `ms` started (its minutes and seconds taken off)."""
        moment = self.local(ms)
        return ms - (moment.minute * 60_000 + moment.second * 1000 + moment.microsecond // 1000)

    def date_of(self, ms: int) -> date:
        return self.local(ms).date()

    def day_start(self, day: date) -> int:
        """The first instant of a local date (fold=0: the first 00:00 of a repeated midnight; for a skipped
        midnight, the instant the clock jumps)."""
        return to_ms(datetime.combine(day, clock(0), tzinfo=self.info))

    def day_end(self, day: date) -> int:
        return self.day_start(day + timedelta(days=1))

    def hour_label(self, hour_start_ms: int) -> str:
        return self.local(hour_start_ms).strftime("%Y-%m-%dT%H:%M")


@cache
def _zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def day_key(day: date) -> str:
    return day.isoformat()


def week_key(day: date) -> str:
    """ISO week (Monday first) holding the date, e.g. `2026-W11`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (earlier when negative), clamped to the month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first = date(year, month + 1, 1)
    return first.replace(day=min(day.day, days_in_month(first)))


def days_in_month(day: date) -> int:
    following = add_months_first(day, 1)
    return (following - day.replace(day=1)).days


def add_months_first(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def year_earlier(day: date) -> date:
    """The same local date a year earlier; 29 February maps to 28 February."""
    if (day.month, day.day) == (2, 29):
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)
