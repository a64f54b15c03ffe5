"""The dashboard's production bundle (web/dist, built by `make web`): within its size budget, every
asset index.html names exists, and nothing of the development tools is in it."""

from __future__ import annotations

import gzip
import re

from tests.support.browser import BUNDLE_BUDGET_GZIP, built_web
from tests.support.figures import record


def test_the_bundle_is_at_most_150_kb_gzipped() -> None:
    dist = built_web()
    files = [p for p in dist.rglob("*") if p.is_file()]
    sizes = {p.relative_to(dist).as_posix(): len(gzip.compress(p.read_bytes(), 9)) for p in files}
    total = sum(sizes.values())
    record("dashboard bundle, gzipped (bytes)", total)
    assert total <= BUNDLE_BUDGET_GZIP, sizes
    assert not [name for name in sizes if name.endswith(".map")]


def test_index_html_names_the_hashed_assets_that_exist() -> None:
    dist = built_web()
    page = (dist / "index.html").read_text()
    assets = re.findall(r'(?:href|src)="(/assets/[^"]+)"', page)
    assert sorted(a.rsplit(".", 1)[1] for a in assets) == ["css", "js"]
    for asset in assets:
        assert re.fullmatch(r"/assets/app-[A-Z0-9]{8}\.(js|css)", asset), asset
        assert (dist / asset.lstrip("/")).is_file()
    on_disk = sorted(p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file())
    assert on_disk == sorted(["index.html", *(a.lstrip("/") for a in assets)])


def test_the_mock_api_and_its_fixtures_stay_out_of_the_bundle() -> None:
    dist = built_web()
    text = "".join(p.read_text(errors="replace") for p in dist.rglob("*") if p.is_file())
    assert "demo-password" not in text and "__mock" not in text
