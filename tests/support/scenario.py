"""Shared steps of the rollup tests: load traffic, read back stored items, compare with the reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
from ghostid.dal.events import item_to_event
from ghostid.logic import importer, session, stats
from ghostid.timeutil import window_for

from tests.support import reference

SITE = 4
NOW = datetime(2026, 3, 10, 17, 30, 12, 345000, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


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
        got = stats.site_stats(site, time_range, NOW_MS).model_dump()
        expected = reference.stats(events, time_range, NOW)
        assert got == expected, (time_range, got, expected)
        live = stats.live_stats(site, window_for(time_range, NOW_MS)).model_dump()  # bypasses the answers
        assert live == expected, (time_range, live, expected)
    for session_id in sorted({e["session_id"] for e in events}):
        got = session.site_session(site, session_id).model_dump()
        assert got == reference.session(events, session_id), session_id
