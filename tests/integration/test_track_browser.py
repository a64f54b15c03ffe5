"""A real browser on the demo page: headless Chromium (Debian's `chromium`) driven by Playwright.

It clicks through the single-page app, goes back, fires a custom event, identifies, follows a link
to another page, and then finds that very session, its timeline and the stats through the read API.
Without chromium the tests skip locally and fail in CI (CI=true), where `.ci/run` installs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from ghostid import timeutil
from ghostid.dal import sites as sites_dal
from ghostid.logic import users
from ghostid.models.sites import Site
from ghostid_local.demo import DEMO_DOMAIN, DEMO_LOCAL_ORIGINS

from tests.support.scenario import stored_items
from tests.support.stack import Stack, local_stack, member_session

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.integration
REAL_NOW = timeutil.now_ms
# Headless Chromium says "HeadlessChrome", which the collector drops as a bot: the visitor's browser
# presents itself as the desktop Chrome it is.
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
USER = "demo@ghostid.local"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def stack(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    with local_stack(local_aws_env, cfn_template, monkeypatch) as running:
        monkeypatch.setattr(timeutil, "now_ms", REAL_NOW)  # a browser's events happen now
        # The demo site as `make serve` seeds it: its domain, plus the local stack's own origin.
        sites_dal.put_site(Site(site_id=4, domain=DEMO_DOMAIN, extra_domains=DEMO_LOCAL_ORIGINS))
        yield running


def is_track(response: Any) -> bool:
    return bool(response.url.endswith("/api/track") and response.request.method == "POST")


def tracked(page: Page, action: Callable[[], Any]) -> Any:
    """Runs `action` and waits for the collector's answer to the events it caused."""
    with page.expect_response(is_track, timeout=15_000) as answer:
        action()
    return answer.value


def test_a_visit_in_a_real_browser_is_its_session_timeline_and_stats(browser: Browser, stack: Stack) -> None:
    token = member_session(4, USER)
    users.create_user(USER, PASSWORD, timeutil.now_ms())
    context = browser.new_context(
        user_agent=DESKTOP_CHROME,
        extra_http_headers={"CloudFront-Viewer-Country": "CA", "CloudFront-Viewer-City": "Toronto"},
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    first = tracked(page, lambda: page.goto(stack.url + "/demo/"))
    assert first.status == 202 and first.headers.get("x-ghost-dropped") is None
    visitor = page.evaluate("ghost.visitor()")
    assert re.fullmatch(r"gv_[0-9a-f]{8}_[0-9a-f]{8}", visitor["ghost_vid"])
    assert re.fullmatch(r"gs_[0-9a-f]+", visitor["session_id"])

    tracked(page, lambda: page.click("#nav-features"))
    tracked(page, lambda: page.click("#nav-pricing"))
    tracked(page, page.go_back)  # back to /demo/features: popstate
    assert page.url.endswith("/demo/features")
    tracked(page, lambda: page.click("#cta"))
    page.fill("#email", "jane@acme.test")
    tracked(page, lambda: page.click("#identify"))
    about = tracked(page, lambda: page.click("#nav-about"))  # a full page load, same visitor and session
    assert about.status == 202
    assert page.evaluate("ghost.visitor()") == {**visitor, "user_id": "jane@acme.test"}
    assert errors == []

    stack.poller.drain(timeout=60)
    assert stack.dead_letters == []
    cookie = f"session={token}"
    reply = stack.get(f"/api/session/{visitor['session_id']}?siteId=4", cookie)
    assert reply.status == 200, reply.raw
    session = reply.body
    assert session["ghost_vid"] == visitor["ghost_vid"]
    assert session["identified_user_id"] == "jane@acme.test"
    assert (session["country"], session["city"]) == ("Canada", "Toronto")
    assert (session["device_type"], session["browser"], session["os"]) == ("desktop", "Chrome", "Linux")
    # The demo is served under /demo/ and reports the fictional site's own paths (data-base="/demo").
    assert [(t["type"], t["event_name"], t["page"]) for t in session["timeline"]] == [
        ("pageview", "", "/"),
        ("pageview", "", "/features"),
        ("pageview", "", "/pricing"),
        ("pageview", "", "/features"),
        ("custom_event", "cta_clicked", "/features"),
        ("custom_event", "identify", "/features"),
        ("pageview", "", "/about"),
    ]
    titles = [t["page_title"] for t in session["timeline"] if t["type"] == "pageview"]
    names = ("Home", "Features", "Pricing", "Features", "About")
    assert titles == [f"{name} · Ghost ID demo" for name in names]
    assert session["timeline"][4]["props"] == {"section": "/demo/features"}
    assert session["pages"] == ["/", "/features", "/pricing", "/about"]
    assert (session["entry_page"], session["exit_page"]) == ("/", "/about")

    stats = stack.get("/api/stats?siteId=4&timeRange=24h", cookie).body
    # A hot lead as scoring really works: /pricing (10), two custom events (5 + 5) and identifying (20);
    # the home, features and about pages score nothing.
    assert stats["overview"] == {
        "unique_visitors": 1,
        "sessions": 1,
        "pageviews": 5,
        "total_events": 7,
        "identified_visitors": 1,
        "hot_leads": 1,
    }
    assert stats["top_pages"][0] == {"page": "/features", "views": 2}
    assert stats["countries"] == [{"country": "Canada", "visitors": 1}]

    # The demo page's own panel: sign in (the HttpOnly cookie), read this session back, sign out.
    tracked(page, lambda: page.goto(stack.url + "/demo/"))
    page.fill("#signin-password", "not the password")
    page.click("#signin-form button")
    page.wait_for_function("document.getElementById('signin-error').textContent.includes('Wrong')")
    page.fill("#signin-email", USER)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button")
    page.wait_for_function(
        "id => document.getElementById('session-json').textContent.includes(id)",
        arg=visitor["session_id"],
        timeout=15_000,
    )
    assert page.inner_text("#who") == USER
    assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
    page.click("#signout")
    page.wait_for_selector("#signin-form", state="visible")
    with page.expect_response(lambda response: response.url.endswith("/api/me")) as me:
        page.reload()
    assert me.value.status == 401  # signed out for the API too, not only on the page
    assert page.is_hidden("#signed-in")
    assert errors == []
    context.close()


def test_headless_browsers_are_dropped_as_bots(browser: Browser, stack: Stack) -> None:
    context = browser.new_context()  # Chromium's own headless User-Agent
    page = context.new_page()
    answer = tracked(page, lambda: page.goto(stack.url + "/demo/"))
    assert answer.status == 202
    assert answer.headers["x-ghost-dropped"] == "bot"
    page.wait_for_function("document.getElementById('collector').textContent.includes('bot')")
    assert stored_items(stack.tables["EventsTable"]) == []
    context.close()


def test_the_tracker_survives_a_dead_endpoint_and_resends_later(browser: Browser, stack: Stack) -> None:
    context = browser.new_context(user_agent=DESKTOP_CHROME)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/api/track", lambda route: route.abort())
    page.goto(stack.url + "/demo/")
    page.evaluate("ghost.track('video_played', {video: 'tour', nested: {dropped: true}, n: 1})")
    page.evaluate("ghost.track(); ghost.identify(); ghost.track('x', 'not an object')")
    page.wait_for_function("JSON.parse(localStorage.getItem('ghost_q') || '[]').length === 3")
    assert errors == []
    assert stored_items(stack.tables["EventsTable"]) == []

    page.unroute("**/api/track")
    answer = tracked(page, lambda: page.click("#cta"))  # the next event sends the whole queue
    assert answer.status == 202  # (the body of a keepalive fetch is not readable from Playwright)
    assert page.evaluate("localStorage.getItem('ghost_q')") is None
    rows = stored_items(stack.tables["EventsTable"])
    names = sorted(row.get("event_name", {}).get("S", "") for row in rows)
    assert names == ["", "cta_clicked", "video_played", "x"]
    video = next(row for row in rows if row.get("event_name", {}).get("S") == "video_played")
    assert set(video["props"]["M"]) == {"video", "n"}  # the tracker drops what the collector would refuse
    context.close()
