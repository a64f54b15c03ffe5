"""The README's dashboard pictures: the overview and the first hot lead's profile, 1280 px wide.

    .venv/bin/python web/dev/screenshots.py --base http://127.0.0.1:3000 \\
        --email demo@ghostid.local --password '<printed password>' [--site 4] [--out docs]

Runs Debian's chromium through Playwright (as the tests do) against any running stack: `make serve`
or the stand-in API (web/dev/mock_api.py)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]


def capture(page: Page, base: str, site: str, out: Path) -> list[Path]:
    page.goto(f"{base}/?site={site}&range=7d&compare=previous")
    page.wait_for_selector(".overview[aria-busy=false]", timeout=30_000)
    overview = out / "dashboard-overview.png"
    page.screenshot(path=str(overview))
    page.goto(f"{base}/leads?site={site}&range=30d&sort=score")
    page.wait_for_selector("#leads-table a", timeout=30_000)
    page.click("#leads-table tbody tr:first-child a")
    page.wait_for_selector("#visitor-sessions", timeout=30_000)
    lead = out / "dashboard-lead.png"
    page.screenshot(path=str(lead))
    return [overview, lead]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="http://127.0.0.1:3000")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--site", default="4")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"], headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.emulate_media(color_scheme="light")
        page.goto(f"{args.base}/login")
        page.fill("#email", args.email)
        page.fill("#password", args.password)
        page.click("button[type=submit]")
        page.wait_for_selector(".overview, .app main", timeout=30_000)
        for path in capture(page, args.base, args.site, args.out):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        browser.close()


if __name__ == "__main__":
    main()
