"""GET /api/stats: fold the window's rollup items into the response (PRODUCT §5).

A dashboard call should cost the same however big the site is, so the consumer precomputes the three
ranges' answers after every batch (`refresh_answers`) and a call reads that one small item. When the
answers are not current (a batch landed since, or the hour or day rolled over) the call folds the
window's rollup items itself, so an answer is never stale.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, get_args

from pydantic import ValidationError

from ghostid.dal import answers as answers_dal
from ghostid.dal import rollups as rollups_dal
from ghostid.logic import sketches
from ghostid.models.api import CountryVisitors, Overview, StatsResponse, TopPage
from ghostid.observability import logger
from ghostid.settings import TOP_LIMIT
from ghostid.timeutil import TimeRange, Window, window_for

RANGES: tuple[TimeRange, ...] = get_args(TimeRange)
# Raise when what an answer means changes: answers stored by the previous code are then not served.
ANSWERS_FORMAT = 1


def site_stats(site_id: int, time_range: TimeRange, now_ms: int) -> StatsResponse:
    window = window_for(time_range, now_ms)
    answer = _stored_answer(site_id, time_range)
    if answer and answer["window"] == [window.first, window.last]:
        try:
            return StatsResponse.model_validate(answer["stats"])
        except ValidationError:
            logger.warning("stored answers no longer fit the response model", extra={"site_id": site_id})
    return live_stats(site_id, window)


def _stored_answer(site_id: int, time_range: TimeRange) -> dict[str, Any] | None:
    stored = answers_dal.get_current_answers(site_id)
    if stored is None:
        return None
    answers = json.loads(zlib.decompress(stored))
    if answers.get("format") != ANSWERS_FORMAT:
        return None
    answer: dict[str, Any] | None = answers.get(time_range)
    return answer


def live_stats(site_id: int, window: Window) -> StatsResponse:
    """The window's answer folded from its rollup items (what the precomputed answers must equal)."""
    return build_stats(window, rollups_dal.query_window(site_id, window))


def refresh_answers(site_id: int, now_ms: int) -> bool:
    """Recomputes every range's answer from the rollups as they are after the version bump (read
    consistently), so stored answers tagged with the current version include every applied batch."""
    version = answers_dal.bump_version(site_id)
    windows = {name: window_for(name, now_ms) for name in RANGES}
    by_granularity = {
        granularity: list(rollups_dal.query_window(site_id, widest, consistent=True))
        for granularity, widest in (("H", windows["24h"]), ("D", windows["30d"]))
    }
    answers: dict[str, Any] = {"format": ANSWERS_FORMAT}
    for name, window in windows.items():
        items = (i for i in by_granularity[window.granularity] if i["sk"]["S"] >= window.first_key)
        answers[name] = {
            "window": [window.first, window.last],
            "stats": build_stats(window, items).model_dump(mode="json"),
        }
    payload = zlib.compress(json.dumps(answers, separators=(",", ":")).encode())
    return answers_dal.put_answers(site_id, version, payload)


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
