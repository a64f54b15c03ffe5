"""Every reporting number (PRODUCT §10, §11) against the independent reference, in five time zones.

Traffic with DST changes (New York, Berlin, both directions), 30- and 45-minute offsets (Kolkata,
Kathmandu), month and year ends, 29 February, unicode and missing values is stored, delivered to the real
rollup handler in shuffled batches while the clock moves (so hours and days seal and late events make
sealed periods dirty), on a small site (day nodes, cells) and a big one (hour, week and month nodes,
prefixes). Then every preset, custom ranges across the changes, both comparisons, every interval and
every breakdown dimension (walked page by page with its cursor) must equal the reference.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.dal import sites as sites_dal
from ghostid.logic import breakdown, consumer, realtime, sealing, stats, timeseries
from ghostid.models.api import BreakdownQuery, StatsQuery, TimeseriesQuery
from ghostid.models.dimensions import DIMENSIONS
from ghostid.models.sites import Site

from tests.support import lambdas, reference, traffic
from tests.support.scenario import import_traffic, stored_events, stored_items

pytestmark = pytest.mark.integration

PRESETS = ("24h", "today", "yesterday", "7d", "30d", "month", "last_month", "12mo")


@dataclass(frozen=True)
class Case:
    timezone: str
    now: datetime
    kind: str  # "zoned" or "leap"

    @property
    def now_ms(self) -> int:
        return int(self.now.timestamp() * 1000)


CASES = [
    Case(
        "America/New_York", datetime(2026, 3, 31, 14, 7, 3, 120000, tzinfo=UTC), "zoned"
    ),  # spring forward 8 Mar
    Case("Europe/Berlin", datetime(2025, 11, 4, 9, 41, 0, tzinfo=UTC), "zoned"),  # fall back 26 Oct
    Case("Asia/Kathmandu", datetime(2026, 1, 2, 18, 30, 0, tzinfo=UTC), "zoned"),  # +5:45, a year end
    Case("Asia/Kolkata", datetime(2028, 3, 3, 20, 0, 0, tzinfo=UTC), "leap"),  # +5:30, 29 February
]


@dataclass
class Loaded:
    case: Case
    site: int
    events: list[dict[str, Any]]
    config: reference.Site


_sites = iter(range(500, 600))


@pytest.fixture(
    scope="module",
    # Every case and size; three of the big sites are `slow` (CI leaves them out: see pyproject.toml).
    params=[
        pytest.param(
            (c, size), marks=[pytest.mark.slow] if (size, i) in {("big", 0), ("big", 1), ("big", 3)} else []
        )
        for i, c in enumerate(CASES)
        for size in ("small", "big")
    ],
    ids=lambda p: f"{p[0].timezone}-{p[1]}",
)
def loaded(request: pytest.FixtureRequest, module_aws_env: dict[str, str]) -> Iterator[Loaded]:
    """Loaded once per case and size; every test below only reads it."""
    case, size = request.param
    with pytest.MonkeyPatch.context() as monkeypatch:
        if size == "big":
            monkeypatch.setattr(sealing, "BIG_DAY_EVENTS", 1)
        yield from _load(case, module_aws_env, monkeypatch)


def _load(case: Case, module_aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Loaded]:
    consumer.clear_config_cache()
    site = next(_sites)
    sites_dal.put_site(Site(site_id=site, domain="example.com", timezone=case.timezone))
    raw = (
        traffic.zoned(case.now, seed=site, timezone=case.timezone, visitors=25, days=40)
        if case.kind == "zoned"
        else traffic.leap_day(case.now, seed=site, timezone=case.timezone)
    )
    raw += traffic.dimensions(case.now, seed=site, timezone=case.timezone, visitors=15, days=7)
    import_traffic(raw, site=site)
    items = [i for i in stored_items(module_aws_env["EventsTable"]) if i["pk"]["S"].startswith(f"{site}#")]
    _deliver_while_time_moves(items, case, monkeypatch)
    yield Loaded(case, site, stored_events(items), reference.Site(site_id=site, timezone=case.timezone))
    consumer.clear_config_cache()


def _deliver_while_time_moves(
    items: list[dict[str, Any]], case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(len(items))
    order = [lambdas.stream_record(item, n) for n, item in enumerate(items, 1)]
    rng.shuffle(order)
    clock = {"now": case.now_ms - 26 * 3_600_000}
    monkeypatch.setattr(timeutil, "now_ms", lambda: clock["now"])
    size = max(10, len(order) // 12)
    for start in range(0, len(order), size):
        assert lambdas.deliver(order[start : start + size]) == {"batchItemFailures": []}
        clock["now"] = min(case.now_ms, clock["now"] + 3 * 3_600_000)
    clock["now"] = case.now_ms
    assert lambdas.deliver(order[:1]) == {"batchItemFailures": []}  # a batch at `now`: seals the turns


def _stats(site: int, now_ms: int, **query: Any) -> dict[str, Any]:
    params = {"siteId": str(site), **{k: str(v) for k, v in query.items()}}
    return stats.site_stats(StatsQuery.model_validate(params), now_ms).model_dump(mode="json")


def test_every_preset_with_both_comparisons(loaded: Loaded) -> None:
    case = loaded.case
    for preset in PRESETS:
        for compare in (None, "previous", "year"):
            extra = {"compare": compare} if compare else {}
            expected = reference.stats(
                loaded.events, case.now, preset, site=loaded.config, compare=compare, limit=100
            )
            for attempt in ("computed", "stored"):
                got = _stats(loaded.site, case.now_ms, timeRange=preset, limit=100, **extra)
                reference.assert_close(got, expected, f"{preset} {compare} {attempt}")


def test_custom_ranges_across_the_zone_changes(loaded: Loaded) -> None:
    case = loaded.case
    today = case.now.astimezone(loaded.config.zone).date()
    for days_back, length in ((40, 40), (35, 10), (25, 3), (9, 1), (0, 1), (3, 4)):
        first = today - timedelta(days=days_back)
        last = min(today, first + timedelta(days=length - 1))
        for compare in (None, "previous", "year"):
            extra = {"compare": compare} if compare else {}
            expected = reference.stats(
                loaded.events, case.now, None, site=loaded.config, from_=first, to=last, compare=compare
            )
            got = _stats(loaded.site, case.now_ms, **{"from": first, "to": last}, **extra)
            reference.assert_close(got, expected, f"{first}..{last} {compare}")


@pytest.mark.parametrize(
    ("time_range", "interval"),
    [
        ("24h", "hour"),
        ("7d", "hour"),
        ("7d", "day"),
        ("30d", "day"),
        ("30d", "week"),
        ("12mo", "month"),
        ("24h", "day"),
    ],
)
def test_timeseries_by_every_interval(loaded: Loaded, time_range: str, interval: str) -> None:
    case = loaded.case
    for compare in (None, "previous"):
        params = {"siteId": str(loaded.site), "timeRange": time_range, "interval": interval}
        if compare:
            params["compare"] = compare
        got = timeseries.site_timeseries(TimeseriesQuery.model_validate(params), case.now_ms)
        expected = reference.timeseries(
            loaded.events,
            case.now,
            site=loaded.config,
            time_range=time_range,
            interval=interval,
            compare=compare,
        )
        reference.assert_close(got.model_dump(mode="json"), expected, f"{time_range} by {interval} {compare}")


def test_every_breakdown_walked_with_its_cursor(loaded: Loaded) -> None:
    case = loaded.case
    for dimension in DIMENSIONS:
        for time_range in ("30d", "yesterday"):
            expected = reference.breakdown(
                loaded.events, case.now, site=loaded.config, dimension=dimension.name, time_range=time_range
            )
            rows: list[dict[str, Any]] = []
            cursor = None
            for _ in range(100):
                params = {
                    "siteId": str(loaded.site),
                    "timeRange": time_range,
                    "dimension": dimension.name,
                    "limit": "3",
                }
                if cursor:
                    params["cursor"] = cursor
                page = breakdown.site_breakdown(BreakdownQuery.model_validate(params), case.now_ms)
                rows += [row.model_dump(mode="json") for row in page.rows]
                cursor = page.next_cursor
                if cursor is None:
                    break
            body = page.model_dump(mode="json") | {"rows": rows, "next_cursor": None}
            reference.assert_close(body, {**expected, "next_cursor": None}, f"{dimension.name} {time_range}")


def test_realtime(loaded: Loaded) -> None:
    got = realtime.site_realtime(loaded.site, loaded.case.now_ms).model_dump(mode="json")
    reference.assert_close(got, reference.realtime(loaded.events, loaded.case.now, loaded.config), "realtime")


def test_a_local_day_has_its_zones_length(loaded: Loaded) -> None:
    """The periods themselves: a custom day's `period` spans the local day (23 or 25 hours at a change)."""
    zone = loaded.config.zone
    today = loaded.case.now.astimezone(zone).date()
    for back in range(0, 40, 3):
        day = today - timedelta(days=back)
        got = _stats(loaded.site, loaded.case.now_ms, **{"from": day, "to": day})
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        assert got["period"] == {
            "start": reference.iso(start.astimezone(UTC)),
            "end": reference.iso(end.astimezone(UTC)),
            "timezone": loaded.case.timezone,
        }
