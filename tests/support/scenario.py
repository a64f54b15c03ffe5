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
    generated traffic imported and folded by the rollup handler; returns the stored events."""
    sites_dal.put_site(Site(site_id=SITE, domain="example.com"))
    sites_dal.add_member(SITE, MEMBER)
    auth_dal.put_login_session(
        auth.hash_token(EVENTS_TOKEN), LoginSession(user_id=MEMBER, expires_at=int(time.time()) + 3600)
    )
    import_traffic(traffic.generate(NOW, seed=seed, visitors=visitors))
    items = stored_items()
    lambdas.deliver([lambdas.stream_record(item, n) for n, item in enumerate(items, 1)])
    return stored_events(items)


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


def assert_matches_reference(events: list[dict[str, Any]], site: int = SITE) -> None:
    for time_range in ("24h", "7d", "30d"):
        query = StatsQuery.model_validate({"siteId": str(site), "timeRange": time_range})
        expected = reference.stats(events, NOW, time_range)
        for attempt in ("computed", "stored answer"):
            got = stats.site_stats(query, NOW_MS).model_dump(mode="json")
            reference.assert_close(got, expected, f"{time_range} stats, {attempt}")
    for session_id in sorted({e["session_id"] for e in events}):
        got = session.site_session(site, session_id).model_dump()
        assert got == reference.session(events, session_id), session_id
