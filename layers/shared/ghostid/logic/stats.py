"""GET /api/stats (PRODUCT §5, §10): the six overview numbers, top pages and countries over any range.

A dashboard call should cost the same however big the site is. Presets are answered from a stored answer
when nothing changed since it was computed (same generation, same period): one BatchGetItem of the site's
state and that answer. Otherwise the call folds the period from the time tree (prefixes, sealed nodes,
the current hour) and stores the answer for the next caller.
"""

from __future__ import annotations

import heapq
from typing import Any

from ghostid.dal import sites as sites_dal
from ghostid.dal import state as state_dal
from ghostid.logic import periods as periods_logic
from ghostid.logic import tree as tree_logic
from ghostid.logic.periods import Period
from ghostid.models.api import (
    Change,
    Comparison,
    CountryVisitors,
    Overview,
    PeriodBody,
    RangeQuery,
    StatsQuery,
    StatsResponse,
    TopPage,
)
from ghostid.models.dimensions import STATS_FAMILIES
from ghostid.timeutil import Zone

ANSWER_LIMIT = 100  # the longest lists a caller may ask for (`limit` up to 100)
SHORT_LIMIT = 10  # the usual answer keeps 10 (one small item: a fraction of one read unit)
ANSWERS_FORMAT = 2


def site_stats(query: StatsQuery, now_ms: int) -> StatsResponse:
    key = _answer_key(query)
    kept = SHORT_LIMIT if query.limit <= SHORT_LIMIT else ANSWER_LIMIT
    state, stored = state_dal.state_and_answer(query.site_id, key)
    tree = site_tree(query.site_id, state, now_ms)
    period = period_of(query, tree)
    fresh = stored is not None and key and stored.gen == state.gen and stored.window == period.key
    if fresh and stored is not None and stored.body.get("format") == ANSWERS_FORMAT:
        return _limited(StatsResponse.model_validate(stored.body["stats"]), query.limit)
    response = _limited(compute(tree, period, query.compare), kept)
    if key:
        body = {"format": ANSWERS_FORMAT, "stats": response.model_dump(mode="json")}
        state_dal.put_answer(query.site_id, key, state_dal.StoredAnswer(state.gen, period.key, body))
    return _limited(response, query.limit)


def _answer_key(query: StatsQuery) -> str | None:
    """Presets are stored (with and without comparison); custom ranges are computed per call."""
    if query.preset is None:
        return None
    longer = f"#{ANSWER_LIMIT}" if query.limit > SHORT_LIMIT else ""
    return query.preset + (f":{query.compare}" if query.compare else "") + longer


def site_tree(site_id: int, state: state_dal.SiteState, now_ms: int) -> tree_logic.Tree:
    """The site's tree as its state describes it; a site with no rollups yet reads its zone from the site."""
    timezone = state.timezone
    if timezone is None:
        site = sites_dal.get_site(site_id)
        timezone = site.timezone if site else "UTC"
    return tree_logic.Tree(site_id, Zone(timezone), state, now_ms)


def period_of(query: RangeQuery, tree: tree_logic.Tree) -> Period:
    if query.preset is not None:
        return periods_logic.preset(query.preset, tree.zone, tree.now)
    assert query.from_day is not None and query.to_day is not None
    return periods_logic.custom(tree.zone, tree.now, query.from_day, query.to_day)


def compute(tree: tree_logic.Tree, period: Period, compare: periods_logic.Compare | None) -> StatsResponse:
    periods = [period] + ([periods_logic.compared(period, compare)] if compare else [])
    loaded = tree_logic.load(tree, periods, STATS_FAMILIES)
    current = overview(loaded[0])
    comparison = None
    if compare:
        previous = overview(loaded[1])
        comparison = Comparison(
            period=PeriodBody(**periods[1].as_json()),
            overview=previous,
            change=Change(
                **{
                    name: periods_logic.change(getattr(current, name), getattr(previous, name))
                    for name in Overview.model_fields
                }
            ),
        )
    rows = loaded[0].aggregate.rows.get("page", {})
    countries = loaded[0].aggregate.row_visitors.get("country", {})
    return StatsResponse(
        overview=current,
        top_pages=[
            TopPage(page=p, views=v) for p, v in top([(p, r[1]) for p, r in rows.items() if r[1] > 0])
        ],
        countries=[
            CountryVisitors(country=c, visitors=v)
            for c, v in top((c, s.estimate()) for c, s in countries.items() if s)
        ],
        time_range=period.name,
        period=PeriodBody(**period.as_json()),
        comparison=comparison,
    )


def overview(loaded: tree_logic.Loaded) -> Overview:
    total = loaded.aggregate
    return Overview(
        unique_visitors=total.visitors.estimate(),
        sessions=total.sessions,
        pageviews=total.pageviews,
        total_events=total.events,
        identified_visitors=loaded.presence.identified.estimate(),
        hot_leads=loaded.presence.hot.estimate(),
    )


def top(entries: Any, limit: int = ANSWER_LIMIT) -> list[tuple[str, int]]:
    """Most first, ties by name ascending (a heap of plain tuples: a page list holds thousands of values)."""
    return [(name, -count) for count, name in heapq.nsmallest(limit, [(-c, n) for n, c in entries])]


def _limited(response: StatsResponse, limit: int) -> StatsResponse:
    return response.model_copy(
        update={"top_pages": response.top_pages[:limit], "countries": response.countries[:limit]}
    )
