"""The dashboard's own logic in a real browser, against the stand-in API (web/dev/mock_api.py).

Headless Chromium (Debian's) drives the built page: sign-in and its errors, the URL as the view's
state (reload, back, shared links), the range / comparison / interval parameters it sends, the
formatting of change, cursor paging, the people drill-down and Escape, visitors now every 10 s, a
401 back to sign-in, error states, keyboard use, API calls per view, axe-core on every view, and
screenshots at 1280 and 375 px. Every number is compared with what the same API URL answers.
The same walk against the real local stack is tests/integration/test_dashboard_browser.py.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.support.browser import (
    FIRST_DRAW_LIMIT_MS,
    MAX_CALLS_PER_VIEW,
    TILES,
    WEB,
    Dashboard,
    assert_chart_is,
    assert_lists_are,
    assert_overview_is,
    built_web,
    first_draw_ms,
    number,
    query_of,
    screenshot,
    serious_violations,
    table_rows,
    texts,
)
from tests.support.figures import record

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.integration
LOAD_ERROR = "Failed to load resource"  # Chromium's console line for any 4xx/5xx answer


def _load_mock() -> Any:
    spec = importlib.util.spec_from_file_location("mock_api", WEB / "dev" / "mock_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


MOCK = _load_mock()


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    mock = MOCK.MockServer(("127.0.0.1", 0), dist=built_web())
    thread = threading.Thread(target=mock.serve_forever, daemon=True)
    thread.start()
    yield mock
    mock.shutdown()
    mock.server_close()
    thread.join(timeout=10)


class Session(Dashboard):
    """A dashboard on the mock, whose state the test can change (failures, expired sessions)."""

    def __init__(self, browser: Browser, server: Any, width: int = 1280) -> None:
        server.state.failures.clear()
        super().__init__(browser, server.url, width)
        self.server = server

    def sign_in(self, email: str = "", password: str = "", next_path: str = "/") -> None:
        super().sign_in(email or MOCK.USER, password or MOCK.PASSWORD, next_path)


@pytest.fixture
def s(browser: Browser, server: Any) -> Iterator[Session]:
    session = Session(browser, server)
    yield session
    session.close()


def assert_tiles_equal(s: Session, stats: dict[str, Any]) -> None:
    assert_overview_is(s, stats)


# ------------------------------------------------------------------ sign-in, overview, URL state


def test_sign_in_lands_on_the_overview_whose_numbers_are_the_apis(s: Session) -> None:
    s.page.goto(s.base + "/")
    s.page.wait_for_selector("#email")
    assert urlsplit(s.page.url).path == "/login"
    assert s.api.take() == []  # a new visitor goes to sign-in without a call that would 401

    s.page.fill("#email", MOCK.USER)
    s.page.fill("#password", "not-the-password")
    s.page.click("button[type=submit]")
    assert s.page.locator("#login-error").inner_text() == "Wrong email or password."
    s.page.fill("#password", MOCK.PASSWORD)
    s.page.click("button[type=submit]")
    s.drawn()
    assert query_of(s.page.url) == {"site": "4"}
    calls = s.api.take()
    assert [(m, p) for m, p, _ in calls[:2]] == [("POST", "/api/auth/login"), ("POST", "/api/auth/login")]
    view = calls[2:]
    assert len(view) <= MAX_CALLS_PER_VIEW, view
    assert sorted(p for _, p, _ in view) == sorted(  # sign-in answered what /api/me would; one card on screen
        ["/api/stats", "/api/timeseries", "/api/breakdown", "/api/realtime"]
    )
    assert [q["dimension"] for _, p, q in view if p == "/api/breakdown"] == [["source"]]

    assert_overview_is(s, s.get(s.api_url("/api/stats")))
    assert_lists_are(s)
    assert_chart_is(s, s.get(s.api_url("/api/timeseries")))
    assert s.errors == [e for e in s.errors if LOAD_ERROR in e] and len(s.errors) <= 1  # the wrong password


def test_the_url_holds_range_comparison_and_interval(s: Session) -> None:
    s.sign_in()
    s.drawn()
    s.api.take()
    s.page.select_option("#range", "30d")
    s.drawn()
    s.page.select_option("#compare", "previous")
    s.drawn()
    assert query_of(s.page.url) == {"site": "4", "range": "30d", "compare": "previous"}
    calls = s.api.take()
    stats_calls = [q for _, p, q in calls if p == "/api/stats"]
    assert stats_calls[-1] == {"siteId": ["4"], "timeRange": ["30d"], "compare": ["previous"]}
    breakdowns = [q for _, p, q in calls if p == "/api/breakdown"]
    assert all("compare" not in q and q["timeRange"] == ["30d"] for q in breakdowns)
    assert_tiles_equal(s, s.get(s.api_url("/api/stats")))

    # the interval: hour only up to 7 days; a switch refetches the chart alone
    assert s.page.locator("#interval option[value=hour]").is_disabled()
    s.page.select_option("#interval", "week")
    s.page.wait_for_function("document.querySelector('#interval').value === 'week'")
    s.drawn()
    assert [(p, q.get("interval")) for _, p, q in s.api.take() if p != "/api/realtime"] == [
        ("/api/timeseries", ["week"])
    ]
    assert query_of(s.page.url)["interval"] == "week"

    s.page.reload()
    s.drawn()
    assert s.page.locator("#range").input_value() == "30d"
    assert s.page.locator("#compare").input_value() == "previous"
    assert s.page.locator("#interval").input_value() == "week"
    reloaded = s.api.take()
    assert len(reloaded) <= MAX_CALLS_PER_VIEW, reloaded
    assert_tiles_equal(s, s.get(s.api_url("/api/stats")))

    s.page.go_back()  # before the interval switch
    s.drawn()
    assert "interval" not in query_of(s.page.url)
    s.page.go_back()  # before the comparison
    s.drawn()
    assert s.page.locator("#compare").input_value() == ""
    assert s.page.locator("[data-change]").count() == 0
    assert s.errors == []


def test_a_shared_link_opens_the_same_view_for_another_browser(browser: Browser, server: Any) -> None:
    link = "/?site=7&range=yesterday&compare=year"
    first, second = Session(browser, server), Session(browser, server)
    try:
        for session in (first, second):
            session.sign_in(next_path=link)
            session.drawn()
        assert urlsplit(first.page.url).query == urlsplit(second.page.url).query == urlsplit(link).query
        assert first.page.locator("h1").inner_text() == second.page.locator("h1").inner_text()
        assert "Example shop" in first.page.locator("h1").inner_text()
        for metric in TILES:
            sel = f".tile-value[data-metric={metric}]"
            assert first.page.locator(sel).inner_text() == second.page.locator(sel).inner_text()
        assert first.page.locator("#interval").input_value() == "hour"  # a one-day range: hourly by default
    finally:
        first.close()
        second.close()


def test_switching_site_keeps_the_range_and_asks_for_the_new_site(s: Session) -> None:
    s.sign_in(next_path="/?site=4&range=month")
    s.drawn()
    s.api.take()
    s.page.select_option("#site", "7")
    s.drawn()
    calls = s.api.take()
    assert len(calls) <= MAX_CALLS_PER_VIEW
    assert {q["siteId"][0] for _, _, q in calls} == {"7"}
    assert all(q["timeRange"] == ["month"] for _, p, q in calls if p != "/api/realtime")
    assert query_of(s.page.url) == {"site": "7", "range": "month"}
    assert_tiles_equal(s, s.get(s.api_url("/api/stats")))


def test_custom_dates_are_bounded_in_the_sites_zone(s: Session) -> None:
    s.sign_in(next_path="/?site=7")
    s.drawn()
    s.page.select_option("#range", "custom")
    today = datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    assert s.page.locator("#to").get_attribute("max") == today
    assert s.page.locator(".custom-range .tz").inner_text() == "Europe/Berlin"
    s.api.take()
    s.page.fill("#from", today)
    s.page.fill("#to", "2020-01-01")
    s.page.click(".custom-range button[type=submit]")
    assert "on or before" in s.page.locator(".custom-range .error").inner_text()
    assert s.api.take() == []  # nothing is asked for a range the API would refuse

    start = s.page.locator("#to").get_attribute("min")
    assert start is not None
    s.page.fill("#from", start)
    s.page.fill("#to", today)
    s.page.click(".custom-range button[type=submit]")
    s.drawn()
    assert query_of(s.page.url) == {"site": "7", "range": "custom", "from": start, "to": today}
    stats = [q for _, p, q in s.api.take() if p == "/api/stats"][-1]
    assert stats == {"siteId": ["7"], "from": [start], "to": [today]}
    assert s.page.locator("#interval").input_value() == "month"  # 400 days: monthly by default
    assert_tiles_equal(s, s.get(s.api_url("/api/stats")))
    assert s.errors == []


def test_change_is_signed_with_one_decimal_and_a_dash_without_previous_data(s: Session) -> None:
    changes = {
        "unique_visitors": 12.5,
        "sessions": -3.0,
        "pageviews": 0.0,
        "total_events": None,
        "identified_visitors": 100.0,
        "hot_leads": -100.0,
    }

    def patched(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        body["comparison"]["change"] = changes
        route.fulfill(response=response, body=json.dumps(body))

    s.page.route("**/api/stats?*compare=*", patched)
    s.sign_in(next_path="/?site=4&compare=previous")
    s.drawn()
    shown = {m: s.page.locator(f"[data-change={m}]").inner_text().replace("\n", " ") for m in TILES}
    assert shown["unique_visitors"].startswith("▲ +12.5%") and "(up 12.5%)" in shown["unique_visitors"]
    assert shown["sessions"].startswith("▼ \u22123.0%") and "(down 3.0%)" in shown["sessions"]
    assert shown["pageviews"].startswith("0.0%") and "(no change)" in shown["pageviews"]
    assert shown["total_events"].startswith("—") and "(no previous data)" in shown["total_events"]
    assert shown["identified_visitors"].startswith("▲ +100.0%")
    assert shown["hot_leads"].startswith("▼ \u2212100.0%")
    assert s.page.locator("[data-change=sessions]").get_attribute("class") == "change down"


# ------------------------------------------------------------------ breakdowns


def test_a_breakdown_pages_with_next_cursor_and_escape_returns_to_the_overview(s: Session) -> None:
    s.sign_in(next_path="/?site=4&range=30d")
    s.drawn()
    overview_url = s.page.url
    s.api.take()
    s.page.click("[data-card=pages] .card-foot a")
    s.page.wait_for_selector(".panel table")
    assert urlsplit(s.page.url).path == "/breakdown/page"
    assert query_of(s.page.url) == {"site": "4", "range": "30d"}
    asked = [(p, q["limit"], q["dimension"]) for _, p, q in s.api.take()]
    # Clicking scrolls the link into view: lists that come on screen with it may ask for their card
    # (limit 10) before the panel opens. The panel itself asks once.
    assert [a for a in asked if a[1] != ["10"]] == [("/api/breakdown", ["100"], ["page"])]
    first = s.get(s.api_url("/api/breakdown"))
    assert first["next_cursor"]
    assert s.page.evaluate("document.activeElement.tagName") == "H1"  # focus moves into the panel

    s.page.click("button.more")
    s.page.wait_for_function(f"document.querySelectorAll('.panel tbody tr').length > {len(first['rows'])}")
    more = s.api.take()
    assert [q.get("cursor") for _, _, q in more] == [[first["next_cursor"]]]
    second = s.get(s.api_url("/api/breakdown"))
    rows = table_rows(s.page, ".panel")
    assert [(r[0], number(r[1])) for r in rows] == [
        (r["value"], r["pageviews"]) for r in first["rows"] + second["rows"]
    ]
    assert (second["next_cursor"] is None) == (s.page.locator("button.more").count() == 0)

    asked_before = len(s.seen)
    s.page.keyboard.press("Escape")
    s.drawn()
    assert s.page.url == overview_url
    again = s.seen[asked_before:]
    s.api.take()
    # the overview came back from the cache: nothing asked again but visitors now (and the lists of cards
    # that only come on screen now)
    assert not [u for u in again if not u.startswith("/api/realtime") and u in s.seen[:asked_before]]
    assert all(u.startswith(("/api/realtime", "/api/breakdown")) for u in again), again

    s.page.goto(s.base + "/breakdown/source?site=4&range=7d")  # a shared link to a breakdown
    s.page.wait_for_selector(".panel table")
    shared = s.api.take()
    assert sorted(p for _, p, _ in shared) == ["/api/breakdown", "/api/me"]
    source = s.get(s.api_url("/api/breakdown"))
    assert table_rows(s.page, ".panel") == [
        [r["value"], f"{r['visitors']:,}", f"{r['sessions']:,}", f"{r['pageviews']:,}", f"{r['events']:,}"]
        for r in source["rows"]
    ]
    assert s.errors == []


def test_card_tabs_fetch_only_the_list_on_show(s: Session) -> None:
    s.sign_in(next_path="/?site=4")
    s.drawn()
    s.show_card("devices")
    assert ["device_type"] in [q["dimension"] for _, p, q in s.api.take() if p == "/api/breakdown"]
    s.page.click("[data-card=devices] .tab:has-text('Browsers')")
    s.page.wait_for_selector("[data-card=devices][data-dimension=browser] tbody tr")
    assert [q["dimension"] for _, p, q in s.api.take() if p != "/api/realtime"] == [["browser"]]
    browsers = s.get(s.api_url("/api/breakdown"))["rows"]
    assert [r[0] for r in table_rows(s.page, "[data-card=devices]")] == [r["value"] for r in browsers]
    s.page.click("[data-card=pages] .tab:has-text('Entry pages')")
    s.page.wait_for_selector("[data-card=pages][data-dimension=entry_page] tbody tr")
    entry = s.get(s.api_url("/api/breakdown"))["rows"]
    assert [(r[0], number(r[1])) for r in table_rows(s.page, "[data-card=pages]")] == [
        (r["value"], r["sessions"]) for r in entry
    ]
    assert s.page.locator("[data-card=pages] .tab[aria-pressed=true]").inner_text() == "Entry pages"


# ------------------------------------------------------------------ people


def test_leads_to_profile_to_session_timeline_and_back_with_escape(s: Session) -> None:
    s.sign_in(next_path="/?site=4&range=30d")
    s.drawn()
    s.api.take()
    s.page.click(".tile-link:has([data-metric=hot_leads])")
    s.page.wait_for_selector("#leads-table")
    assert urlsplit(s.page.url).path == "/leads"
    calls = s.api.take()
    assert [p for _, p, _ in calls] == ["/api/leads"]
    assert query_of(s.api_url("/api/leads")) == {
        "siteId": "4",
        "timeRange": "30d",
        "status": "hot",
        "sort": "last_seen",
        "limit": "50",
    }
    leads = s.get(s.api_url("/api/leads"))
    rows = table_rows(s.page, "#leads-table")
    assert [r[0].removesuffix(" hot").strip() for r in rows] == [
        lead["identified_user_id"] or lead["ghost_vid"] for lead in leads["leads"]
    ]
    assert [number(r[1]) for r in rows] == [lead["score"] for lead in leads["leads"]]
    assert [number(r[4]) for r in rows] == [lead["sessions"] for lead in leads["leads"]]

    s.page.select_option("#lead-sort", "score")
    s.page.wait_for_function("new URLSearchParams(location.search).get('sort') === 'score'")
    s.page.wait_for_selector("#leads-table")
    by_score = s.get(s.api_url("/api/leads"))
    s.page.wait_for_function(
        "n => document.querySelector('#leads-table tbody tr td').innerText == n",
        arg=str(by_score["leads"][0]["score"]),
    )
    assert query_of(s.page.url) == {"site": "4", "range": "30d", "sort": "score"}

    lead = by_score["leads"][0]
    s.api.take()
    s.page.click(f"#leads-table tr[data-vid='{lead['ghost_vid']}'] a")
    s.page.wait_for_selector("#visitor-fields")
    assert urlsplit(s.page.url).path == f"/visitor/{lead['ghost_vid']}"
    assert [p for _, p, _ in s.api.take()] == [f"/api/visitors/{lead['ghost_vid']}"]
    visitor = s.get(s.api_url(f"/api/visitors/{lead['ghost_vid']}"))
    assert number(s.page.locator("#visitor-fields [data-metric=score]").inner_text()) == visitor["score"]
    assert (
        number(s.page.locator("#visitor-fields [data-metric=pageviews]").inner_text()) == visitor["pageviews"]
    )
    shown_sessions = s.page.locator("#visitor-sessions tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.session)"
    )
    assert shown_sessions == [x["session_id"] for x in visitor["sessions"]]

    first = visitor["sessions"][0]["session_id"]
    s.page.click(f"#visitor-sessions tr[data-session='{first}'] a")
    s.page.wait_for_selector("#timeline li")
    assert [p for _, p, _ in s.api.take()] == [f"/api/session/{first}"]
    session = s.get(s.api_url(f"/api/session/{first}"))
    items = s.page.locator("#timeline li time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    assert items == [t["timestamp"] for t in session["timeline"]]
    assert (
        number(s.page.locator("#session-fields [data-metric=event_count]").inner_text())
        == session["event_count"]
    )
    duration = s.page.locator("#session-fields [data-metric=duration_seconds]").get_attribute("data-value")
    assert duration == str(session["duration_seconds"])

    s.page.reload()  # a deep link to a session: sign-in state, the site and one call
    s.page.wait_for_selector("#timeline li")
    assert sorted(p for _, p, _ in s.api.take()) == sorted(["/api/me", f"/api/session/{first}"])

    s.page.keyboard.press("Escape")
    s.page.wait_for_selector("#visitor-fields")
    assert urlsplit(s.page.url).path == f"/visitor/{lead['ghost_vid']}"
    s.page.keyboard.press("Escape")
    s.page.wait_for_selector("#leads-table")
    assert query_of(s.page.url) == {"site": "4", "range": "30d", "sort": "score"}
    assert s.errors == []


def test_a_visitors_sessions_page_with_next_cursor(s: Session) -> None:
    s.sign_in(next_path="/?site=4")
    s.drawn()
    vid = next(v for v in MOCK.visitor_ids(4) if MOCK.session_count(v) > 50)
    s.page.goto(f"{s.base}/visitor/{vid}?site=4")
    s.page.wait_for_selector("#visitor-sessions")
    first = s.get(s.api_url(f"/api/visitors/{vid}"))
    assert s.page.locator("#visitor-sessions tbody tr").count() == len(first["sessions"]) == 50
    s.page.click("button.more")
    s.page.wait_for_function("document.querySelectorAll('#visitor-sessions tbody tr').length > 50")
    assert query_of(s.api_url(f"/api/visitors/{vid}"))["cursor"] == first["next_cursor"]
    second = s.get(s.api_url(f"/api/visitors/{vid}"))
    assert s.page.locator("#visitor-sessions tbody tr").count() == 50 + len(second["sessions"])


# ------------------------------------------------------------------ realtime, 401, errors


def test_visitors_now_refreshes_every_10_seconds(s: Session) -> None:
    s.page.clock.install()
    s.sign_in(next_path="/?site=4")
    s.drawn()

    def polls() -> list[str]:
        return [u for u in s.seen if u.startswith("/api/realtime")]

    s.page.wait_for_selector("[data-metric=visitors_now]")
    before = len(polls())
    shown = number(s.page.locator("[data-metric=visitors_now]").inner_text())
    s.page.clock.run_for(9_000)
    assert len(polls()) == before
    s.page.clock.run_for(1_500)
    s.page.wait_for_function(
        "n => Number(document.querySelector('[data-metric=visitors_now]').innerText) !== n", arg=shown
    )
    assert len(polls()) == before + 1
    assert query_of(polls()[-1]) == {"siteId": "4"}
    latest = s.get("/api/realtime?siteId=4")  # the mock counts up on every call
    assert number(s.page.locator("[data-metric=visitors_now]").inner_text()) == latest["visitors_now"] - 1


def test_an_expired_session_returns_to_sign_in_and_back_to_the_view(s: Session) -> None:
    s.sign_in(next_path="/?site=4")
    s.drawn()
    s.page.wait_for_load_state("networkidle")  # the lists coming on screen have asked (else their 401 wins)
    s.server.state.sessions.clear()  # the session expired server-side
    s.page.click("nav a:has-text('Leads')")
    s.page.wait_for_selector("#email")
    assert urlsplit(s.page.url).path == "/login"
    assert query_of(s.page.url) == {"next": "/leads?site=4"}
    s.page.fill("#email", MOCK.USER)
    s.page.fill("#password", MOCK.PASSWORD)
    s.page.click("button[type=submit]")
    s.page.wait_for_selector("#leads-table")
    assert urlsplit(s.page.url).path == "/leads"
    assert all(LOAD_ERROR in e for e in s.errors)


def test_errors_are_shown_where_they_happen_and_the_rest_is_drawn(s: Session) -> None:
    s.sign_in(next_path="/?site=4")
    s.drawn()
    s.server.state.failures.append({"path": "/api/timeseries", "status": 500, "times": 1})
    s.page.select_option("#range", "30d")
    s.drawn()
    alert = s.page.locator(".chart-card [role=alert]")
    assert "Injected failure 500 (request mock-1)." in alert.inner_text()
    assert s.page.locator(".tile-value").count() == 6
    assert s.page.locator("[data-card=sources] tbody tr").count() > 0

    s.page.route("**/api/leads*", lambda route: route.abort())
    s.page.click("nav a:has-text('Leads')")
    s.page.wait_for_selector(".leads [role=alert]")
    assert "cannot be reached" in s.page.locator(".leads [role=alert]").inner_text()
    assert all(LOAD_ERROR in e or "ERR_FAILED" in e for e in s.errors)


def test_sign_out_ends_the_session(s: Session) -> None:
    s.sign_in(next_path="/?site=4")
    s.drawn()
    s.api.take()
    s.page.click("button.signout")
    s.page.wait_for_selector("#email")
    assert [p for _, p, _ in s.api.take()] == ["/api/auth/logout"]
    assert s.context.request.get(s.base + "/api/me").status == 401
    s.page.goto(s.base + "/?site=4")
    s.page.wait_for_selector("#email")
    assert s.api.take() == []  # signed out: straight to sign-in, no call
    assert s.errors == []


# ------------------------------------------------------------------ keyboard, accessibility, speed


def test_keyboard_reaches_everything_with_a_visible_focus(s: Session) -> None:
    s.sign_in(next_path="/leads?site=4")
    s.page.wait_for_selector("#leads-table")
    s.page.keyboard.press("Tab")
    assert s.page.evaluate("document.activeElement.className") == "skip"
    outline = s.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    for _ in range(40):  # header controls, then the first lead
        s.page.keyboard.press("Tab")
        if s.page.evaluate("!!document.activeElement.closest('#leads-table')"):
            break
    else:
        pytest.fail("the leads table is not reachable with Tab")
    assert s.page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    s.page.keyboard.press("Enter")
    s.page.wait_for_selector("#visitor-fields")
    s.page.keyboard.press("Escape")
    s.page.wait_for_selector("#leads-table")


def test_no_serious_accessibility_violation_on_any_view_and_screenshots(s: Session) -> None:
    s.page.goto(s.base + "/login")
    s.page.wait_for_selector("#email")
    views: dict[str, list[str]] = {"login": serious_violations(s.page)}
    screenshot(s.page, "mock-login")
    s.sign_in(next_path="/?site=4&range=30d&compare=previous")
    s.drawn()
    vid = MOCK.visitor_ids(4)[0]
    session_id = MOCK.session_summary(4, vid, 0, datetime.now().astimezone())["session_id"]
    walk = {
        "overview": "/?site=4&range=30d&compare=previous",
        "breakdown": "/breakdown/source?site=4&range=30d",
        "leads": "/leads?site=4&range=30d&status=all",
        "visitor": f"/visitor/{vid}?site=4",
        "session": f"/session/{session_id}?site=4",
    }
    ready = {"overview": ".overview[aria-busy=false]", "breakdown": ".panel table", "leads": "#leads-table"}
    for name, path in walk.items():
        s.page.goto(s.base + path)
        s.page.wait_for_selector(ready.get(name, "#visitor-fields, #timeline"), timeout=15_000)
        for scheme in ("light", "dark"):
            s.page.emulate_media(color_scheme=scheme)
            views[f"{name} ({scheme})"] = serious_violations(s.page)
        s.page.emulate_media(color_scheme="light")
        assert all(p.stat().st_size > 10_000 for p in screenshot(s.page, f"mock-{name}"))
    assert {view: found for view, found in views.items() if found} == {}
    assert s.errors == []


def test_the_overview_is_drawn_fast_and_in_at_most_six_calls(s: Session) -> None:
    s.sign_in(next_path="/?site=4")
    s.drawn()
    times = []
    for _ in range(3):
        s.api.take()
        s.page.goto(s.base + "/?site=4&range=30d&compare=previous")
        times.append(first_draw_ms(s.page))
        assert len(s.api.take()) <= MAX_CALLS_PER_VIEW
    best = min(times)
    record("dashboard first draw on the mock API, best of 3 (ms)", round(best))
    assert best < FIRST_DRAW_LIMIT_MS, times
    assert texts(s.page, ".tile-value") != []
