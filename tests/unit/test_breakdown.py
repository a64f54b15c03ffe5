"""GET /api/breakdown in-process, fed events/breakdown_get.json: each dimension's rows have exactly its
metrics (models/dimensions.py), missing values have their names, cursors walk and cannot be forged, and
the error matrix of its parameters (tests/support/surface.py)."""

from __future__ import annotations

from typing import Any

import pytest
from ghostid.models.dimensions import DIMENSIONS, DIRECT, NONE, UNKNOWN

from tests.support import surface

pytestmark = pytest.mark.usefixtures("aws")
ROUTE = surface.route("GET /api/breakdown")
MISSING_VALUE_OF = {"country": UNKNOWN, "utm_medium": NONE, "source": DIRECT, "referrer": DIRECT}


def test_shipped_event_file(site: list[dict[str, Any]]) -> None:
    body = surface.expect_json_answer(surface.call(ROUTE), ROUTE)
    assert (body["dimension"], body["time_range"], body["next_cursor"]) == ("page", "30d", None)
    assert {row["value"] for row in body["rows"]} == {"/", "/pricing", "/demo", "/café"}
    assert all(list(row) == ["value", "pageviews"] for row in body["rows"])


def test_every_dimension_answers_rows_of_exactly_its_metrics(site: list[dict[str, Any]]) -> None:
    for dimension in DIMENSIONS:
        query = {"siteId": "4", "timeRange": "30d", "dimension": dimension.name, "limit": "1000"}
        body = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)
        assert body["dimension"] == dimension.name and body["rows"], dimension.name
        for row in body["rows"]:
            assert list(row) == ["value", *dimension.metrics], (dimension.name, row)
            assert row[dimension.metrics[0]] > 0, (dimension.name, row)
        ranks = [(-row[dimension.metrics[0]], row["value"]) for row in body["rows"]]
        assert ranks == sorted(ranks), dimension.name
        if dimension.name in MISSING_VALUE_OF:
            assert MISSING_VALUE_OF[dimension.name] in {row["value"] for row in body["rows"]}, dimension.name


def test_cursor_walk_returns_every_row_once(site: list[dict[str, Any]]) -> None:
    query = {"siteId": "4", "timeRange": "30d", "dimension": "page"}
    whole = surface.expect_json_answer(surface.call(ROUTE, {**query, "limit": "1000"}), ROUTE)["rows"]
    assert surface.walk(ROUTE, {**query, "limit": "1"}, "rows") == whole
    assert len(whole) == 4


def test_forged_or_foreign_cursors_are_400(site: list[dict[str, Any]]) -> None:
    query = {"siteId": "4", "timeRange": "30d", "dimension": "page", "limit": "1"}
    cursor = surface.call(ROUTE, query)[2]["next_cursor"]
    assert cursor
    variants = [
        {"dimension": "country"},
        {"timeRange": "7d"},
        {"timeRange": "custom", "from": "2026-02-09", "to": "2026-03-10"},
    ]
    sessions = surface.route("GET /api/sessions")
    foreign = surface.call(sessions, {"siteId": "4", "timeRange": "30d", "limit": "1"})[2]["next_cursor"]
    assert surface.misused_cursors(ROUTE, query, cursor, variants, foreign) == []
    # The limit is not part of the cursor: a walk may change its page size.
    assert surface.call(ROUTE, {**query, "limit": "2", "cursor": cursor})[0] == 200


def test_every_parameter_wrong_in_each_way_is_a_400_naming_it(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.refused(ROUTE, surface.parameter_cases(ROUTE)) == []


def test_cookie_then_parameters_then_membership(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.order_of_checks(ROUTE) == []


def test_a_page_is_the_same_slice_of_the_whole_ranking() -> None:
    """`ranked_page` builds only the page's rows (a heap over rank keys): every page, after every row,
    equals that slice of all rows ranked by brute force, ties (by value), zero rows and sketches included."""
    import random

    from ghostid.distinct import Distinct
    from ghostid.logic.breakdown import ranked_page
    from ghostid.models.dimensions import BY_NAME
    from ghostid.models.rollups import Aggregate

    rng = random.Random(7)
    for name in ("page", "event_name", "country", "exit_page"):
        dimension = BY_NAME[name]
        aggregate = Aggregate()
        values = aggregate.rows.setdefault(name, {})
        for i in range(60):
            value = f"v{rng.randrange(40)}é{i % 3}"
            values[value] = [rng.choice([0, 0, 1, 2]) for _ in range(3)]
            if dimension.has_visitors and rng.random() < 0.8:
                aggregate.row_visitors.setdefault(name, {})[value] = Distinct(
                    rng.randrange(10**6) for _ in range(rng.choice([0, 1, 2, 300]))
                )
        everything: list[dict[str, Any]] = []
        for value, (sessions, pageviews, events) in values.items():
            found = {"sessions": sessions, "pageviews": pageviews, "events": events}
            sketch = aggregate.row_visitors.get(name, {}).get(value)
            found["visitors"] = sketch.estimate() if sketch is not None else 0
            row: dict[str, Any] = {"value": value, **{m: found[m] for m in dimension.metrics}}
            if any(row[m] for m in dimension.metrics):
                everything.append(row)
        everything.sort(key=lambda row: (-row[dimension.metrics[0]], row["value"]))
        assert everything, name
        for limit in (1, 3, 1000):
            page, more = ranked_page(aggregate, dimension, None, limit)
            assert (page, more) == (everything[:limit], len(everything) > limit), name
        for i, row in enumerate(everything):
            after = (-row[dimension.metrics[0]], row["value"])
            page, more = ranked_page(aggregate, dimension, after, 2)
            assert (page, more) == (everything[i + 1 : i + 3], len(everything) > i + 3), (name, i)
