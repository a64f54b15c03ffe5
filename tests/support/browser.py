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
    """Every /api/ request the page made (method, path, query), realtime polling counted apart."""

    calls: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)

    def record(self, request: Request) -> None:
        url = urlsplit(request.url)
        if url.path.startswith("/api/") and url.path != "/api/realtime":
            self.calls.append((request.method, url.path, parse_qs(url.query)))

    def take(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        calls, self.calls = self.calls, []
        return calls

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.calls]


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
