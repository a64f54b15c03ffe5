"""The dashboard's browser tests: Debian's chromium driven by Playwright (no `playwright install`),
the built page (web/dist), axe-core from npm, screenshots and API-call counting."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
WEB_DIST = WEB / "dist"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BUNDLE_BUDGET_GZIP = 150 * 1024
DRAWN_MARK = "ghost:overview-drawn"  # set by web/src/ui/overview.js when the overview is drawn
MAX_CALLS_PER_VIEW = 6
# The overview must be drawn within 1 s of navigation start (issue 12), best of three page loads (the
# figure is printed either way; a machine busier than a developer's can raise the limit).
FIRST_DRAW_LIMIT_MS = float(os.environ.get("DASHBOARD_FIRST_DRAW_LIMIT_MS", "1000"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = {"desktop": 1280, "phone": 375}


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI (CI=true), where `.ci/run` installs what the browser tests need."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: CI must run the browser tests")
    pytest.skip(reason)


def built_web() -> Path:
    """web/dist, (re)built first when a source is newer than it (workers share one lock)."""
    if shutil.which("node") is None:
        unavailable("node is not installed (the dashboard is built with esbuild from npm)")
    sources = [p for p in (WEB / "src").rglob("*") if p.is_file()] + [WEB / "build.mjs"]
    index = WEB_DIST / "index.html"
    with open(Path(tempfile.gettempdir()) / "ghostid-web-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        newest = max(p.stat().st_mtime for p in sources)
        if not index.is_file() or index.stat().st_mtime < newest:
            subprocess.run(["node", str(WEB / "build.mjs")], cwd=ROOT, check=True, capture_output=True)
    return WEB_DIST


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        unavailable("Debian's chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (one line each)."""
    if not AXE.is_file():
        unavailable("axe-core is not installed (npm ci)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Page, name: str) -> list[Path]:
    """Full-page screenshots at 1280 and 375 px wide under test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or {"width": 1280, "height": 900}
    paths = []
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)  # the chart follows its box's new width
        path = SCREENSHOTS / f"{name}-{label}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size(original)
    return paths


def first_draw_ms(page: Page) -> float:
    """Milliseconds from navigation start to the app's `overview drawn` mark."""
    page.wait_for_function(f"performance.getEntriesByName({DRAWN_MARK!r}).length > 0", timeout=15_000)
    return float(page.evaluate(f"performance.getEntriesByName({DRAWN_MARK!r})[0].startTime"))


@dataclass
class ApiLog:
    """Every /api/ request the page made (method, path, query). GET /api/realtime counts once between
    two `take()`s: the view's own call, not its polling every 10 s while a test looks at the page."""

    calls: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)

    def record(self, request: Request) -> None:
        url = urlsplit(request.url)
        if not url.path.startswith("/api/"):
            return
        if url.path == "/api/realtime" and "/api/realtime" in self.paths():
            return
        self.calls.append((request.method, url.path, parse_qs(url.query)))

    def take(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        calls, self.calls = self.calls, []
        return calls

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.calls]


class Dashboard:
    """One browser context on a dashboard at `base`: its page, console errors and API calls."""

    def __init__(self, browser: Browser, base: str, width: int = 1280) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.errors = watch_console(self.page)
        self.api = ApiLog()
        self.page.on("request", self.api.record)
        self.seen: list[str] = []  # every /api/ URL requested, realtime included (path and query)
        self.page.on("request", self._saw)

    def _saw(self, request: Request) -> None:
        if "/api/" in request.url:
            self.seen.append(request.url.split(self.base, 1)[-1])

    def sign_in(self, email: str, password: str, next_path: str = "/") -> None:
        self.page.goto(self.base + next_path)
        self.page.wait_for_selector("#email")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")

    def drawn(self) -> None:
        """Waits until the overview is drawn: numbers, chart and every list on screen."""
        self.page.wait_for_selector(".overview[aria-busy=false]", timeout=15_000)

    def show_card(self, card: str) -> None:
        """Scrolls an overview card into view and waits for its list (or its empty or error state)."""
        self.page.locator(f"[data-card={card}]").scroll_into_view_if_needed()
        self.page.wait_for_selector(f"[data-card={card}] :is(tbody tr, .empty, .error)", timeout=15_000)

    def get(self, path: str) -> Any:
        """What the API answers for `path` with this browser's cookie."""
        reply = self.context.request.get(self.base + path)
        assert reply.ok, (path, reply.status, reply.text())
        return reply.json()

    def api_url(self, path: str) -> str:
        """The path and query of the page's last request to `path`."""
        for url in reversed(self.seen):
            if urlsplit(url).path == path:
                return url
        raise AssertionError(f"the page never called {path}")

    def cookie(self) -> str:
        """The `session` cookie the browser holds, as a Cookie header value."""
        return "; ".join(
            f"{c['name']}={c['value']}" for c in self.context.cookies() if c["name"] == "session"
        )

    def close(self) -> None:
        self.context.close()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def expected_change(change: float | None) -> str:
    """PRODUCT.md §10's change as the page must show it."""
    if change is None:
        return "—"
    if change > 0:
        return f"+{change:.1f}%"
    if change < 0:
        return f"\u2212{abs(change):.1f}%"
    return "0.0%"


TILES = ("unique_visitors", "sessions", "pageviews", "total_events", "identified_visitors", "hot_leads")


def assert_overview_is(d: Dashboard, stats: dict[str, Any]) -> None:
    """The six numbers, their change, top pages and countries on the page are `stats`'s."""
    for metric in TILES:
        shown = d.page.locator(f".tile-value[data-metric={metric}]").inner_text()
        assert number(shown) == stats["overview"][metric], metric
    changes = d.page.locator("[data-change]")
    if "comparison" not in stats:
        assert changes.count() == 0
    else:
        for metric in TILES:
            text = d.page.locator(f"[data-change={metric}]").inner_text()
            shown_change = text.split("(")[0].replace("▲", "").replace("▼", "").strip()
            assert shown_change == expected_change(stats["comparison"]["change"][metric]), metric
    pages = table_rows(d.page, "[data-card=pages][data-dimension=page]")
    assert [(r[0], number(r[1])) for r in pages] == [(p["page"], p["views"]) for p in stats["top_pages"]]
    countries = table_rows(d.page, "[data-card=countries]")
    assert [(r[0], number(r[1])) for r in countries] == [
        (c["country"], c["visitors"]) for c in stats["countries"]
    ]


def assert_lists_are(d: Dashboard) -> None:
    """The breakdown cards show what GET /api/breakdown answers for the URLs the page asked (a card asks
    once it is on screen: each is scrolled to first)."""
    for card, dimension in (("sources", "source"), ("devices", "device_type"), ("events", "event_name")):
        d.show_card(card)
        url = next(u for u in reversed(d.seen) if f"dimension={dimension}" in u)
        rows = d.get(url)["rows"]
        metrics = ["visitors", "events"] if dimension == "event_name" else ["visitors"]
        shown = table_rows(d.page, f"[data-card={card}]")
        assert shown == [[r["value"], *(f"{r[m]:,}" for m in metrics)] for r in rows], card


def assert_chart_is(d: Dashboard, ts: dict[str, Any]) -> None:
    if not d.page.locator(".chart-table").get_attribute("open"):
        d.page.click(".chart-table summary")
    rows = table_rows(d.page, ".chart-table")
    expected = [[p["label"], f"{p['unique_visitors']:,}", f"{p['pageviews']:,}"] for p in ts["points"]]
    if "comparison" in ts:
        before = ts["comparison"]["points"]
        for i, row in enumerate(expected):
            point = before[i] if i < len(before) else None
            row += [f"{point[k]:,}" if point else "—" for k in ("unique_visitors", "pageviews")]
    assert rows == expected


def watch_console(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of the page, as they happen."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def texts(page: Page, selector: str) -> list[str]:
    return [str(t) for t in page.locator(selector).all_inner_texts()]


def number(text: str) -> int:
    """A number as the page shows it (`1,234`)."""
    return int(text.replace(",", "").strip())


def table_rows(page: Page, card_selector: str) -> list[list[str]]:
    """The body rows of the first table inside `card_selector`, cell texts."""
    rows: Any = page.locator(f"{card_selector} tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return [list(map(str, row)) for row in rows]
