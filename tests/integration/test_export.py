"""Export → import round trip: a site's events exported page by page (`ghostid export`, GET /api/export),
imported into an empty site, give the same answer on every read route."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.logic import breakdown, consumer, export, people, stats, timeseries
from ghostid.models.api import BreakdownQuery, StatsQuery, TimeseriesQuery
from ghostid.models.dimensions import DIMENSIONS
from ghostid.models.people import ExportQuery, LeadsQuery, SessionsQuery, VisitorQuery
from ghostid.models.sites import LeadRules
from ghostid_local import cli

from tests.support import lambdas, traffic
from tests.support.scenario import NOW, NOW_MS, import_traffic, stored_events, stored_items

pytestmark = pytest.mark.integration
TIMEZONE = "America/New_York"
SOURCE, COPY = 41, 42


@pytest.fixture
def env(local_aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    monkeypatch.setattr(export, "MAX_EVENTS", 37)  # many pages
    consumer.clear_config_cache()
    yield local_aws_env
    consumer.clear_config_cache()


def ghostid(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--endpoint", os.environ["AWS_ENDPOINT_URL_DYNAMODB"], *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _fold(site: int, env: dict[str, str]) -> None:
    items = [i for i in stored_items(env["EventsTable"]) if i["pk"]["S"].startswith(f"{site}#")]
    records = [lambdas.stream_record(item, n) for n, item in enumerate(items, 1)]
    for start in range(0, len(records), 40):
        assert lambdas.deliver(records[start : start + 40]) == {"batchItemFailures": []}


def answers(site: int) -> dict[str, Any]:
    """Every read route's answer for a site (cursors dropped: they are bound to their site)."""
    base = {"siteId": str(site)}
    found: dict[str, Any] = {}
    for preset in ("24h", "today", "7d", "30d", "12mo"):
        found[f"stats {preset}"] = stats.site_stats(
            StatsQuery.model_validate(base | {"timeRange": preset}), NOW_MS
        )
        query = TimeseriesQuery.model_validate(base | {"timeRange": preset, "interval": "day"})
        found[f"timeseries {preset}"] = timeseries.site_timeseries(query, NOW_MS)
    for dimension in DIMENSIONS:
        by = BreakdownQuery.model_validate(
            base | {"timeRange": "30d", "dimension": dimension.name, "limit": "1000"}
        )
        found[f"breakdown {dimension.name}"] = breakdown.site_breakdown(by, NOW_MS)
    for status in ("hot", "identified", "all"):
        listed = LeadsQuery.model_validate(base | {"timeRange": "30d", "status": status, "limit": "200"})
        found[f"leads {status}"] = people.site_leads(listed, LeadRules(), NOW_MS)
    found["sessions"] = people.site_sessions(
        SessionsQuery.model_validate(base | {"timeRange": "30d", "limit": "200"}), NOW_MS
    )
    for row in found["leads all"].leads:
        who = VisitorQuery.model_validate(base | {"ghost_vid": row.ghost_vid})
        found[f"visitor {row.ghost_vid}"] = people.visitor_profile(who, LeadRules(), NOW_MS)
    return {name: _plain(value) for name, value in found.items()}


def _plain(value: Any) -> Any:
    data = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    if isinstance(data, dict) and "next_cursor" in data:
        data = {**data, "next_cursor": None}
    return data


@pytest.mark.slow
def test_export_then_import_gives_the_same_answers(env: dict[str, str], tmp_path: Path) -> None:
    for site in (SOURCE, COPY):
        assert (
            ghostid(
                "site", "create", "--site-id", str(site), "--domain", "x.example", "--timezone", TIMEZONE
            )[0]
            == 0
        )
    import_traffic(traffic.zoned(NOW, seed=41, timezone=TIMEZONE, visitors=20, days=30), site=SOURCE)
    import_traffic(traffic.people(NOW, seed=42, timezone=TIMEZONE, visitors=10), site=SOURCE)
    _fold(SOURCE, env)
    first = (NOW - timedelta_days(400)).date().isoformat()
    last = NOW.date().isoformat()
    exported = tmp_path / "site.ndjson"
    code, _, err = ghostid("export", "--site", str(SOURCE), "--from", first, "--to", last, str(exported))
    assert code == 0, err
    lines = exported.read_text().splitlines()
    source_events = stored_events(
        [i for i in stored_items(env["EventsTable"]) if i["pk"]["S"].startswith(f"{SOURCE}#")]
    )
    assert len(lines) == len(source_events)
    stamps = [(json.loads(line)["timestamp"], json.loads(line)["event_id"]) for line in lines]
    assert [timeutil.parse_timestamp(t) for t, _ in stamps] == sorted(
        timeutil.parse_timestamp(t) for t, _ in stamps
    )
    assert ghostid("import", "--site", str(COPY), str(exported))[0] == 0
    _fold(COPY, env)
    assert answers(COPY) == answers(SOURCE)


def test_the_route_pages_with_next_cursor(env: dict[str, str]) -> None:
    assert ghostid("site", "create", "--site-id", str(SOURCE), "--domain", "x.example")[0] == 0
    import_traffic(traffic.generate(NOW, seed=43, visitors=8), site=SOURCE)
    _fold(SOURCE, env)
    base = {
        "siteId": str(SOURCE),
        "from": (NOW - timedelta_days(40)).date().isoformat(),
        "to": NOW.date().isoformat(),
    }
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = export.export_page(
            ExportQuery.model_validate(base | ({"cursor": cursor} if cursor else {})), NOW_MS
        )
        seen += [json.loads(line)["event_id"] for line in page.body.splitlines()]
        assert page.events <= export.MAX_EVENTS
        cursor = page.next_cursor
        if cursor is None:
            break
    stored = stored_items(env["EventsTable"])
    assert sorted(seen) == sorted(i["sk"]["S"] for i in stored if i["pk"]["S"].startswith(f"{SOURCE}#"))
    assert len(seen) == len(set(seen))


def timedelta_days(days: int) -> Any:
    from datetime import timedelta

    return timedelta(days=days)
