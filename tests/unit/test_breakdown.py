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
