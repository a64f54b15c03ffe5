"""GET /api/stats: fold the window's rollup items into the response (PRODUCT §5)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from ghostid.dal import rollups as rollups_dal
from ghostid.logic import sketches
from ghostid.models.api import CountryVisitors, Overview, StatsResponse, TopPage
from ghostid.settings import TOP_LIMIT
from ghostid.timeutil import TimeRange, Window, window_for


def site_stats(site_id: int, time_range: TimeRange, now_ms: int) -> StatsResponse:
    window = window_for(time_range, now_ms)
    return build_stats(window, rollups_dal.query_window(site_id, window))


def build_stats(window: Window, items: Iterable[dict[str, Any]]) -> StatsResponse:
    """`items` are the raw rollup items of the window's buckets (any order, any number of pages)."""
    totals: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    visitor_sketches: dict[str, list[bytes]] = defaultdict(list)
    country_sketches: dict[str, list[bytes]] = defaultdict(list)
    for item in items:
        kind = item["sk"]["S"].split("#", 1)[1]
        if kind == "c":
            for name in ("pv", "ev", "se"):
                if name in item:
                    totals[name] += int(item[name]["N"])
        elif kind.startswith("p#"):
            for page, value in item.items():
                if page not in ("pk", "sk"):
                    pages[page] += int(value["N"])
        elif kind == "s":  # a bucket's packed sketches
            for name, value in item.get("m", {}).get("M", {}).items():
                _file_sketch(name, bytes(value["B"]), visitor_sketches, country_sketches)
        elif kind.startswith(("u#", "g#")):
            _file_sketch(kind, bytes(item["s"]["B"]), visitor_sketches, country_sketches)
    countries = [(name, sketches.union_estimate(blobs)) for name, blobs in country_sketches.items()]
    return StatsResponse(
        overview=Overview(
            unique_visitors=sketches.union_estimate(visitor_sketches["v"]),
            sessions=totals["se"],
            pageviews=totals["pv"],
            total_events=totals["ev"],
            identified_visitors=sketches.union_estimate(visitor_sketches["i"]),
            hot_leads=sketches.union_estimate(visitor_sketches["h"]),
        ),
        top_pages=[TopPage(page=p, views=v) for p, v in _top((p, v) for p, v in pages.items() if v > 0)],
        countries=[CountryVisitors(country=c, visitors=v) for c, v in _top(x for x in countries if x[1] > 0)],
        time_range=window.name,
    )


def _file_sketch(
    name: str, blob: bytes, visitors: dict[str, list[bytes]], countries: dict[str, list[bytes]]
) -> None:
    """`u#v` / `u#i` / `u#h` (visitors, identified, hot leads) or `g#<country>`."""
    (visitors if name.startswith("u#") else countries)[name[2:]].append(blob)


def _top(entries: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Most first, ties by name ascending, at most TOP_LIMIT."""
    return sorted(entries, key=lambda entry: (-entry[1], entry[0]))[:TOP_LIMIT]
