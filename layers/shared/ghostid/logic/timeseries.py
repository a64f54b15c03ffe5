"""GET /api/timeseries (PRODUCT §11): the six overview metrics per local hour, day, ISO week or month.

Points cover the whole period, oldest first, zeros where nothing happened. A week or month bucket is cut
to the period; its label is its first local date (an hour's: `2026-03-10T17:00`, local).
"""

from __future__ import annotations

from datetime import date

from ghostid.dal import state as state_dal
from ghostid.errors import InvalidParameter
from ghostid.logic import periods as periods_logic
from ghostid.logic import tree as tree_logic
from ghostid.logic.periods import Period
from ghostid.logic.stats import overview, period_of, site_tree
from ghostid.models.api import PeriodBody, Point, SeriesComparison, TimeseriesQuery, TimeseriesResponse
from ghostid.models.dimensions import OVERVIEW
from ghostid.timeutil import HOUR_MS, format_timestamp

MAX_HOURLY_DAYS = 7


def site_timeseries(query: TimeseriesQuery, now_ms: int) -> TimeseriesResponse:
    state = state_dal.get_state(query.site_id, consistent=False)
    tree = site_tree(query.site_id, state, now_ms)
    period = period_of(query, tree)
    if query.interval == "hour" and not period.hourly and len(period.days) > MAX_HOURLY_DAYS:
        raise InvalidParameter("interval=hour is for ranges up to 7 days: use day, week or month.")
    compared = periods_logic.compared(period, query.compare) if query.compare else None
    current, previous = buckets(period, query.interval), buckets(compared, query.interval) if compared else []
    loaded = tree_logic.load(tree, current + previous, (OVERVIEW,))
    points = [_point(b, label(b, query.interval), agg) for b, agg in zip(current, loaded, strict=False)]
    comparison = None
    if compared is not None:
        rest = loaded[len(current) :]
        compared_points = [
            _point(b, label(b, query.interval), agg) for b, agg in zip(previous, rest, strict=True)
        ]
        comparison = SeriesComparison(period=PeriodBody(**compared.as_json()), points=compared_points)
    return TimeseriesResponse(
        interval=query.interval,
        time_range=period.name,
        period=PeriodBody(**period.as_json()),
        points=points,
        comparison=comparison,
    )


def buckets(period: Period, interval: str) -> list[Period]:
    zone = period.zone
    if interval == "hour":
        return [Period("hour", zone, h, h + HOUR_MS) for h in range(period.start, period.end, HOUR_MS)]
    if period.hourly:  # a 24h range by day: the local days it touches, cut to it
        return _cut_days(period)
    days = period.days
    groups: list[list[date]] = []
    for day in days:
        key = (
            (day.isocalendar()[:2] if interval == "week" else (day.year, day.month))
            if interval != "day"
            else day
        )
        if not groups or _key(groups[-1][0], interval) != key:
            groups.append([day])
        else:
            groups[-1].append(day)
    return [periods_logic.dates(interval, zone, group[0], group[-1]) for group in groups]


def _key(day: date, interval: str) -> object:
    if interval == "day":
        return day
    return day.isocalendar()[:2] if interval == "week" else (day.year, day.month)


def _cut_days(period: Period) -> list[Period]:
    zone = period.zone
    found = []
    moment = period.start
    while moment < period.end:
        day_end = zone.day_end(zone.date_of(moment))
        found.append(Period("hour", zone, moment, min(day_end, period.end)))
        moment = day_end
    return found


def label(bucket: Period, interval: str) -> str:
    if bucket.hourly:
        if interval == "hour":
            return bucket.zone.hour_label(bucket.start)
        return bucket.zone.date_of(bucket.start).isoformat()
    assert bucket.first_day is not None
    return bucket.first_day.isoformat()  # PRODUCT §11: a date, for weeks and months their first in the period


def _point(bucket: Period, text: str, loaded: tree_logic.Loaded) -> Point:
    return Point(start=format_timestamp(bucket.start), label=text, **overview(loaded).model_dump())
