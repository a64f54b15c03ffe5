"""UTC timestamps: parsing, the canonical `2026-03-10T17:09:10.000Z` form, buckets and windows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Granularity = Literal["H", "D"]
TimeRange = Literal["24h", "7d", "30d"]


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
    delta = parsed - _EPOCH
    return delta.days * DAY_MS + delta.seconds * 1000 + delta.microseconds // 1000


def format_timestamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC) + timedelta(milliseconds=ms % 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def hour_index(ms: int) -> int:
    return ms // HOUR_MS


def hour_key(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, tz=UTC).strftime("%Y-%m-%dT%H")


def day_key(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d")


def day_of_hour(hour: int) -> int:
    return hour // 24


def bucket_key(granularity: Granularity, index: int) -> str:
    return hour_key(index) if granularity == "H" else day_key(index)


@dataclass(frozen=True)
class Window:
    """A half-open range of whole buckets `[first, last]` at one granularity."""

    name: TimeRange
    granularity: Granularity
    first: int
    last: int

    @property
    def first_key(self) -> str:
        return bucket_key(self.granularity, self.first)

    @property
    def last_key(self) -> str:
        return bucket_key(self.granularity, self.last)


def window_for(name: TimeRange, at_ms: int) -> Window:
    """PRODUCT §3: 24h = the 24 hours ending with the current hour; 7d / 30d = calendar days ending today."""
    if name == "24h":
        last = at_ms // HOUR_MS
        return Window(name, "H", last - 23, last)
    days = 7 if name == "7d" else 30
    last = at_ms // DAY_MS
    return Window(name, "D", last - days + 1, last)
