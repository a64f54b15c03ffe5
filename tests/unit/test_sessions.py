"""GET /api/sessions in-process, fed events/sessions_get.json: summaries in PRODUCT §12's shape, newest
first, every filter, cursor walks and misused cursors, and the error matrix of its parameters
(tests/support/surface.py)."""

from __future__ import annotations

from typing import Any

import pytest
from ghostid.models.people import SessionSummaryBody

from tests.support import surface
from tests.support.scenario import MEMBER

pytestmark = pytest.mark.usefixtures("aws")
ROUTE = surface.route("GET /api/sessions")


def test_shipped_event_file(site: list[dict[str, Any]]) -> None:
    body = surface.expect_json_answer(surface.call(ROUTE), ROUTE)
    assert body["next_cursor"] is None
    assert [s["session_id"] for s in body["sessions"]] == ["gs_123", "gs_200", "gs_124"]
    assert all(list(s) == list(SessionSummaryBody.model_fields) for s in body["sessions"])
    # The visitor identified in gs_123: its earlier, anonymous session shows who it was.
    by_id = {s["session_id"]: s for s in body["sessions"]}
    assert by_id["gs_124"]["identified_user_id"] == MEMBER
    assert by_id["gs_200"]["country"] is None and by_id["gs_200"]["entry_page"] == "/café"


FILTERED = [  # (filters, the sessions they leave, newest first)
    ({"ghost_vid": surface.HOT_VISITOR}, ["gs_123", "gs_124"]),
    ({"identified": "true"}, ["gs_123", "gs_124"]),
    ({"identified": "false"}, ["gs_200"]),
    ({"hot": "true", "country": "Canada"}, ["gs_124"]),
    ({"hot": "false"}, ["gs_200"]),
    ({"country": "Nowhere"}, []),
    ({"timeRange": "today"}, ["gs_123"]),
    ({"timeRange": "custom", "from": "2026-01-29", "to": "2026-01-29"}, ["gs_300"]),
]


def test_filters_and_ranges(site: Any) -> None:
    got = {}
    for filters, _ in FILTERED:
        query = {"siteId": "4", "timeRange": "7d", **filters}
        body = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)
        got[str(filters)] = [s["session_id"] for s in body["sessions"]]
    assert got == {str(filters): sessions for filters, sessions in FILTERED}


def test_cursor_walk_returns_every_session_once(site: Any) -> None:
    query = {"siteId": "4", "timeRange": "30d"}
    whole = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)["sessions"]
    assert len(whole) == 3
    assert surface.walk(ROUTE, {**query, "limit": "1"}, "sessions") == whole


def test_a_walk_through_sessions_started_in_the_same_millisecond_serves_each_once_in_order(now: None) -> None:
    surface.member_site(surface.same_millisecond_traffic(7))
    query = {"siteId": "4", "timeRange": "today"}
    whole = [
        s["session_id"] for s in surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)["sessions"]
    ]
    assert whole == sorted(f"gs_tie_{n:04d}" for n in range(7))  # ties by session id, ascending
    for limit in ("1", "2", "3"):
        walked = surface.walk(ROUTE, {**query, "limit": limit}, "sessions")
        assert [s["session_id"] for s in walked] == whole, limit


def test_forged_or_foreign_cursors_are_400(site: Any) -> None:
    query = {"siteId": "4", "timeRange": "30d", "limit": "1"}
    cursor = surface.call(ROUTE, query)[2]["next_cursor"]
    assert cursor
    variants = [
        {"hot": "true"},
        {"country": "Canada"},
        {"timeRange": "7d"},
        {"ghost_vid": surface.HOT_VISITOR},
    ]
    leads = surface.route("GET /api/leads")
    foreign = surface.call(leads, {"siteId": "4", "timeRange": "30d", "status": "all", "limit": "1"})[2][
        "next_cursor"
    ]
    assert surface.misused_cursors(ROUTE, query, cursor, variants, foreign) == []


def test_every_parameter_wrong_in_each_way_is_a_400_naming_it(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.refused(ROUTE, surface.parameter_cases(ROUTE)) == []


def test_cookie_then_parameters_then_membership(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.order_of_checks(ROUTE) == []
