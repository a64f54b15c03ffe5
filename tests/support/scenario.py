"""Shared steps of the rollup tests: load traffic, read back stored items, compare with the reference."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
from ghostid.dal import auth as auth_dal
from ghostid.dal import sites as sites_dal
from ghostid.dal.events import item_to_event
from ghostid.logic import auth, importer, session, stats
from ghostid.models.api import StatsQuery
from ghostid.models.sites import LoginSession, Site

from tests.support import lambdas, reference, traffic

SITE = 4
NOW = datetime(2026, 3, 10, 17, 30, 12, 345000, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
MEMBER = "jane@example.com"
EVENTS_TOKEN = "demo-token-not-secret"  # the cookie the files in events/ carry


def folded_member_site(seed: int, visitors: int) -> list[dict[str, Any]]:
    """Site 4 (example.com) with a member whose login session is the events/ files' cookie, and
    generated traffic imported and folded by the rollup handler; returns the stored events.

    Folding through moto takes seconds and gives the same tables for the same seed: the first call in a
    process folds and keeps a copy of every table, later ones (each on fresh tables) write the copy."""
    kept = _FOLDED.get((seed, visitors))
    if kept is not None:
        tables, events = kept
        _write_tables(tables)
        return [dict(e) for e in events]
    sites_dal.put_site(Site(site_id=SITE, domain="example.com"))
    sites_dal.add_member(SITE, MEMBER)
    auth_dal.put_login_session(
        auth.hash_token(EVENTS_TOKEN), LoginSession(user_id=MEMBER, expires_at=int(time.time()) + 3600)
    )
    import_traffic(traffic.generate(NOW, seed=seed, visitors=visitors))
    items = stored_items()
    lambdas.deliver([lambdas.stream_record(item, n) for n, item in enumerate(items, 1)])
    events = stored_events(items)
    _FOLDED[(seed, visitors)] = (_read_tables(), [dict(e) for e in events])
    return events


_FOLDED: dict[tuple[int, int], tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]] = {}


def _read_tables() -> dict[str, list[dict[str, Any]]]:
    client = boto3.client("dynamodb")
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in client.list_tables()["TableNames"]:
        pages = client.get_paginator("scan").paginate(TableName=table)
        tables[table] = [item for page in pages for item in page["Items"]]
    return tables


def _write_tables(tables: dict[str, list[dict[str, Any]]]) -> None:
    client = boto3.client("dynamodb")
    for table, items in tables.items():
        for start in range(0, len(items), 25):
            requests: list[Any] = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            client.batch_write_item(RequestItems={table: requests})


def import_traffic(events: list[dict[str, Any]], site: int = SITE) -> None:
    importer.import_events(site, (json.dumps(e) for e in events))


def stored_items(table: str = "EventsTable") -> list[dict[str, Any]]:
    """Raw event items (test-only scan), oldest partition first for a stable order."""
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def stored_events(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as stored, in import shape (with their derived ids), for the reference."""
    return [item_to_event(i).model_dump(exclude={"site_id"}, exclude_none=True) for i in items]


def assert_matches_reference(
    events: list[dict[str, Any]], site: int = SITE, everything: bool = False
) -> None:
    """Stats and sessions (and with `everything`, every other read route's numbers) equal the reference."""
    if everything:
        assert_routes_match_reference(events, site)
    for time_range in ("24h", "7d", "30d"):
        query = StatsQuery.model_validate({"siteId": str(site), "timeRange": time_range})
        expected = reference.stats(events, NOW, time_range)
        for attempt in ("computed", "stored answer"):
            got = stats.site_stats(query, NOW_MS).model_dump(mode="json")
            reference.assert_close(got, expected, f"{time_range} stats, {attempt}")
    for session_id in sorted({e["session_id"] for e in events}):
        got = session.site_session(site, session_id).model_dump()
        assert got == reference.session(events, session_id), session_id


def assert_routes_match_reference(
    events: list[dict[str, Any]], site: int = SITE, config: reference.Site | None = None
) -> None:
    """Timeseries, breakdowns, realtime, lead lists, visitors and the sessions list against the reference."""
    from ghostid.dal.sites import get_site
    from ghostid.logic import breakdown, people, realtime, timeseries
    from ghostid.models.api import BreakdownQuery, TimeseriesQuery
    from ghostid.models.dimensions import DIMENSIONS
    from ghostid.models.people import LeadsQuery, SessionsQuery, VisitorQuery
    from ghostid.models.sites import LeadRules

    config = config or reference.Site(site_id=site)
    base = {"siteId": str(site)}
    stored = get_site(site)
    rules = stored.lead_rules if stored else LeadRules()
    for time_range, interval in (("24h", "hour"), ("30d", "day")):
        query = TimeseriesQuery.model_validate(base | {"timeRange": time_range, "interval": interval})
        got = timeseries.site_timeseries(query, NOW_MS).model_dump(mode="json")
        expected = reference.timeseries(events, NOW, site=config, time_range=time_range, interval=interval)
        reference.assert_close(got, expected, f"timeseries {time_range}")
    for dimension in DIMENSIONS:
        by = BreakdownQuery.model_validate(
            base | {"timeRange": "30d", "dimension": dimension.name, "limit": "1000"}
        )
        got = breakdown.site_breakdown(by, NOW_MS).model_dump(mode="json")
        expected = reference.breakdown(events, NOW, site=config, dimension=dimension.name, time_range="30d")
        reference.assert_close(got, {**expected, "next_cursor": None}, f"breakdown {dimension.name}")
    reference.assert_close(
        realtime.site_realtime(site, NOW_MS).model_dump(mode="json"),
        reference.realtime(events, NOW, config),
        "realtime",
    )
    for status in ("hot", "identified", "all"):
        for sort in ("last_seen", "score"):
            listed = LeadsQuery.model_validate(
                base | {"timeRange": "30d", "status": status, "sort": sort, "limit": "200"}
            )
            found = _dumped(people.site_leads(listed, rules, NOW_MS))
            leads = reference.leads(events, NOW, site=config, time_range="30d", status=status, sort=sort)
            reference.assert_close(found, {"leads": leads, "next_cursor": None}, f"leads {status} {sort}")
    sessions_query = SessionsQuery.model_validate(base | {"timeRange": "30d", "limit": "200"})
    page = _dumped(people.site_sessions(sessions_query, NOW_MS))
    listed_sessions = reference.sessions(events, NOW, site=config, time_range="30d")
    reference.assert_close(
        page, {"sessions": listed_sessions[:200], "next_cursor": page.get("next_cursor")}, "sessions"
    )
    for visitor in sorted({e["ghost_vid"] for e in events})[:12]:
        profile = _dumped(
            people.visitor_profile(VisitorQuery.model_validate(base | {"ghost_vid": visitor}), rules, NOW_MS)
        )
        expected_profile = reference.visitor(events, visitor, config)
        assert expected_profile is not None
        profile.pop("next_cursor", None)
        profile.pop("session_count", None)
        reference.assert_close(profile, expected_profile, f"visitor {visitor}")


def _dumped(body: Any) -> dict[str, Any]:
    data = body.model_dump(mode="json") if hasattr(body, "model_dump") else body
    assert isinstance(data, dict)
    return data
