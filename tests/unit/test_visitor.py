"""GET /api/visitors/{ghost_vid} in-process, fed events/visitor_get.json: the profile's fields in PRODUCT
§12's order (the lead row's, then its own), 404 for a visitor not on the site, paged sessions and misused
cursors, and the error matrix of its parameters (tests/support/surface.py)."""

from __future__ import annotations

from typing import Any

import pytest
from ghostid.dal import sites as sites_dal
from ghostid.logic import people
from ghostid.models.people import LeadRow, SessionSummaryBody, VisitorResponse

from tests.support import surface
from tests.support.scenario import MEMBER

pytestmark = pytest.mark.usefixtures("aws")
ROUTE = surface.route("GET /api/visitors/{ghost_vid}")
HOT = {"ghost_vid": surface.HOT_VISITOR}


def test_shipped_event_file(site: list[dict[str, Any]]) -> None:
    body = surface.expect_json_answer(surface.call(ROUTE), ROUTE)
    assert list(body) == list(VisitorResponse.model_fields)
    assert list(body)[: len(LeadRow.model_fields)] == list(LeadRow.model_fields)
    assert [s["session_id"] for s in body["sessions"]] == ["gs_123", "gs_124"]
    assert all(list(s) == list(SessionSummaryBody.model_fields) for s in body["sessions"])
    assert (body["session_count"], body["next_cursor"], body["user_ids"]) == (2, None, [MEMBER])
    # Latest first (its sessions are listed latest first, one country and device each here).
    assert body["countries"] == list(dict.fromkeys(s["country"] for s in body["sessions"] if s["country"]))
    assert body["devices"] == list(
        dict.fromkeys(s["device_type"] for s in body["sessions"] if s["device_type"])
    )


def test_a_visitor_not_on_the_site_is_404(site: Any) -> None:
    for visitor in ("gv_nobody", "gv_a1b2c3d4_e5f6g7h9", "gv_with/slash", "gv_%_?#"):
        result = surface.call(ROUTE, {"siteId": "4"}, path={"ghost_vid": visitor})
        surface.expect_error(result, 404, "not_found")
    sites_dal.add_member(surface.OTHER_SITE, MEMBER)  # its events are on site 4, not 5
    message = surface.expect_error(surface.call(ROUTE, {"siteId": "5"}, path=HOT), 404, "not_found")
    assert surface.HOT_VISITOR in message


def test_sessions_page_and_misused_cursors(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(people, "SESSIONS_PER_PROFILE", 1)
    first = surface.expect_json_answer(surface.call(ROUTE, {"siteId": "4"}, path=HOT), ROUTE)
    assert [s["session_id"] for s in first["sessions"]] == ["gs_123"] and first["session_count"] == 2
    sessions = surface.walk(ROUTE, {"siteId": "4"}, "sessions", path=HOT)
    assert [s["session_id"] for s in sessions] == ["gs_123", "gs_124"]
    list_route = surface.route("GET /api/sessions")
    foreign = surface.call(list_route, {"siteId": "4", "limit": "1"})[2]["next_cursor"]
    cursor = first["next_cursor"]
    assert surface.misused_cursors(ROUTE, {"siteId": "4"}, cursor, [], foreign, path=HOT) == []
    other_visitor = surface.call(ROUTE, {"siteId": "4", "cursor": cursor}, path={"ghost_vid": "gv_anon_0002"})
    assert "cursor" in surface.expect_error(other_visitor, 400, "invalid_parameter")


def test_every_parameter_wrong_in_each_way_is_a_400_naming_it(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.refused(ROUTE, surface.parameter_cases(ROUTE)) == []


def test_cookie_then_parameters_then_membership(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.order_of_checks(ROUTE) == []
