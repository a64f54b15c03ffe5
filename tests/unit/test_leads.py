"""GET /api/leads in-process, fed events/leads_get.json: the lead row's fields in PRODUCT §12's order,
every status and sort, cursor walks and misused cursors, and the error matrix of its parameters
(tests/support/surface.py)."""

from __future__ import annotations

from typing import Any

import pytest
from ghostid.dal import events as events_dal
from ghostid.dal import state as state_dal
from ghostid.dal.client import dynamodb
from ghostid.dal.visitors import visitor_partition
from ghostid.models.people import LeadRow, ScoreParts
from ghostid.models.sites import LeadRules
from ghostid.settings import events_table, rollups_table

from tests.support import surface
from tests.support.scenario import MEMBER, NOW_MS

pytestmark = pytest.mark.usefixtures("aws")
ROUTE = surface.route("GET /api/leads")


def test_shipped_event_file(site: list[dict[str, Any]]) -> None:
    body = surface.expect_json_answer(surface.call(ROUTE), ROUTE)
    assert body["next_cursor"] is None
    (lead,) = body["leads"]
    assert list(lead) == list(LeadRow.model_fields)
    assert list(lead["score_parts"]) == list(ScoreParts.model_fields)
    assert sum(lead["score_parts"].values()) == lead["score"]  # points that add up to the score
    assert lead["score_parts"]["identified"] == LeadRules().identified_weight
    assert (lead["ghost_vid"], lead["hot"], lead["identified_user_id"]) == (
        surface.HOT_VISITOR,
        True,
        MEMBER,
    )
    assert lead["hot_since"] is not None and lead["last_session_id"] == "gs_123"


LISTED = [  # (status, sort, the visitors listed in 30d, in order)
    ("hot", "score", [surface.HOT_VISITOR]),
    ("identified", "last_seen", [surface.HOT_VISITOR]),
    ("all", "last_seen", [surface.HOT_VISITOR, "gv_anon_0002"]),
    ("all", "score", [surface.HOT_VISITOR, "gv_anon_0002"]),
]


def test_every_status_and_sort(site: Any) -> None:
    got = {}
    for status, sort, _ in LISTED:
        query = {"siteId": "4", "timeRange": "30d", "status": status, "sort": sort}
        leads = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)["leads"]
        got[(status, sort)] = [lead["ghost_vid"] for lead in leads]
        anonymous = [lead for lead in leads if lead["ghost_vid"] == "gv_anon_0002"]
        assert all(lead["hot_since"] is None and lead["identified_user_id"] is None for lead in anonymous)
    assert got == {(status, sort): visitors for status, sort, visitors in LISTED}


@pytest.mark.parametrize("status", ["hot", "identified"])
def test_a_page_of_hot_leads_or_identified_visitors_is_one_query(
    site: Any, calls: list[str], status: str
) -> None:
    calls.clear()
    query = {"siteId": "4", "timeRange": "30d", "status": status}
    leads = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)["leads"]
    assert [lead["ghost_vid"] for lead in leads] == [surface.HOT_VISITOR]  # hot and identified
    assert calls.count("Query") == 1


def test_lists_that_predate_the_identified_entries_still_list_each_visitor_once(
    site: Any, calls: list[str]
) -> None:
    """A site whose state has no lists format (written before format 2) reads the hot list and the
    identified one; the identified hot lead's entry, written since, does not repeat it."""
    dynamodb().update_item(
        TableName=rollups_table(),
        Key={"pk": {"S": state_dal.partition(4)}, "sk": {"S": state_dal.STATE}},
        UpdateExpression="REMOVE lf",
    )
    assert state_dal.get_state(4).lists_format == 1
    calls.clear()
    query = {"siteId": "4", "timeRange": "30d", "status": "identified"}
    leads = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)["leads"]
    assert [lead["ghost_vid"] for lead in leads] == [surface.HOT_VISITOR]
    assert calls.count("Query") == 2


def test_a_rebuild_keeps_an_identified_hot_lead_whose_events_expired_on_the_identified_list(
    site: Any,
) -> None:
    """A site of lists format 1 (no entries), rebuilt after the lead's events expired: its head stays, and
    the rebuild gives it the entry that format 2, which the rebuild sets, reads."""
    from ghostid.dal import sites as sites_dal
    from ghostid.logic.rebuild import rebuild_site

    table = rollups_table()
    state_key = {"pk": {"S": state_dal.partition(4)}, "sk": {"S": state_dal.STATE}}
    dynamodb().update_item(TableName=table, Key=state_key, UpdateExpression="REMOVE lf")
    entry = {"pk": {"S": visitor_partition(4, surface.HOT_VISITOR)}, "sk": {"S": "li"}}
    dynamodb().delete_item(TableName=table, Key=entry)
    for item in events_dal.scan_site_items(4):
        if item["ghost_vid"]["S"] == surface.HOT_VISITOR:  # expired (TTL)
            dynamodb().delete_item(TableName=events_table(), Key={"pk": item["pk"], "sk": item["sk"]})
    site_config = sites_dal.get_site(4)
    assert site_config is not None
    rebuild_site(4, site_config, NOW_MS)
    assert state_dal.get_state(4).lists_format == 2
    query = {"siteId": "4", "timeRange": "30d", "status": "identified"}
    leads = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)["leads"]
    assert [lead["ghost_vid"] for lead in leads] == [surface.HOT_VISITOR]


def test_past_ranges_and_custom_dates(site: Any) -> None:
    for query in ({"timeRange": "yesterday", "status": "all"}, {"from": "2026-01-01", "to": "2026-01-31"}):
        surface.expect_json_answer(surface.call(ROUTE, {"siteId": "4", **query}), ROUTE)


def test_cursor_walk_returns_every_lead_once(site: Any) -> None:
    query = {"siteId": "4", "timeRange": "30d", "status": "all"}
    whole = surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)["leads"]
    assert surface.walk(ROUTE, {**query, "limit": "1"}, "leads") == whole


@pytest.mark.parametrize("sort", ["last_seen", "score"])
def test_a_walk_through_rows_tied_to_the_millisecond_serves_each_once_in_order(now: None, sort: str) -> None:
    surface.member_site(surface.same_millisecond_traffic(7))
    query = {"siteId": "4", "timeRange": "today", "status": "identified", "sort": sort}
    whole = [
        lead["ghost_vid"] for lead in surface.expect_json_answer(surface.call(ROUTE, query), ROUTE)["leads"]
    ]
    assert whole == sorted(f"gv_tie_{n:04d}" for n in range(7))  # ties by ghost_vid, ascending
    for limit in ("1", "2", "3"):
        walked = surface.walk(ROUTE, {**query, "limit": limit}, "leads")
        assert [lead["ghost_vid"] for lead in walked] == whole, limit


def test_forged_or_foreign_cursors_are_400(site: Any) -> None:
    query = {"siteId": "4", "timeRange": "30d", "status": "all", "limit": "1"}
    cursor = surface.call(ROUTE, query)[2]["next_cursor"]
    assert cursor
    variants = [{"status": "identified"}, {"sort": "score"}, {"timeRange": "7d"}]
    breakdown = surface.route("GET /api/breakdown")
    foreign = surface.call(breakdown, {"siteId": "4", "dimension": "page", "limit": "1"})[2]["next_cursor"]
    assert surface.misused_cursors(ROUTE, query, cursor, variants, foreign) == []


def test_every_parameter_wrong_in_each_way_is_a_400_naming_it(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.refused(ROUTE, surface.parameter_cases(ROUTE)) == []


def test_cookie_then_parameters_then_membership(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.order_of_checks(ROUTE) == []
