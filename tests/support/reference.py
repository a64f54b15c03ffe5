"""An independent, brute-force recomputation of every read route from raw events (PRODUCT §3–§6, §10–§12).

Deliberately shares no code with the product: it reads the definitions, not the implementation. Every
answer is recomputed from the whole list of events on each call, with exact distinct counts; the API is
allowed §5's error on distinct-visitor counts, which `assert_close` knows about.

Events are dicts in the stored/import shape (§7). Times are UTC `datetime`s; every calendar boundary is
local to `Site.timezone`. Where PRODUCT.md is silent, the choice made here is written in the docstring of
the function that makes it.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

Event = dict[str, Any]
Body = dict[str, Any]

HIGH_INTENT = ("/pricing", "/demo", "/contact", "/signup", "/trial")
PRESETS = ("24h", "today", "yesterday", "7d", "30d", "month", "last_month", "12mo")
RETENTION_DAYS = 400
OVERVIEW = ("unique_visitors", "sessions", "pageviews", "total_events", "identified_visitors", "hot_leads")
DIRECT = "Direct / None"
NONE_VALUE = "(none)"
UNKNOWN = "Unknown"
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True)
class Site:
    """The site settings the answers depend on: reporting zone and lead rules (§4 defaults)."""

    site_id: int = 4
    timezone: str = "UTC"
    high_intent_pages: tuple[str, ...] = HIGH_INTENT
    high_intent_weight: int = 10
    custom_event_weight: int = 5
    identified_weight: int = 20
    hot_threshold: int = 30

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


SiteConfig = Site
UTC_SITE = Site()


# ---------------------------------------------------------------------------------------------------
# Event basics


@lru_cache(maxsize=200_000)
def instant(timestamp: str) -> datetime:
    """An ISO 8601 timestamp with a zone as a UTC datetime."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC)


def when(event: Event) -> datetime:
    return instant(event["timestamp"])


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def clean_page(page: str) -> str:
    if page.startswith(("http://", "https://")):
        page = "/" + page.split("://", 1)[1].partition("/")[2]
    return page.split("#")[0].split("?")[0]


def order(event: Event) -> tuple[datetime, str]:
    """Event-time order; ties broken by `event_id` (§6), so it never depends on arrival."""
    return when(event), event.get("event_id") or ""


def in_window(event: Event, start: datetime, end: datetime) -> bool:
    return start <= when(event) < end


def is_pageview(event: Event) -> bool:
    return bool(event["type"] == "pageview")


def by_session(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Every session's events, oldest first."""
    sessions: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        sessions[event["session_id"]].append(event)
    return {sid: sorted(evs, key=order) for sid, evs in sessions.items()}


def by_visitor(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Every visitor's events, oldest first."""
    visitors: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        visitors[event["ghost_vid"]].append(event)
    return {vid: sorted(evs, key=order) for vid, evs in visitors.items()}


# ---------------------------------------------------------------------------------------------------
# Periods (§3, §10)


def local_day_start(day: date, site: Site) -> datetime:
    """The first instant of a local calendar day, in UTC. Where local midnight does not exist (a DST gap
    at midnight), zoneinfo's fold=0 reading lands on the moment the clocks jump, which is that first
    instant; where it happens twice, fold=0 is the earlier one."""
    return datetime.combine(day, time(0), tzinfo=site.zone).astimezone(UTC)


def local_date(moment: datetime, site: Site) -> date:
    return moment.astimezone(site.zone).date()


def local_hour_start(moment: datetime, site: Site) -> datetime:
    """The start of the local hour that contains `moment`, in UTC (also right in the repeated hour)."""
    local = moment.astimezone(site.zone)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def first_of_month(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def month_length(first: date) -> int:
    return (first_of_month(first, -1) - first).days


def a_year_earlier(day: date) -> date:
    """The same local date a year earlier; 29 February maps to 28 February (§10)."""
    if (day.month, day.day) == (2, 29):
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def range_dates(
    site: Site, now: datetime, time_range: str | None, from_: date | str | None, to: date | str | None
) -> tuple[date, date, str] | None:
    """The first and last local dates (both included) of a day-based range, and its name; None for `24h`.

    A custom range must satisfy §10: `from` <= `to`, `to` not after today, and `from` within the
    retention, read as the 400 local days ending today (like `30d` is the 30 days ending today).
    """
    today = local_date(now, site)
    if from_ is not None or to is not None:
        if from_ is None or to is None or time_range not in (None, "custom"):
            raise ValueError("a custom range needs both from and to, and no timeRange other than custom")
        first, last = as_date(from_), as_date(to)
        if first > last or last > today or first < today - timedelta(days=RETENTION_DAYS - 1):
            raise ValueError(f"custom range {first}..{last} is not allowed on {today}")
        return first, last, "custom"
    name = time_range or "7d"
    presets: dict[str, tuple[date, date] | None] = {
        "24h": None,
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "7d": (today - timedelta(days=6), today),
        "30d": (today - timedelta(days=29), today),
        "month": (first_of_month(today), today),
        "last_month": (first_of_month(today, 1), first_of_month(today) - timedelta(days=1)),
        "12mo": (first_of_month(today, 11), today),
    }
    if name not in presets:
        raise ValueError(f"unknown time range {name!r}")
    dates = presets[name]
    return None if dates is None else (dates[0], dates[1], name)


def period(
    site: Site,
    now: datetime,
    time_range: str | None = None,
    from_: date | str | None = None,
    to: date | str | None = None,
) -> tuple[datetime, datetime, str]:
    """(start, end exclusive, name) in UTC for a preset of §10 or custom `from`/`to` local dates.

    `24h` is the 24 real hours ending with the end of the current local hour (with a 45-minute offset the
    hours end at :15 UTC); every other range runs from the first instant of its first local date to the
    first instant of the day after its last, so a local day lasts 23 or 25 hours across DST.
    """
    dates = range_dates(site, now, time_range, from_, to)
    if dates is None:
        end = local_hour_start(now, site) + timedelta(hours=1)
        return end - timedelta(hours=24), end, "24h"
    first, last, name = dates
    return local_day_start(first, site), local_day_start(last + timedelta(days=1), site), name


def comparison_period(
    site: Site,
    now: datetime,
    compare: str,
    time_range: str | None = None,
    from_: date | str | None = None,
    to: date | str | None = None,
) -> tuple[datetime, datetime]:
    """(start, end exclusive) in UTC of the period a range is compared with.

    `previous`:
    - `24h`: the 24 hours before it.
    - `month`, `last_month`: the calendar month before the range's month, cut to the range's number of
      days; when that month is shorter, all of it (31 March compares with 1–28 February; `last_month` =
      February compares with 1–28 January).
    - every other range (`today`, `yesterday`, `7d`, `30d`, `12mo`, custom): the same number of local
      calendar days ending the day before it starts (so across a DST change both are whole local days,
      whatever their hours).
    `year`: the same local dates a year earlier (29 February -> 28 February), from the first instant of
    the shifted first date to the end of the shifted last date. For `24h`: 24 hours from the same local
    wall-clock time a year earlier (a wall-clock time that did not exist resolves as zoneinfo's fold=0).
    """
    if compare not in ("previous", "year"):
        raise ValueError(f"unknown comparison {compare!r}")
    dates = range_dates(site, now, time_range, from_, to)
    if dates is None:
        start, _, _ = period(site, now, "24h")
        if compare == "previous":
            return start - timedelta(hours=24), start
        local = start.astimezone(site.zone)
        earlier_day = a_year_earlier(local.date())
        shifted = datetime.combine(earlier_day, local.time(), tzinfo=site.zone).astimezone(UTC)
        return shifted, shifted + timedelta(hours=24)
    first, last, name = dates
    if compare == "year":
        before_first, before_last = a_year_earlier(first), a_year_earlier(last)
    elif name in ("month", "last_month"):
        before_first = first_of_month(first, 1)
        days = min((last - first).days + 1, month_length(before_first))
        before_last = before_first + timedelta(days=days - 1)
    else:
        days = (last - first).days + 1
        before_first, before_last = first - timedelta(days=days), first - timedelta(days=1)
    return local_day_start(before_first, site), local_day_start(before_last + timedelta(days=1), site)


def period_body(site: Site, start: datetime, end: datetime) -> Body:
    return {"start": iso(start), "end": iso(end), "timezone": site.timezone}


def window(time_range: str, now: datetime) -> tuple[datetime, datetime]:
    """The §3 UTC window (kept for callers of the first version)."""
    start, end, _ = period(UTC_SITE, now, time_range)
    return start, end


# ---------------------------------------------------------------------------------------------------
# People: identity, score, hot (§4)


def high_intent(page: str, site: Site) -> bool:
    """A high-intent page matches itself and anything below it (`/demo` matches `/demo/book`)."""
    return any(page == p or page.startswith(p.rstrip("/") + "/") for p in site.high_intent_pages)


@dataclass(frozen=True)
class Person:
    """A visitor as of now, over all its stored events."""

    ghost_vid: str
    events: tuple[Event, ...]  # oldest first
    identified_user_id: str | None
    high_intent_pageviews: int
    custom_events: int
    score: int
    hot: bool
    hot_since: str | None

    @property
    def identified(self) -> bool:
        return self.identified_user_id is not None


def person(ghost_vid: str, events: list[Event], site: Site) -> Person:
    """`events` are the visitor's own, oldest first."""
    with_user = [e for e in events if e.get("user_id")]
    views = sum(1 for e in events if is_pageview(e) and high_intent(clean_page(e["page"]), site))
    customs = sum(1 for e in events if e["type"] == "custom_event")
    identified_points = site.identified_weight if with_user else 0
    score = views * site.high_intent_weight + customs * site.custom_event_weight + identified_points
    return Person(
        ghost_vid=ghost_vid,
        events=tuple(events),
        identified_user_id=with_user[-1]["user_id"] if with_user else None,
        high_intent_pageviews=views,
        custom_events=customs,
        score=score,
        hot=score >= site.hot_threshold,
        hot_since=hot_since(events, site),
    )


def hot_since(events: list[Event], site: Site) -> str | None:
    """The timestamp of the event with which the running score first reaches the threshold, walking the
    visitor's events in event-time order (ties by event_id); the identified bonus counts from the first
    event that carries a user_id."""
    running, identified = 0, False
    for event in events:
        if is_pageview(event) and high_intent(clean_page(event["page"]), site):
            running += site.high_intent_weight
        if event["type"] == "custom_event":
            running += site.custom_event_weight
        if event.get("user_id") and not identified:
            running, identified = running + site.identified_weight, True
        if running >= site.hot_threshold:
            return iso(when(event))
    return None


def people(events: Iterable[Event], site: Site = UTC_SITE) -> dict[str, Person]:
    return {vid: person(vid, evs, site) for vid, evs in by_visitor(events).items()}


def visitor_status(events: list[Event], threshold: int = 30) -> dict[str, dict[str, Any]]:
    """{ghost_vid: {"score", "user", "hot"}} (kept for callers of the first version)."""
    site = Site(hot_threshold=threshold)
    return {
        vid: {"score": p.score, "user": p.identified_user_id, "hot": p.hot}
        for vid, p in people(events, site).items()
    }


# ---------------------------------------------------------------------------------------------------
# GET /api/stats (§5, §10)


def overview(inside: list[Event], session_firsts: list[Event], persons: dict[str, Person]) -> Body:
    """The six §5 metrics of a window: `inside` are its events, `session_firsts` the first events of
    every session that lie in it."""
    visitors = {e["ghost_vid"] for e in inside}
    return {
        "unique_visitors": len(visitors),
        "sessions": len(session_firsts),
        "pageviews": sum(1 for e in inside if is_pageview(e)),
        "total_events": len(inside),
        "identified_visitors": sum(1 for v in visitors if persons[v].identified),
        "hot_leads": sum(1 for v in visitors if persons[v].hot),
    }


def overview_of_window(
    events: list[Event], start: datetime, end: datetime, persons: dict[str, Person]
) -> Body:
    inside = [e for e in events if in_window(e, start, end)]
    firsts = [evs[0] for evs in by_session(events).values() if in_window(evs[0], start, end)]
    return overview(inside, firsts, persons)


def percent_change(current: int, previous: int) -> float | None:
    """(current − previous) / previous × 100 to one decimal, halves rounded away from zero on the exact
    value (6.25 -> 6.3, −6.25 -> −6.3); None when previous is 0."""
    if previous == 0:
        return None
    tenths, rest = divmod(abs(current - previous) * 1000, abs(previous))
    if 2 * rest >= abs(previous):
        tenths += 1
    sign = -1 if (current - previous) * previous < 0 else 1
    return sign * tenths / 10


def change(current: Body, previous: Body) -> Body:
    return {metric: percent_change(current[metric], previous[metric]) for metric in OVERVIEW}


def ranked(counts: dict[str, int], name: str, metric: str, limit: int | None) -> list[Body]:
    """Rows most first, ties by name ascending."""
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{name: key, metric: n} for key, n in rows[:limit]]


def stats(
    events: list[Event],
    now: datetime | str,
    time_range: str | datetime | None = None,
    *,
    site: Site = UTC_SITE,
    from_: date | str | None = None,
    to: date | str | None = None,
    compare: str | None = None,
    limit: int | None = 10,
) -> Body:
    """The body of GET /api/stats (`time_range` None is the default `7d`; `limit` None keeps every row of
    `top_pages` and `countries`).

    The first version's call `stats(events, time_range, now)` still works and returns the seed's shape
    (no `period`) for a UTC site, which is what the stats route served before §10.
    """
    if isinstance(now, str) and isinstance(time_range, datetime):
        seed_body = stats(events, time_range, now)
        del seed_body["period"]
        return seed_body
    assert isinstance(now, datetime) and not isinstance(time_range, datetime)
    start, end, name = period(site, now, time_range, from_, to)
    persons = people(events, site)
    inside = [e for e in events if in_window(e, start, end)]
    pages = Counter(clean_page(e["page"]) for e in inside if is_pageview(e))
    countries: dict[str, set[str]] = defaultdict(set)
    for event in inside:
        countries[event.get("country") or UNKNOWN].add(event["ghost_vid"])
    current = overview_of_window(events, start, end, persons)
    body: Body = {
        "overview": current,
        "top_pages": ranked(dict(pages), "page", "views", limit),
        "countries": ranked({c: len(v) for c, v in countries.items()}, "country", "visitors", limit),
        "time_range": name,
        "period": period_body(site, start, end),
    }
    if compare:
        before_start, before_end = comparison_period(site, now, compare, time_range, from_, to)
        previous = overview_of_window(events, before_start, before_end, persons)
        body["comparison"] = {
            "period": period_body(site, before_start, before_end),
            "overview": previous,
            "change": change(current, previous),
        }
    return body


def seed_shape(body: Body) -> Body:
    """A stats body without the fields §10 added (what the route served before it)."""
    return {k: v for k, v in body.items() if k not in ("period", "comparison")}


# ---------------------------------------------------------------------------------------------------
# GET /api/timeseries (§11)

LABELS = {"hour": "%Y-%m-%dT%H:00", "day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m-%d"}


def bucket_starts(start: datetime, end: datetime, interval: str, site: Site) -> list[datetime]:
    """The UTC starts of the local buckets that cover [start, end): the period's start, then every local
    hour / day / Monday / first of the month inside it (so a first or last week or month is cut to the
    period). Hours are found minute by minute, so a repeated local hour gives two buckets and a skipped
    one none, in any zone."""
    if interval not in LABELS:
        raise ValueError(f"unknown interval {interval!r}")
    starts = [start]
    if interval == "hour":
        moment = start + timedelta(minutes=1)
        while moment < end:
            if moment.astimezone(site.zone).minute == 0:
                starts.append(moment)
            moment += timedelta(minutes=1)
        return starts
    day = local_date(start, site) + timedelta(days=1)
    while local_day_start(day, site) < end:
        starts_bucket = {"day": True, "week": day.weekday() == 0, "month": day.day == 1}[interval]
        if starts_bucket:
            starts.append(local_day_start(day, site))
        day += timedelta(days=1)
    return starts


def points(
    events: list[Event],
    start: datetime,
    end: datetime,
    interval: str,
    site: Site,
    persons: dict[str, Person],
) -> list[Body]:
    starts = bucket_starts(start, end, interval, site)
    inside: list[list[Event]] = [[] for _ in starts]
    firsts: list[list[Event]] = [[] for _ in starts]
    for event in events:
        if in_window(event, start, end):
            inside[bisect.bisect_right(starts, when(event)) - 1].append(event)
    for evs in by_session(events).values():
        if in_window(evs[0], start, end):
            firsts[bisect.bisect_right(starts, when(evs[0])) - 1].append(evs[0])
    return [
        {
            "start": iso(bucket),
            "label": bucket.astimezone(site.zone).strftime(LABELS[interval]),
            **overview(inside[i], firsts[i], persons),
        }
        for i, bucket in enumerate(starts)
    ]


def timeseries(
    events: list[Event],
    now: datetime,
    *,
    site: Site = UTC_SITE,
    time_range: str | None = None,
    from_: date | str | None = None,
    to: date | str | None = None,
    interval: str = "day",
    compare: str | None = None,
) -> Body:
    """The body of GET /api/timeseries. Labels are the bucket start's local time: `2026-03-10T17:00`,
    `2026-03-10` (a week's label is its first local date in the period, so a cut week's is the period's
    first date; so is a month's: `2026-03-01`, or the period's first date when cut). The comparison's
    points use the same interval over the comparison period."""
    start, end, name = period(site, now, time_range, from_, to)
    persons = people(events, site)
    body: Body = {
        "interval": interval,
        "time_range": name,
        "period": period_body(site, start, end),
        "points": points(events, start, end, interval, site, persons),
    }
    if compare:
        before_start, before_end = comparison_period(site, now, compare, time_range, from_, to)
        body["comparison"] = {
            "period": period_body(site, before_start, before_end),
            "points": points(events, before_start, before_end, interval, site, persons),
        }
    return body


# ---------------------------------------------------------------------------------------------------
# GET /api/breakdown (§11)

METRICS: dict[str, tuple[str, ...]] = {
    "page": ("pageviews",),
    "event_name": ("visitors", "events"),
    "entry_page": ("sessions", "pageviews", "events"),
    "exit_page": ("sessions", "pageviews", "events"),
    "source": ("visitors", "sessions", "pageviews", "events"),
    "referrer": ("sessions", "pageviews", "events"),
    "utm_source": ("visitors", "sessions", "pageviews", "events"),
    "utm_medium": ("visitors", "sessions", "pageviews", "events"),
    "utm_campaign": ("sessions", "pageviews", "events"),
    "utm_term": ("sessions", "pageviews", "events"),
    "utm_content": ("sessions", "pageviews", "events"),
    "country": ("visitors", "sessions", "pageviews", "events"),
    "device_type": ("visitors", "sessions", "pageviews", "events"),
    "browser": ("visitors", "sessions", "pageviews", "events"),
    "os": ("visitors", "sessions", "pageviews", "events"),
    "city": ("sessions", "pageviews", "events"),
}
DIMENSIONS = tuple(METRICS)
SESSION_DIMENSIONS = ("entry_page", "exit_page", "source", "referrer", *UTM)


def referrer_host(referrer: str | None) -> str | None:
    """The referrer URL's host, lower-cased, without port and without one leading `www.` or `m.`;
    None when there is no referrer or it has no host (a value without `scheme://` has none)."""
    host = urlsplit(referrer).hostname if referrer else None
    if not host:
        return None
    for prefix in ("www.", "m."):
        if host.startswith(prefix) and len(host) > len(prefix):
            return host[len(prefix) :]
    return host


def prop(event: Event, name: str) -> str | None:
    """A property's value as text (a number or boolean as Python writes it); a missing, null or empty
    property is None."""
    value = (event.get("props") or {}).get(name)
    return None if value is None or value == "" else str(value)


def session_value(dimension: str, session_events: list[Event]) -> str:
    """The value a session dimension gives a session (its events oldest first).

    A session without a pageview has no entry or exit page: it counts under `(none)` (§11 is silent).
    """
    first = session_events[0]
    pages = [clean_page(e["page"]) for e in session_events if is_pageview(e)]
    if dimension in ("entry_page", "exit_page"):
        return (pages[0] if dimension == "entry_page" else pages[-1]) if pages else NONE_VALUE
    host = referrer_host(first.get("referrer"))
    if dimension == "referrer":
        return host or DIRECT
    if dimension == "source":
        sources = [s for s in (prop(e, "utm_source") for e in session_events) if s]
        return sources[0] if sources else host or DIRECT
    return prop(first, dimension) or NONE_VALUE


def breakdown(
    events: list[Event],
    now: datetime,
    *,
    site: Site = UTC_SITE,
    dimension: str,
    time_range: str | None = None,
    from_: date | str | None = None,
    to: date | str | None = None,
) -> Body:
    """The body of GET /api/breakdown with every row (no `limit`, no `next_cursor`): a test compares
    `rows[:limit]` or the concatenation of a cursor walk with `rows`."""
    if dimension not in METRICS:
        raise ValueError(f"unknown dimension {dimension!r}")
    start, end, name = period(site, now, time_range, from_, to)
    sessions = by_session(events)
    value_of = value_function(dimension, sessions)
    counted = [e for e in events if counts_for(dimension, e)]
    visitors: dict[str, set[str]] = defaultdict(set)
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    for event in counted:
        if in_window(event, start, end):
            value = value_of(event)
            visitors[value].add(event["ghost_vid"])
            tallies[value]["events"] += 1
            tallies[value]["pageviews"] += is_pageview(event)
    metrics = METRICS[dimension]
    if "sessions" in metrics:
        for evs in sessions.values():
            if in_window(evs[0], start, end):
                tallies[value_of(evs[0])]["sessions"] += 1
    rows: list[Body] = [
        {"value": value, **{m: len(visitors[value]) if m == "visitors" else tally[m] for m in metrics}}
        for value, tally in tallies.items()
    ]
    rows.sort(key=lambda row: (-row[metrics[0]], row["value"]))
    return {"dimension": dimension, "time_range": name, "period": period_body(site, start, end), "rows": rows}


def counts_for(dimension: str, event: Event) -> bool:
    """`page` counts pageviews only, `event_name` custom events only, every other dimension all events."""
    if dimension == "page":
        return is_pageview(event)
    if dimension == "event_name":
        return bool(event["type"] == "custom_event")
    return True


def value_function(dimension: str, sessions: dict[str, list[Event]]) -> Callable[[Event], str]:
    if dimension == "page":
        return lambda e: clean_page(e["page"])
    if dimension == "event_name":
        return lambda e: str(e["event_name"])
    if dimension in SESSION_DIMENSIONS:
        values = {sid: session_value(dimension, evs) for sid, evs in sessions.items()}
        return lambda e: values[e["session_id"]]
    return lambda e: e.get(dimension) or UNKNOWN


# ---------------------------------------------------------------------------------------------------
# GET /api/realtime (§11)


def realtime(events: list[Event], now: datetime, site: Site = UTC_SITE) -> Body:
    """The body of GET /api/realtime.

    "The last 30 minutes" are the 30 whole minutes ending with the current minute (the one containing
    `now`), oldest first; "the last 5 minutes" are the last 5 of them. Minutes are the same in every zone
    with a whole-minute offset, so `site` does not change the answer. `visitors` of a minute: distinct
    visitors with any event in it; `top_pages`: pages by distinct visitors with a pageview of them in the
    last 5 minutes, most first, ties by page ascending.
    """
    del site
    current = now.astimezone(UTC).replace(second=0, microsecond=0)
    starts = [current - timedelta(minutes=29 - i) for i in range(30)]
    end = current + timedelta(minutes=1)
    recent_start = current - timedelta(minutes=4)
    minutes = []
    for start in starts:
        inside = [e for e in events if in_window(e, start, start + timedelta(minutes=1))]
        minutes.append(
            {
                "start": iso(start),
                "pageviews": sum(1 for e in inside if is_pageview(e)),
                "visitors": len({e["ghost_vid"] for e in inside}),
            }
        )
    recent = [e for e in events if in_window(e, recent_start, end)]
    page_visitors: dict[str, set[str]] = defaultdict(set)
    for event in recent:
        if is_pageview(event):
            page_visitors[clean_page(event["page"])].add(event["ghost_vid"])
    return {
        "visitors_now": len({e["ghost_vid"] for e in recent}),
        "pageviews_last_30m": sum(m["pageviews"] for m in minutes),
        "minutes": minutes,
        "top_pages": ranked({p: len(v) for p, v in page_visitors.items()}, "page", "visitors", 10),
    }


# ---------------------------------------------------------------------------------------------------
# GET /api/session/{id} (§6) and session summaries (§12)


def session_body(mine: list[Event], user: str | None) -> Body:
    """The §6 session of `mine` (its events, oldest first) for a visitor whose current id is `user`."""
    first, last = mine[0], mine[-1]
    views = [clean_page(e["page"]) for e in mine if is_pageview(e)]
    timeline, previous = [], when(first)
    for event in mine:
        timeline.append(
            {
                "type": event["type"],
                "event_name": event.get("event_name", "") if event["type"] == "custom_event" else "",
                "page": clean_page(event["page"]),
                "page_title": event.get("page_title") or "",
                "timestamp": iso(when(event)),
                "time_on_previous_page": int((when(event) - previous).total_seconds() // 1),
                "props": event.get("props") or {},
            }
        )
        previous = when(event)
    return {
        "session_id": first["session_id"],
        "ghost_vid": first["ghost_vid"],
        "identified_user_id": user,
        **{k: first.get(k) for k in ("country", "city", "device_type", "browser", "os", "referrer")},
        "started_at": iso(when(first)),
        "ended_at": iso(when(last)),
        "duration_seconds": int((when(last) - when(first)).total_seconds() // 1),
        "event_count": len(mine),
        "pageview_count": len(views),
        "entry_page": views[0] if views else None,
        "exit_page": views[-1] if views else None,
        "pages": list(dict.fromkeys(views)),
        "timeline": timeline,
    }


def session(events: list[Event], session_id: str) -> Body:
    """The body of GET /api/session/{id}."""
    mine = sorted((e for e in events if e["session_id"] == session_id), key=order)
    visitor = mine[0]["ghost_vid"]
    theirs = sorted((e for e in events if e["ghost_vid"] == visitor), key=order)
    return session_body(mine, person(visitor, theirs, UTC_SITE).identified_user_id)


def summary(session_events: list[Event], user: str | None) -> Body:
    body = session_body(session_events, user)
    del body["timeline"], body["pages"]
    return body


def session_summary(events: list[Event], session_id: str, site: Site = UTC_SITE) -> Body | None:
    """The §6 session without `timeline` and `pages`; None when the session has no event."""
    mine = by_session(events).get(session_id)
    if not mine:
        return None
    visitor = mine[0]["ghost_vid"]
    return summary(mine, person(visitor, by_visitor(events)[visitor], site).identified_user_id)


def newest_first(summaries: Iterable[Body]) -> list[Body]:
    """Summaries by `started_at` newest first, ties by `session_id` ascending."""
    by_id = sorted(summaries, key=lambda s: s["session_id"])
    return sorted(by_id, key=lambda s: s["started_at"], reverse=True)  # stable: ties keep the id order


def sessions(
    events: list[Event],
    now: datetime,
    *,
    site: Site = UTC_SITE,
    time_range: str | None = None,
    from_: date | str | None = None,
    to: date | str | None = None,
    ghost_vid: str | None = None,
    identified: bool | None = None,
    hot: bool | None = None,
    country: str | None = None,
) -> list[Body]:
    """Every summary of GET /api/sessions, in order: sessions whose first event lies in the window,
    newest first, ties by session_id. Filters (None = no filter): `ghost_vid` the session's visitor;
    `identified` / `hot` the visitor's status as of now (False selects the others); `country` the
    session's country, where `Unknown` selects sessions without one."""
    start, end, _ = period(site, now, time_range, from_, to)
    persons = people(events, site)
    chosen = []
    for evs in by_session(events).values():
        first = evs[0]
        owner = persons[first["ghost_vid"]]
        if not in_window(first, start, end):
            continue
        if ghost_vid is not None and first["ghost_vid"] != ghost_vid:
            continue
        if identified is not None and owner.identified != identified:
            continue
        if hot is not None and owner.hot != hot:
            continue
        if country is not None and (first.get("country") or UNKNOWN) != country:
            continue
        chosen.append(summary(evs, owner.identified_user_id))
    return newest_first(chosen)


# ---------------------------------------------------------------------------------------------------
# GET /api/leads and GET /api/visitors/{ghost_vid} (§12)


def row_of(who: Person, all_sessions: dict[str, list[Event]], site: Site) -> Body:
    """A /api/leads row. `score_parts` are points, so they add up to `score`."""
    latest = who.events[-1]
    last_session = all_sessions[latest["session_id"]]
    recent_pages = [clean_page(e["page"]) for e in reversed(last_session) if is_pageview(e)]
    return {
        "ghost_vid": who.ghost_vid,
        "identified_user_id": who.identified_user_id,
        "score": who.score,
        "score_parts": {
            "high_intent_pageviews": who.high_intent_pageviews * site.high_intent_weight,
            "custom_events": who.custom_events * site.custom_event_weight,
            "identified": site.identified_weight if who.identified else 0,
        },
        "hot": who.hot,
        "hot_since": who.hot_since,
        "first_seen": iso(when(who.events[0])),
        "last_seen": iso(when(latest)),
        "sessions": len({e["session_id"] for e in who.events}),
        "country": latest.get("country"),
        "last_session_id": latest["session_id"],
        "last_pages": list(dict.fromkeys(recent_pages))[:5],
    }


def lead_row(events: list[Event], ghost_vid: str, site: Site = UTC_SITE) -> Body | None:
    """The visitor's /api/leads row; None when it has no event."""
    mine = by_visitor(events).get(ghost_vid)
    if not mine:
        return None
    return row_of(person(ghost_vid, mine, site), by_session(events), site)


def leads(
    events: list[Event],
    now: datetime,
    *,
    site: Site = UTC_SITE,
    time_range: str | None = None,
    from_: date | str | None = None,
    to: date | str | None = None,
    status: str = "hot",
    sort: str = "last_seen",
) -> list[Body]:
    """Every row of GET /api/leads, in order: visitors with an event in the window (`hot`: hot ones,
    `identified`: identified ones, `all`), by `last_seen` newest first or by `score` highest first then
    `last_seen` newest first; ties by ghost_vid ascending."""
    if status not in ("hot", "identified", "all") or sort not in ("last_seen", "score"):
        raise ValueError(f"unknown status {status!r} or sort {sort!r}")
    start, end, _ = period(site, now, time_range, from_, to)
    persons = people(events, site)
    active = {e["ghost_vid"] for e in events if in_window(e, start, end)}
    chosen = [
        p
        for vid, p in persons.items()
        if vid in active and (status == "all" or (p.hot if status == "hot" else p.identified))
    ]
    all_sessions = by_session(events)
    rows = sorted((row_of(p, all_sessions, site) for p in chosen), key=lambda r: r["ghost_vid"])
    rows.sort(key=lambda r: r["last_seen"], reverse=True)  # stable sorts: the last key sorted is the first
    if sort == "score":
        rows.sort(key=lambda r: r["score"], reverse=True)
    return rows


def distinct_latest_first(values: Iterable[Any]) -> list[Any]:
    """Distinct non-empty values of events given oldest first, the most recently sent first."""
    return list(dict.fromkeys(v for v in reversed(list(values)) if v))


def visitor(events: list[Event], ghost_vid: str, site: Site = UTC_SITE) -> Body | None:
    """The body of GET /api/visitors/{ghost_vid} with every session (no `next_cursor`); None when the
    visitor has no event. `user_ids`, `countries` and `devices` (the events' `device_type`) are the
    distinct values it sent, the most recently sent first (by its latest event with each value)."""
    row = lead_row(events, ghost_vid, site)
    if row is None:
        return None
    mine = by_visitor(events)[ghost_vid]
    who = person(ghost_vid, mine, site)
    all_sessions = by_session(events)
    own_sessions = {e["session_id"] for e in mine}
    return {
        **row,
        "user_ids": distinct_latest_first(e.get("user_id") for e in mine),
        "pageviews": sum(1 for e in mine if is_pageview(e)),
        "events": len(mine),
        "countries": distinct_latest_first(e.get("country") for e in mine),
        "devices": distinct_latest_first(e.get("device_type") for e in mine),
        "sessions": newest_first(summary(all_sessions[s], who.identified_user_id) for s in own_sessions),
    }


# ---------------------------------------------------------------------------------------------------
# Comparing an API body with the reference (§5's accuracy)

DISTINCT = frozenset({"unique_visitors", "identified_visitors", "hot_leads", "visitors", "visitors_now"})
ROW_NAMES = ("value", "country", "page")


def tolerance(exact: int) -> float:
    """How far an estimate of a distinct count may be from the exact one: none up to 200, then 2%."""
    return 0.0 if exact <= 200 else 0.02 * exact


def close(estimate: int, exact: int) -> bool:
    return abs(estimate - exact) <= tolerance(exact)


def assert_close(api: Any, expected: Any, path: str = "body") -> None:
    """Assert an API body equals the reference's: exact everywhere, except that distinct-visitor counts
    may differ within §5's tolerance, rankings by them may swap rows whose exact counts are within both
    tolerances of each other, and a `change` of a distinct metric must be the change of the API's own two
    numbers."""
    if isinstance(expected, dict):
        assert isinstance(api, dict), f"{path}: expected an object, got {api!r}"
        assert api.keys() == expected.keys(), f"{path}: keys {sorted(api)} != {sorted(expected)}"
        comparison = api.get("comparison")
        if isinstance(comparison, dict) and "change" in comparison:
            assert_change(api, expected, f"{path}.comparison.change")
        for key, value in expected.items():
            if key == "change" and "overview" in expected:
                continue  # checked by assert_change from the enclosing body
            if key in DISTINCT and isinstance(value, int) and not isinstance(value, bool):
                assert_count(api[key], value, f"{path}.{key}")
            else:
                assert_close(api[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(api, list), f"{path}: expected a list, got {api!r}"
        ranking = ranking_keys(expected)
        if ranking:
            assert_ranking(api, expected, *ranking, path)
            return
        assert len(api) == len(expected), f"{path}: {len(api)} items != {len(expected)}"
        for i, (got, want) in enumerate(zip(api, expected, strict=True)):
            assert_close(got, want, f"{path}[{i}]")
    else:
        same_kind = isinstance(api, bool) == isinstance(expected, bool)
        assert same_kind and api == expected, f"{path}: {api!r} != {expected!r}"


def matches(api: Any, expected: Any) -> bool:
    try:
        assert_close(api, expected)
    except AssertionError:
        return False
    return True


def assert_count(api: Any, exact: int, path: str) -> None:
    assert isinstance(api, int) and not isinstance(api, bool), f"{path}: {api!r} is not a count"
    assert close(api, exact), f"{path}: {api} is not within §5's tolerance of {exact}"


def assert_change(api: Body, expected: Body, path: str) -> None:
    got = api["comparison"]["change"]
    assert got.keys() == expected["comparison"]["change"].keys(), f"{path}: keys {sorted(got)}"
    for metric, want in expected["comparison"]["change"].items():
        if metric in DISTINCT:  # the API's own estimates decide: the change of its own two numbers
            want = percent_change(api["overview"][metric], api["comparison"]["overview"][metric])
        assert got[metric] == want, f"{path}.{metric}: {got[metric]!r} != {want!r}"


def ranking_keys(rows: list[Any]) -> tuple[str, str] | None:
    """(name, metric) when `rows` rank named rows by a distinct count first, e.g. countries."""
    if not rows or not all(isinstance(r, dict) for r in rows):
        return None
    keys = list(rows[0])
    if len(keys) >= 2 and keys[0] in ROW_NAMES and keys[1] in DISTINCT:
        return keys[0], keys[1]
    return None


def assert_ranking(api: list[Any], expected: list[Body], name: str, metric: str, path: str) -> None:
    assert len(api) == len(expected), f"{path}: {len(api)} rows != {len(expected)}"
    names = [row[name] for row in api]
    assert len(set(names)) == len(names), f"{path}: a {name} appears twice"
    assert api == sorted(api, key=lambda r: (-r[metric], r[name])), f"{path}: not ranked by its own {metric}"
    exact = {row[name]: row for row in expected}
    for i, (got, at_rank) in enumerate(zip(api, expected, strict=True)):
        own = exact.get(got[name])
        if own is not None:
            assert_close(got, own, f"{path}[{i}]")
            apart = abs(own[metric] - at_rank[metric])
            slack = tolerance(own[metric]) + tolerance(at_rank[metric])
        else:  # beyond the reference's cut: only possible where the rank's count is itself estimated
            apart = abs(got[metric] - at_rank[metric])
            slack = 2 * tolerance(at_rank[metric])
        swapped_within_error = slack > 0 and apart <= slack
        assert got[name] == at_rank[name] or swapped_within_error, (
            f"{path}[{i}]: {got!r} ranks where {at_rank!r} belongs"
        )
