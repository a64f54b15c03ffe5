"""The product as a user meets it: `ghostid` commands, NDJSON import, the stream consumer, HTTP.

DynamoDB Local, tables from template.yaml, the real handlers behind the local gateway, and the
stream poller delivering Lambda-shaped batches. Every number is compared with an independent
recomputation from the stored events.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ghostid_local import cli
from ghostid_local.gateway import http_routes

from tests.support import reference, traffic
from tests.support.scenario import NOW, stored_events, stored_items
from tests.support.stack import Stack, local_stack

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    with local_stack(local_aws_env, cfn_template, monkeypatch) as running:
        yield running


def get(stack: Stack, path: str, token: str | None) -> tuple[int, Any]:
    headers = [("Cookie", f"theme=dark; session={token}")] if token is not None else []
    reply = stack.request("GET", path, headers=headers)
    return reply.status, reply.body


def ghostid(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(args), out=out, err=err)
    return code, out.getvalue().strip(), err.getvalue().strip()


def setup_site(site: int = 4, user: str = "jane@example.com") -> str:
    assert ghostid("site", "create", "--site-id", str(site), "--domain", "example.com")[0] == 0
    assert ghostid("member", "add", "--site", str(site), "--user", user)[0] == 0
    code, token, _ = ghostid("session", "create", "--user", user, "--hours", "2")
    assert code == 0
    assert len(token) >= 32
    return token


def write_ndjson(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


@pytest.mark.slow
def test_import_fold_and_serve_match_reference(stack: Stack, tmp_path: Path) -> None:
    token = setup_site()
    events = traffic.generate(NOW, seed=21, visitors=350)
    assert len(events) > 2000
    file = write_ndjson(tmp_path / "events.ndjson", events + events[:50])  # 50 duplicate lines
    code, out, _ = ghostid("import", "--site", "4", str(file))
    assert code == 0
    assert out.startswith(f"{len(events)} events written")
    stack.poller.drain(timeout=300)
    assert stack.dead_letters == []
    stored = stored_events(stored_items(stack.tables["EventsTable"]))
    assert len(stored) == len(events)

    for time_range in ("24h", "7d", "30d"):
        status, body = get(stack, f"/api/stats?siteId=4&timeRange={time_range}", token)
        assert status == 200
        reference.assert_close(body, reference.stats(stored, NOW, time_range), f"stats {time_range}")
    assert get(stack, "/api/stats?siteId=4", token)[1]["time_range"] == "7d"
    for session_id in sorted({e["session_id"] for e in stored})[::7]:
        status, body = get(stack, f"/api/session/{session_id}?siteId=4", token)
        assert status == 200
        assert body == reference.session(stored, session_id)

    # Importing the same file again writes nothing and moves nothing.
    before = stored_items(stack.tables["RollupsTable"])
    assert ghostid("import", "--site", "4", str(file))[1].startswith("0 events written")
    stack.poller.drain(timeout=60)
    assert stored_items(stack.tables["RollupsTable"]) == before


def test_every_error_status_over_http(stack: Stack) -> None:
    token = setup_site()
    setup_site(site=9, user="other@example.com")
    ghostid(
        "import",
        "--site",
        "9",
        str(write_ndjson(Path("/tmp/ghostid-e2e-9.ndjson"), traffic.generate(NOW, 3, 3))),
    )
    stack.poller.drain(timeout=60)
    session_on_9 = stored_events(stored_items(stack.tables["EventsTable"]))[0]["session_id"]
    cases = [
        ("/api/stats?siteId=4", None, 401, "unauthenticated"),
        ("/api/stats?siteId=4", "not-a-real-token-but-well-formed-0123456789", 401, "unauthenticated"),
        ("/api/stats?siteId=four", token, 400, "invalid_parameter"),
        ("/api/stats?siteId=4&timeRange=90d", token, 400, "invalid_parameter"),
        ("/api/stats?siteId=9", token, 403, "forbidden"),
        (f"/api/session/{session_on_9}?siteId=4", token, 404, "not_found"),
        ("/api/session/gs_missing?siteId=4", token, 404, "not_found"),
        ("/api/nothing-here", token, 404, "not_found"),
    ]
    for path, cookie, status, code in cases:
        got_status, body = get(stack, path, cookie)
        assert (got_status, body["error"]["code"]) == (status, code), path
        assert body["error"]["message"]


def test_every_answer_is_in_the_envelope(stack: Stack, cfn_template: dict[str, Any]) -> None:
    """Undeclared methods (405 with `Allow`, from the API's own route list, as the deployed `$default`
    function answers them), unknown routes and parameters, the collector's errors (with its CORS headers)."""
    token = setup_site()
    methods: dict[str, set[str]] = {}
    for route in http_routes(cfn_template):
        methods.setdefault(route.path, set()).add(route.method)
    for path, declared in methods.items():
        url = path.replace("{id}", "gs_1") + "?siteId=4"
        for method in sorted(
            {"GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "OPTIONS", "HEAD"} - declared
        ):
            reply = stack.request(method, url, headers=[("Cookie", f"session={token}")])
            assert reply.status == 405, (method, path)
            assert reply.headers["allow"] == ", ".join(sorted(declared)), (method, path)
            if method != "HEAD":
                assert reply.code == "method_not_allowed"
    unknown = stack.request("PROPFIND", "/api/nothing-here")
    assert (unknown.status, unknown.body) == (
        404,
        {"error": {"code": "not_found", "message": "No such route: see the API reference in the README."}},
    )
    for path in ("/api/stats?siteId=4&timezone=Europe/Berlin", "/api/stats?siteId=4&format=csv"):
        status, body = get(stack, path, token)
        assert (status, body["error"]["code"]) == (400, "invalid_parameter")
        assert "Unknown parameter" in body["error"]["message"], path
    # Dates are a range now (PRODUCT §10), checked against the site's today rather than ignored.
    status, body = get(stack, "/api/stats?siteId=4&from=2026-11-01&to=2026-11-15", token)
    assert (status, body["error"]["code"]) == (400, "invalid_parameter") and "today" in body["error"][
        "message"
    ]
    origin = [("Origin", "https://example.com"), ("Content-Type", "application/json")]
    refused = stack.request("POST", "/api/track?siteId=4&debug=1", headers=origin, body=b"{}")
    assert (refused.status, refused.code) == (400, "invalid_parameter")
    assert "Unknown parameter debug" in refused.body["error"]["message"]
    assert refused.headers["access-control-allow-origin"] == "https://example.com"  # a page can read why
    foreign = stack.request(
        "POST",
        "/api/track",
        headers=[("Origin", "https://evil.example"), origin[1]],
        body=json.dumps(
            {"site_id": 4, "ghost_vid": "v", "session_id": "s", "type": "pageview", "page": "/"}
        ).encode(),
    )
    assert (foreign.status, foreign.headers["access-control-allow-origin"]) == (403, "https://evil.example")
    bare = stack.request("OPTIONS", "/api/track")  # no Origin: not a CORS preflight
    assert (bare.status, bare.headers["allow"], bare.raw) == (204, "OPTIONS, POST", b"")
    assert "access-control-allow-origin" not in bare.headers


def test_new_events_show_up_in_stats(stack: Stack, tmp_path: Path) -> None:
    token = setup_site()
    assert get(stack, "/api/stats?siteId=4&timeRange=24h", token)[1]["overview"]["total_events"] == 0
    event = {
        "session_id": "gs_live",
        "ghost_vid": "gv_live",
        "type": "pageview",
        "page": "/pricing",
        "timestamp": reference.iso(NOW),
        "user_id": "live@example.com",
        "country": "Canada",
    }
    ghostid("import", "--site", "4", str(write_ndjson(tmp_path / "one.ndjson", [event])))
    stack.poller.drain(timeout=30)
    overview = get(stack, "/api/stats?siteId=4&timeRange=24h", token)[1]["overview"]
    assert overview == {
        "unique_visitors": 1,
        "sessions": 1,
        "pageviews": 1,
        "total_events": 1,
        "identified_visitors": 1,
        "hot_leads": 1,
    }
    body = get(stack, "/api/session/gs_live?siteId=4", token)[1]
    assert body["identified_user_id"] == "live@example.com"


def test_invalid_import_reports_every_bad_line_and_writes_nothing(stack: Stack, tmp_path: Path) -> None:
    setup_site()
    good = traffic.generate(NOW, seed=5, visitors=2)
    lines = [
        json.dumps(good[0]),
        "{not json",
        json.dumps({**good[0], "type": "click"}),
        json.dumps({**good[0], "type": "custom_event", "event_name": ""}),
        json.dumps(good[1]),
        json.dumps({**good[0], "timestamp": "yesterday"}),
        "[1,2]",
    ]
    file = tmp_path / "bad.ndjson"
    file.write_text("\n".join(lines) + "\n")
    code, _, err = ghostid("import", "--site", "4", str(file))
    assert code == 2
    for number in (2, 3, 4, 6, 7):
        assert f"line {number}:" in err
    assert "line 1:" not in err and "line 5:" not in err
    assert stored_items(stack.tables["EventsTable"]) == []
    assert ghostid("import", "--site", "77", str(file))[0] == 2  # unknown site
