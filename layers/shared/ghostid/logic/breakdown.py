"""GET /api/breakdown (PRODUCT §11): one dimension's values over a range with their metrics, a page at a time.

Rows rank by the dimension's first metric (most first), ties by value ascending. The cursor holds the last
row's rank key, so a walk never repeats or skips a row of an unchanged ranking.
"""

from __future__ import annotations

import heapq
from typing import Any

from ghostid.dal import state as state_dal
from ghostid.logic import cursor
from ghostid.logic import tree as tree_logic
from ghostid.logic.stats import period_of, site_tree
from ghostid.models.api import BREAKDOWN_RESPONSES, BreakdownQuery, BreakdownResponse
from ghostid.models.dimensions import BY_NAME, COUNT_METRICS, Dimension, Metric
from ghostid.models.rollups import Aggregate

ROUTE = "breakdown"
_ROW_INDEX = {name: i for i, name in enumerate(COUNT_METRICS)}  # a stored Row's order


def site_breakdown(query: BreakdownQuery, now_ms: int) -> BreakdownResponse:
    state = state_dal.get_state(query.site_id, consistent=False)
    tree = site_tree(query.site_id, state, now_ms)
    period = period_of(query, tree)
    dimension = BY_NAME[query.dimension]
    scope = query.model_dump(exclude={"cursor", "limit", "site_id"}, mode="json")
    after = cursor.decode(ROUTE, query.site_id, scope, query.cursor) if query.cursor else None
    (loaded,) = tree_logic.load(tree, [period], (dimension.name,))
    after_key = (int(after[0]), str(after[1])) if after is not None else None
    page, more = ranked_page(loaded.aggregate, dimension, after_key, query.limit)
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


def ranked_page(
    aggregate: Aggregate, dimension: Dimension, after: tuple[int, str] | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """The `limit` rows ranked after `after` (a rank key), and whether more follow. Only the page's rows are
    built: a page dimension holds thousands of values, so the rest are ranked by plain key tuples."""
    values = aggregate.rows.get(dimension.name, {})
    sketches = aggregate.row_visitors.get(dimension.name, {})

    def metric(name: Metric, value: str) -> int:
        if name == "visitors":
            sketch = sketches.get(value)
            return sketch.estimate() if sketch is not None else 0
        return values[value][_ROW_INDEX[name]]

    def measured(value: str) -> dict[str, int]:
        return {name: metric(name, value) for name in dimension.metrics}

    first = dimension.metrics[0]
    position = _ROW_INDEX.get(first)  # None for visitors; a count is read straight from its row
    keys = []
    for value, row in values.items():
        lead = row[position] if position is not None else metric(first, value)
        # A row with every metric zero is left out (e.g. an exit page of sessions that started before).
        if lead or any(measured(value).values()):
            keys.append((-lead, value))
    if after is not None:
        keys = [key for key in keys if key > after]
    chosen = heapq.nsmallest(limit + 1, keys)
    return [{"value": value, **measured(value)} for _, value in chosen[:limit]], len(chosen) > limit


def _rank(row: dict[str, Any], dimension: Dimension) -> tuple[int, str]:
    return (-int(row[dimension.metrics[0]]), str(row["value"]))
