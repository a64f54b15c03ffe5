"""Ranges in the site's time zone (PRODUCT §10): presets, custom dates, and what they are compared with.

A period is `[start, end)` in absolute time; day-aligned periods also know their local dates, hour-aligned
ones (`24h`) their local hours. `previous` is the period of the same length ending where this one starts
(same number of local days for day-aligned periods, 24 hours for `24h`); for `month` and `last_month` it
is the previous calendar month cut to as many days as the period has. `year` is the same local dates a
year earlier (29 February maps to 28 February), or for `24h` the same local hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from ghostid.errors import InvalidParameter
from ghostid.timeutil import (
    HOUR_MS,
    Zone,
    add_months_first,
    days_in_month,
    format_timestamp,
    month_start,
    to_ms,
    year_earlier,
)

Preset = Literal["24h", "today", "yesterday", "7d", "30d", "month", "last_month", "12mo"]
PRESETS: tuple[Preset, ...] = ("24h", "today", "yesterday", "7d", "30d", "month", "last_month", "12mo")
Compare = Literal["previous", "year"]
RETENTION_DAYS = 400


@dataclass(frozen=True)
class Period:
    name: str  # a preset, or "custom"
    zone: Zone
    start: int
    end: int  # exclusive
    first_day: date | None = None  # day-aligned periods: their local dates, inclusive
    last_day: date | None = None

    @property
    def hourly(self) -> bool:
        return self.first_day is None

    @property
    def days(self) -> list[date]:
        assert self.first_day is not None and self.last_day is not None
        return [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]

    def as_json(self) -> dict[str, str]:
        return {
            "start": format_timestamp(self.start),
            "end": format_timestamp(self.end),
            "timezone": self.zone.name,
        }

    @property
    def key(self) -> str:
        return f"{self.name}:{self.start}-{self.end}"


def dates(name: str, zone: Zone, first: date, last: date) -> Period:
    return Period(name, zone, zone.day_start(first), zone.day_end(last), first, last)


def preset(name: Preset, zone: Zone, now_ms: int) -> Period:
    today = zone.date_of(now_ms)
    if name == "24h":
        end = zone.hour_start(now_ms) + HOUR_MS
        return Period(name, zone, end - 24 * HOUR_MS, end)
    first, last = _preset_days(name, today)
    return dates(name, zone, first, last)


def _preset_days(name: Preset, today: date) -> tuple[date, date]:
    if name == "today":
        return today, today
    if name == "yesterday":
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if name in ("7d", "30d"):
        return today - timedelta(days=6 if name == "7d" else 29), today
    if name == "month":
        return month_start(today), today
    if name == "last_month":
        first = add_months_first(today, -1)
        return first, month_start(today) - timedelta(days=1)
    return add_months_first(today, -11), today  # 12mo


def custom(zone: Zone, now_ms: int, first: date, last: date) -> Period:
    """`from` and `to`, both included: `from` <= `to`, neither after today nor past the retention."""
    today = zone.date_of(now_ms)
    if first > last:
        raise InvalidParameter("from must be on or before to (both YYYY-MM-DD, in the site's time zone).")
    if last > today:
        raise InvalidParameter(f"to must not be after today ({today.isoformat()} in the site's time zone).")
    if first < today - timedelta(days=RETENTION_DAYS):
        oldest = (today - timedelta(days=RETENTION_DAYS)).isoformat()
        raise InvalidParameter(
            f"from must be within the retention of {RETENTION_DAYS} days (not before {oldest})."
        )
    return dates("custom", zone, first, last)


def compared(period: Period, how: Compare) -> Period:
    if how == "year":
        return _year_before(period)
    return _previous(period)


def _previous(period: Period) -> Period:
    if period.hourly:
        length = period.end - period.start
        return Period(period.name, period.zone, period.start - length, period.start)
    assert period.first_day is not None and period.last_day is not None
    count = (period.last_day - period.first_day).days + 1
    if period.name in ("month", "last_month"):
        first = add_months_first(period.first_day, -1)
        last = first + timedelta(days=min(count, days_in_month(first)) - 1)
        return dates(period.name, period.zone, first, last)
    first = period.first_day - timedelta(days=count)
    return dates(period.name, period.zone, first, period.first_day - timedelta(days=1))


def _year_before(period: Period) -> Period:
    zone = period.zone
    if period.hourly:
        start_local = zone.local(period.start)
        earlier = start_local.replace(year=start_local.year - 1, day=min(start_local.day, 28))
        if (start_local.month, start_local.day) != (2, 29):
            earlier = start_local.replace(year=start_local.year - 1)
        start = to_ms(earlier.replace(tzinfo=zone.info))
        return Period(period.name, zone, start, start + (period.end - period.start))
    assert period.first_day is not None and period.last_day is not None
    return dates(period.name, zone, year_earlier(period.first_day), year_earlier(period.last_day))


def change(current: int, previous: int) -> float | None:
    """(current − previous) / previous × 100 to one decimal, halves rounded away from zero on the exact
    value (integer arithmetic: 17 against 16 is 6.3, where float rounding would give 6.2); None when
    previous is 0."""
    if previous == 0:
        return None
    tenths, rest = divmod(abs(current - previous) * 1000, abs(previous))
    if 2 * rest >= abs(previous):
        tenths += 1
    sign = -1 if (current - previous) * previous < 0 else 1
    return sign * tenths / 10
