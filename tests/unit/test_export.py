"""GET /api/export in-process, fed events/export_get.json: NDJSON lines in the import format (the spec's
`ExportedEvent`, and what the importer takes back), parts joined by `Next-Cursor`, misused cursors, and
the error matrix of its parameters (tests/support/surface.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ghostid.logic import export
from ghostid.models.events import Event

from tests.support import surface

pytestmark = pytest.mark.usefixtures("aws")
ROUTE = surface.route("GET /api/export")
NDJSON = "application/x-ndjson"
WEEK = {"siteId": "4", "from": "2026-03-04", "to": "2026-03-10"}


def ndjson_part(query: dict[str, str]) -> tuple[list[dict[str, Any]], str | None, str]:
    """The lines of one part (each checked against the spec and the import format), its Next-Cursor and
    its raw body."""
    status, headers, body = surface.call_raw(ROUTE, query)
    assert status == 200, body
    assert headers["Content-Type"] == NDJSON and headers["Cache-Control"] == "no-store", headers
    assert body == "" or body.endswith("\n")
    validator = surface.schema_validator("ExportedEvent")
    lines = [json.loads(line) for line in body.splitlines()]
    for line in lines:
        assert validator.is_valid(line), list(validator.iter_errors(line))[:3]
        Event.model_validate(line)  # the importer takes it back as it is
    return lines, headers.get("Next-Cursor"), body


def test_shipped_event_file(site: list[dict[str, Any]]) -> None:
    assert surface.shipped_query(ROUTE) == WEEK
    lines, next_cursor, _ = ndjson_part(WEEK)
    assert next_cursor is None
    assert [line["event_id"] for line in lines] == ["e4", "e5", "e6", "e1", "e2", "e3"]
    assert [line["timestamp"] for line in lines] == sorted(line["timestamp"] for line in lines)
    by_id = {line["event_id"]: line for line in lines}
    assert "event_name" not in by_id["e1"] and by_id["e3"]["event_name"] == "cta_clicked"
    assert by_id["e1"]["props"] == {"utm_source": "newsletter", "utm_campaign": "spring"}
    assert "props" not in by_id["e2"] and "page_title" not in by_id["e2"]


def test_parts_join_into_the_whole(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, whole = ndjson_part(WEEK)
    monkeypatch.setattr(export, "MAX_EVENTS", 2)
    parts, cursor = [], None
    for _ in range(10):
        _, cursor, body = ndjson_part({**WEEK, **({"cursor": cursor} if cursor else {})})
        parts.append(body)
        if cursor is None:
            break
    assert len(parts) == 3 and "".join(parts) == whole


def test_a_part_looks_at_a_bounded_number_of_hours(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sparse range is several parts, some of them empty, each with the next one's cursor."""
    monkeypatch.setattr(export, "MAX_HOURS", 24)
    three_days = {"siteId": "4", "from": "2026-03-08", "to": "2026-03-10"}
    parts, cursor = [], None
    for _ in range(10):
        lines, cursor, _ = ndjson_part({**three_days, **({"cursor": cursor} if cursor else {})})
        parts.append([line["event_id"] for line in lines])
        if cursor is None:
            break
    assert parts == [[], ["e5", "e6"], ["e1", "e2", "e3"]]


def test_an_empty_range_is_an_empty_part(site: Any) -> None:
    assert ndjson_part({"siteId": "4", "from": "2026-02-01", "to": "2026-02-02"})[:2] == ([], None)


def test_forged_or_foreign_cursors_are_400(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "MAX_EVENTS", 2)
    cursor = ndjson_part(WEEK)[1]
    assert cursor
    variants = [{"from": "2026-03-05"}, {"to": "2026-03-09"}]
    breakdown = surface.route("GET /api/breakdown")
    foreign = surface.call(breakdown, {"siteId": "4", "dimension": "page", "limit": "1"})[2]["next_cursor"]
    assert surface.misused_cursors(ROUTE, WEEK, cursor, variants, foreign) == []


def test_every_parameter_wrong_in_each_way_is_a_400_naming_it(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.refused(ROUTE, surface.parameter_cases(ROUTE)) == []


def test_cookie_then_parameters_then_membership(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.order_of_checks(ROUTE) == []
