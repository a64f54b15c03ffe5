"""GET /api/stats's reporting surface (PRODUCT §10) in-process, fed events/stats_get.json: every preset
and custom dates with `period`, `comparison` only with `compare`, `limit`, and the error matrix of its
parameters (tests/support/surface.py). Its numbers are tests/unit/test_api.py's."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from ghostid.logic.periods import PRESETS
from ghostid.models.api import Overview

from tests.support import surface

pytestmark = pytest.mark.usefixtures("aws")
ROUTE = surface.route("GET /api/stats")


def test_shipped_event_file(site: list[dict[str, Any]]) -> None:
    body = surface.expect_json_answer(surface.call(ROUTE), ROUTE)
    assert list(body) == ["overview", "top_pages", "countries", "time_range", "period"]
    assert body["time_range"] == "7d"
    assert body["period"] == {
        "start": "2026-03-04T00:00:00.000Z",
        "end": "2026-03-11T00:00:00.000Z",
        "timezone": "UTC",
    }


def test_every_preset_and_custom_dates(site: Any) -> None:
    for preset in PRESETS:
        body = surface.expect_json_answer(surface.call(ROUTE, {"siteId": "4", "timeRange": preset}), ROUTE)
        assert body["time_range"] == preset and body["period"]["start"] < body["period"]["end"]
    custom = {"siteId": "4", "from": "2026-03-09", "to": "2026-03-10"}
    body = surface.expect_json_answer(surface.call(ROUTE, custom), ROUTE)
    assert body["time_range"] == "custom"
    assert (
        body["period"]["start"] == "2026-03-09T00:00:00.000Z"
        and body["period"]["end"] == "2026-03-11T00:00:00.000Z"
    )


def test_comparison_only_with_compare(site: Any) -> None:
    # 7d and 12mo are stored answers (the second call reads them), a custom range is computed each time.
    ranges: list[dict[str, str]] = [
        {"timeRange": "7d"},
        {"timeRange": "12mo"},
        {"from": "2026-02-01", "to": "2026-03-10"},
    ]
    for compare, time_range in itertools.product(("previous", "year"), ranges):
        query = {"siteId": "4", **time_range, "compare": compare}
        for _ in range(2):
            body = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)
            compared = body["comparison"]
            assert list(compared["change"]) == list(compared["overview"]) == list(Overview.model_fields)
            assert compared["period"]["end"] <= body["period"]["start"]
        plain = surface.expect_json_answer(surface.call(ROUTE, {"siteId": "4", **time_range}), ROUTE)
        assert "comparison" not in plain


def test_limit_cuts_both_lists(site: Any) -> None:
    whole = surface.expect_json_answer(surface.call(ROUTE, {"siteId": "4", "timeRange": "30d"}), ROUTE)
    assert len(whole["top_pages"]) > 1 and len(whole["countries"]) > 1
    one = surface.expect_json_answer(
        surface.call(ROUTE, {"siteId": "4", "timeRange": "30d", "limit": "1"}), ROUTE
    )
    assert (one["top_pages"], one["countries"]) == (whole["top_pages"][:1], whole["countries"][:1])


def test_every_parameter_wrong_in_each_way_is_a_400_naming_it(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.refused(ROUTE, surface.parameter_cases(ROUTE)) == []


def test_cookie_then_parameters_then_membership(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.order_of_checks(ROUTE) == []
