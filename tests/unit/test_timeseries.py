"""GET /api/timeseries in-process, fed events/timeseries_get.json: the answer's shape and headers, every
interval and range kind, comparison, and the error matrix of its parameters (tests/support/surface.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import surface

pytestmark = pytest.mark.usefixtures("aws")
ROUTE = surface.route("GET /api/timeseries")


def test_shipped_event_file(site: list[dict[str, Any]]) -> None:
    body = surface.expect_json_answer(surface.call(ROUTE), ROUTE)
    assert (body["interval"], body["time_range"]) == ("day", "7d")
    assert [p["label"] for p in body["points"]] == [f"2026-03-{d:02d}" for d in range(4, 11)]
    assert body["period"] == {
        "start": body["points"][0]["start"],
        "end": "2026-03-11T00:00:00.000Z",
        "timezone": "UTC",
    }
    assert "comparison" not in body
    assert sum(p["pageviews"] for p in body["points"]) > 0


SERIES = [  # (query, how many points, the first one's label)
    ({"timeRange": "24h", "interval": "hour"}, 24, "2026-03-09T18:00"),
    ({"timeRange": "today", "interval": "hour"}, 24, "2026-03-10T00:00"),
    ({"timeRange": "7d", "interval": "hour"}, 168, "2026-03-04T00:00"),
    ({"timeRange": "30d", "interval": "week"}, 5, "2026-02-09"),
    ({"timeRange": "12mo", "interval": "month"}, 12, "2025-04-01"),
    ({"timeRange": "custom", "from": "2026-03-01", "to": "2026-03-10", "interval": "day"}, 10, "2026-03-01"),
    ({"from": "2026-02-27", "to": "2026-03-02", "interval": "month"}, 2, "2026-02-27"),
]


def test_every_interval_and_range_kind(site: Any) -> None:
    got = {}
    for query, _, _ in SERIES:
        body = surface.expect_json_answer(surface.call(ROUTE, {"siteId": "4", **query}), ROUTE)
        assert body["time_range"] == query.get("timeRange", "custom")
        assert body["points"] == sorted(body["points"], key=lambda p: p["start"])
        got[str(query)] = (len(body["points"]), body["points"][0]["label"])
    assert got == {str(query): (points, label) for query, points, label in SERIES}


def test_comparison_has_as_many_points(site: Any) -> None:
    for compare in ("previous", "year"):
        query = {"siteId": "4", "timeRange": "month", "compare": compare}
        body = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)
        compared = body["comparison"]
        assert len(compared["points"]) == len(body["points"]) == 10, compare
        assert compared["period"]["end"] <= body["period"]["start"], compare


def test_hourly_points_only_up_to_7_days(now: None) -> None:
    surface.member_site(traffic=False)
    for time_range in ("30d", "month", "12mo"):
        result = surface.call(ROUTE, {"siteId": "4", "timeRange": time_range, "interval": "hour"})
        assert "interval" in surface.expect_error(result, 400, "invalid_parameter")
    eight_days = {"siteId": "4", "from": "2026-03-03", "to": "2026-03-10", "interval": "hour"}
    assert "interval" in surface.expect_error(surface.call(ROUTE, eight_days), 400, "invalid_parameter")
    seven_days = {**eight_days, "from": "2026-03-04"}
    assert len(surface.expect_json_answer(surface.call(ROUTE, seven_days), ROUTE)["points"]) == 168


def test_every_parameter_wrong_in_each_way_is_a_400_naming_it(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.refused(ROUTE, surface.parameter_cases(ROUTE)) == []


def test_cookie_then_parameters_then_membership(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.order_of_checks(ROUTE) == []
