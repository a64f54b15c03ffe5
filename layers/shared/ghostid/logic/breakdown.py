"""GET /api/breakdown (PRODUCT §11): one dimension's values over a range with their metrics, a page at a time.

Rows rank by the dimension's first metric (most first), ties by value ascending. The cursor holds the last
row's rank key, so a walk never repeats or skips a row of an unchanged ranking.
"""

from __future__ import annotations

from typing import Any

from ghostid.dal import state as state_dal
from ghostid.logic import cursor
from ghostid.logic import tree as tree_logic
from ghostid.logic.stats import period_of, site_tree
from ghostid.models.api import BREAKDOWN_RESPONSES, BreakdownQuery, BreakdownResponse
from ghostid.models.dimensions import BY_NAME, Dimension
from ghostid.models.rollups import Aggregate

ROUTE = "breakdown"


def site_breakdown(query: BreakdownQuery, now_ms: int) -> BreakdownResponse:
    state = state_dal.get_state(query.site_id, consistent=False)
    tree = site_tree(query.site_id, state, now_ms)
    period = period_of(query, tree)
    dimension = BY_NAME[query.dimension]
    scope = query.model_dump(exclude={"cursor", "limit", "site_id"}, mode="json")
    after = cursor.decode(ROUTE, query.site_id, scope, query.cursor) if query.cursor else None
    (loaded,) = tree_logic.load(tree, [period], (dimension.name,))
    ranked = rows(loaded.aggregate, dimension)
    if after is not None:
        ranked = [row for row in ranked if _rank(row, dimension) > (after[0], after[1])]
    page = ranked[: query.limit]
    more = len(ranked) > query.limit
    next_cursor = (
        cursor.encode(ROUTE, query.site_id, scope, list(_rank(page[-1], dimension))) if more else None
    )
    return BREAKDOWN_RESPONSES[dimension.name].model_validate(
        {
            "dimension": dimension.name,
            "time_range": period.name,
            "period": period.as_json(),
            "rows": page,
            "next_cursor": next_cursor,
        }
    )


def rows(aggregate: Aggregate, dimension: Dimension) -> list[dict[str, Any]]:
    """Every value's row, ranked."""
    values = aggregate.rows.get(dimension.name, {})
    sketches = aggregate.row_visitors.get(dimension.name, {})
    found = []
    for value, (sessions, pageviews, events) in values.items():
        measured = {"sessions": sessions, "pageviews": pageviews, "events": events}
        if dimension.has_visitors:
            sketch = sketches.get(value)
            measured["visitors"] = sketch.estimate() if sketch is not None else 0
        row: dict[str, Any] = {"value": value, **{m: measured[m] for m in dimension.metrics}}
        if any(row[m] for m in dimension.metrics):  # e.g. an exit page of sessions that started before
            found.append(row)
    return sorted(found, key=lambda row: _rank(row, dimension))


def _rank(row: dict[str, Any], dimension: Dimension) -> tuple[int, str]:
    return (-int(row[dimension.metrics[0]]), str(row["value"]))
