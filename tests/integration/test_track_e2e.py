"""The collector over HTTP on the local stack: POST /api/track through the gateway, the stream consumer,
then the same session and stats read back through GET /api/session/{id} and GET /api/stats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from ghostid.dal import sites as sites_dal
from ghostid.models.sites import Site

from tests.support.scenario import stored_events, stored_items
from tests.support.stack import Reply, Stack, local_stack, member_session

pytestmark = pytest.mark.integration
ORIGIN = "https://demo.ghostid.local"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 "
    "Safari/537.36"
)
VISITOR = {"site_id": 4, "ghost_vid": "gv_0badc0de_feedf00d", "session_id": "gs_e2e_collector"}


@pytest.fixture
def stack(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    with local_stack(local_aws_env, cfn_template, monkeypatch) as running:
        sites_dal.put_site(Site(site_id=4, domain="demo.ghostid.local", name="Demo"))
        yield running


def track(
    stack: Stack,
    body: Any,
    *,
    origin: str | None = ORIGIN,
    user_agent: str = FIREFOX,
    content_type: str = "text/plain;charset=UTF-8",
    extra: list[tuple[str, str | bytes]] | None = None,
) -> Reply:
    headers: list[tuple[str, Any]] = [("Content-Type", content_type), ("User-Agent", user_agent)]
    if origin:
        headers.append(("Origin", origin))
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return stack.request("POST", "/api/track", headers=headers + (extra or []), body=raw)


def test_tracked_events_reach_the_session_and_the_stats(stack: Stack) -> None:
    token = member_session(4, "jane@example.com")
    place: list[tuple[str, str | bytes]] = [
        ("CloudFront-Viewer-Country", "CA"),
        ("CloudFront-Viewer-City", "Montréal".encode()),  # UTF-8 on the wire
    ]
    home = {
        **VISITOR,
        "type": "pageview",
        "event_id": "ev_1",
        "offset_ms": -4000,
        "page_title": "Home",
        "page": "https://demo.ghostid.local/?utm_source=newsletter&secret=1#top",
        "referrer": "https://news.ycombinator.com/item?id=42",
    }
    pricing = {**VISITOR, "type": "pageview", "event_id": "ev_2", "offset_ms": -3000, "page": "/pricing"}
    batch = {"events": [home, {**pricing, "page_title": "Pricing"}]}
    first = track(stack, batch, extra=place)
    assert first.status == 202
    assert first.body == {"received": 2, "stored": 2, "duplicates": 0, "dropped": None}
    assert first.headers["access-control-allow-origin"] == ORIGIN
    cta = {
        **VISITOR,
        "type": "custom_event",
        "event_name": "cta_clicked",
        "event_id": "ev_3",
        "offset_ms": -2000,
        "page": "/pricing",
        "props": {"section": "hero", "seats": 5},
    }
    assert track(stack, cta, content_type="application/json", extra=place).status == 202
    identify = {
        **VISITOR,
        "type": "custom_event",
        "event_name": "identify",
        "event_id": "ev_4",
        "offset_ms": -1000,
        "page": "/pricing",
        "user_id": "jane@acme.test",
    }
    assert track(stack, {"events": [identify]}, extra=place).status == 202

    # A resend (the tracker retrying after a lost answer) and a bot change nothing.
    resent = track(stack, batch, extra=place)
    assert resent.body == {"received": 2, "stored": 0, "duplicates": 2, "dropped": None}
    bot = track(
        stack, {**VISITOR, "type": "pageview", "page": "/bot", "event_id": "ev_bot"}, user_agent=HEADLESS
    )
    assert (bot.status, bot.headers["x-ghost-dropped"], bot.body["stored"]) == (202, "bot", 0)
    # Refused requests write nothing.
    assert (
        track(stack, {**VISITOR, "type": "pageview", "page": "/x"}, origin="https://evil.example").status
        == 403
    )
    assert track(stack, {**VISITOR, "type": "click", "page": "/x"}).code == "invalid_parameter"
    assert track(stack, b"{" + b" " * 70_000 + b"}").status == 413
    assert track(stack, {**VISITOR, "type": "pageview", "page": "/x"}, content_type="text/html").status == 415

    stack.poller.drain(timeout=60)
    assert stack.dead_letters == []
    assert [e["event_id"] for e in stored_events(stored_items(stack.tables["EventsTable"]))] == [
        "ev_1",
        "ev_2",
        "ev_3",
        "ev_4",
    ]

    session = stack.get(f"/api/session/{VISITOR['session_id']}?siteId=4", f"session={token}")
    assert session.status == 200
    body = session.body
    fields = ["ghost_vid", "identified_user_id", "country", "city", "device_type", "browser", "os"]
    fields += ["referrer", "entry_page", "exit_page", "pages", "event_count"]
    assert {k: body[k] for k in fields} == {
        "ghost_vid": VISITOR["ghost_vid"],
        "identified_user_id": "jane@acme.test",
        "country": "Canada",
        "city": "Montréal",
        "device_type": "desktop",
        "browser": "Firefox",
        "os": "Windows",
        "referrer": "https://news.ycombinator.com/item",
        "entry_page": "/",
        "exit_page": "/pricing",
        "pages": ["/", "/pricing"],
        "event_count": 4,
    }
    assert body["duration_seconds"] == 3
    assert [(t["type"], t["event_name"], t["page"], t["props"]) for t in body["timeline"]] == [
        ("pageview", "", "/", {"utm_source": "newsletter"}),
        ("pageview", "", "/pricing", {}),
        ("custom_event", "cta_clicked", "/pricing", {"section": "hero", "seats": 5}),
        ("custom_event", "identify", "/pricing", {}),
    ]

    stats = stack.get("/api/stats?siteId=4&timeRange=24h", f"session={token}").body
    assert stats["overview"] == {
        "unique_visitors": 1,
        "sessions": 1,
        "pageviews": 2,
        "total_events": 4,
        "identified_visitors": 1,
        "hot_leads": 1,  # /pricing 10 + two custom events 10 + identified 20
    }
    assert stats["top_pages"] == [{"page": "/", "views": 1}, {"page": "/pricing", "views": 1}]
    assert stats["countries"] == [{"country": "Canada", "visitors": 1}]


def test_the_gateway_serves_the_tracker_and_the_demo(stack: Stack) -> None:
    tracker = stack.get("/ghost.js")
    assert tracker.status == 200
    assert tracker.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert b"sendBeacon" in tracker.raw
    page = stack.get("/demo/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert b'src="/ghost.js" data-site-id="4"' in page.raw
    assert stack.get("/demo/pricing").raw == page.raw  # single-page-app routes get the app
    assert stack.get("/demo/about.html").status == 200
    assert (stack.get("/demo").status, stack.get("/demo").headers["location"]) == (308, "/demo/")
    for escape in ("/demo/../template.yaml", "/demo/%2e%2e/%2e%2e/template.yaml", "/ghost.js/../README.md"):
        assert stack.get(escape).code == "not_found", escape


def test_preflight_over_http(stack: Stack) -> None:
    ask = [("Origin", ORIGIN), ("Access-Control-Request-Method", "POST")]
    allowed = stack.request("OPTIONS", "/api/track?siteId=4", headers=ask)
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    denied = stack.request("OPTIONS", "/api/track?siteId=4", headers=[("Origin", "https://evil.example")])
    assert (denied.status, denied.code) == (403, "forbidden")  # a failed preflight: the POST is not sent
    bare = stack.request("OPTIONS", "/api/track")  # no Origin: no preflight, the route's methods
    assert (bare.status, bare.headers["allow"]) == (204, "OPTIONS, POST")
