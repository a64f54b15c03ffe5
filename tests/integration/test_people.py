"""The people routes (PRODUCT §12) against the reference: lead lists, visitor profiles, the sessions list.

Traffic with identity changes, anonymous sessions of visitors that identify later, scores crossing the
threshold in both event orders (events arriving out of time order) and sessions across local midnight
is delivered to the real consumer; then every list, in every status, order and range (ranges that end
now and past ones), walked page by page with its cursor, equals the reference, also while new
sessions keep arriving during the walk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.dal import sites as sites_dal
from ghostid.logic import consumer, people
from ghostid.models.people import LeadsQuery, SessionsQuery, VisitorQuery
from ghostid.models.sites import LeadRules, Site

from tests.support import lambdas, reference, traffic
from tests.support.scenario import (
    NOW,
    NOW_MS,
    assert_routes_match_reference,
    import_traffic,
    stored_events,
    stored_items,
)

pytestmark = pytest.mark.integration
SITE = 31
TIMEZONE = "Europe/Berlin"
CONFIG = reference.Site(site_id=SITE, timezone=TIMEZONE)


@pytest.fixture(scope="module")
def loaded(module_aws_env: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timeutil, "now_ms", lambda: NOW_MS)
        consumer.clear_config_cache()
        sites_dal.put_site(Site(site_id=SITE, domain="example.com", timezone=TIMEZONE))
        import_traffic(traffic.people(NOW, seed=5, timezone=TIMEZONE, visitors=24), site=SITE)
        import_traffic(traffic.zoned(NOW, seed=6, timezone=TIMEZONE, visitors=12, days=40), site=SITE)
        items = [
            i for i in stored_items(module_aws_env["EventsTable"]) if i["pk"]["S"].startswith(f"{SITE}#")
        ]
        records = [lambdas.stream_record(item, n) for n, item in enumerate(items, 1)]
        for start in range(0, len(records), 30):
            assert lambdas.deliver(records[start : start + 30]) == {"batchItemFailures": []}
        yield stored_events(items)
    consumer.clear_config_cache()


def walk(fetch: Any, key: str) -> list[dict[str, Any]]:
    """Every page of a list, following next_cursor."""
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(500):
        page = fetch(cursor)
        rows += page[key]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
    raise AssertionError("the cursor walk did not end")


def body(result: Any) -> dict[str, Any]:
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
    assert isinstance(data, dict)
    return data


RANGES: list[dict[str, str]] = [
    {"timeRange": "7d"},
    {"timeRange": "30d"},
    {"timeRange": "24h"},
    {"timeRange": "yesterday"},
    {"timeRange": "last_month"},
    {"from": str((NOW - timedelta(days=20)).date()), "to": str((NOW - timedelta(days=8)).date())},
]


def _reference_range(query: dict[str, str]) -> dict[str, Any]:
    if "from" in query:
        return {"from_": query["from"], "to": query["to"]}
    return {"time_range": query["timeRange"]}


@pytest.mark.parametrize("status", ["hot", "identified", pytest.param("all", marks=pytest.mark.slow)])
@pytest.mark.parametrize("sort", ["last_seen", "score"])
def test_lead_lists_walked_page_by_page(loaded: list[dict[str, Any]], status: str, sort: str) -> None:
    for window in RANGES:
        # status=all computes its rows from cells for every page: longer pages keep the walk short.
        limit = "15" if status == "all" else "4"
        base = {"siteId": str(SITE), "status": status, "sort": sort, "limit": limit, **window}

        def fetch(cursor: str | None, base: dict[str, str] = base) -> dict[str, Any]:
            query = LeadsQuery.model_validate(base | ({"cursor": cursor} if cursor else {}))
            return body(people.site_leads(query, LeadRules(), NOW_MS))

        got = walk(fetch, "leads")
        expected = reference.leads(
            loaded, NOW, site=CONFIG, status=status, sort=sort, **_reference_range(window)
        )
        reference.assert_close(got, expected, f"leads {status} {sort} {window}")


@pytest.mark.parametrize("filters", [{}, {"identified": "true"}, {"hot": "false"}, {"country": "Unknown"}])
def test_sessions_walked_page_by_page(loaded: list[dict[str, Any]], filters: dict[str, str]) -> None:
    for window in RANGES:
        base = {"siteId": str(SITE), "limit": "7", **window, **filters}

        def fetch(cursor: str | None, base: dict[str, str] = base) -> dict[str, Any]:
            query = SessionsQuery.model_validate(base | ({"cursor": cursor} if cursor else {}))
            return body(people.site_sessions(query, NOW_MS))

        got = walk(fetch, "sessions")
        reference_filters: dict[str, Any] = {
            k: (v == "true" if v in ("true", "false") else v) for k, v in filters.items()
        }
        expected = reference.sessions(
            loaded, NOW, site=CONFIG, **_reference_range(window), **reference_filters
        )
        reference.assert_close(got, expected, f"sessions {filters} {window}")


def test_every_visitor_profile(loaded: list[dict[str, Any]]) -> None:
    for visitor in sorted({e["ghost_vid"] for e in loaded}):
        query = VisitorQuery.model_validate({"siteId": str(SITE), "ghost_vid": visitor})
        profile = body(people.visitor_profile(query, LeadRules(), NOW_MS))
        assert profile.pop("next_cursor") is None
        assert profile.pop("session_count") == len(profile["sessions"])
        expected = reference.visitor(loaded, visitor, CONFIG)
        reference.assert_close(profile, expected, f"visitor {visitor}")


def test_other_routes_on_the_same_people(loaded: list[dict[str, Any]]) -> None:
    assert_routes_match_reference(loaded, SITE, config=CONFIG)


def test_a_sessions_walk_sees_each_session_once_while_new_ones_arrive(
    loaded: list[dict[str, Any]], module_aws_env: dict[str, str]
) -> None:
    expected = reference.sessions(loaded, NOW, site=CONFIG, time_range="30d")
    base = {"siteId": str(SITE), "timeRange": "30d", "limit": "5"}
    seen: list[str] = []
    cursor = None
    arrivals = iter(range(100))
    while True:
        query = SessionsQuery.model_validate(base | ({"cursor": cursor} if cursor else {}))
        page = body(people.site_sessions(query, NOW_MS))
        seen += [s["session_id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        _new_session_arrives(next(arrivals), module_aws_env)
    assert seen == [s["session_id"] for s in expected]


def _new_session_arrives(number: int, env: dict[str, str]) -> None:
    """A visitor starts a session right now (newer than every listed one) while someone walks the list."""
    event = {
        "session_id": f"gs_arriving_{number}",
        "ghost_vid": f"gv_arriving_{number}",
        "type": "pageview",
        "page": "/pricing",
        "timestamp": reference.iso(NOW - timedelta(seconds=number)),
        "event_id": f"ev_arriving_{number}",
    }
    import_traffic([event], site=SITE)
    items = [i for i in stored_items(env["EventsTable"]) if i["session_id"]["S"] == event["session_id"]]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timeutil, "now_ms", lambda: NOW_MS)
        assert lambdas.deliver([lambdas.stream_record(items[0], 900_000 + number)]) == {
            "batchItemFailures": []
        }
