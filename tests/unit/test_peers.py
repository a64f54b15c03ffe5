"""bench/peers.py: both peers answer the dashboard read they claim to, counted directly over the same events.

Each engine is loaded with the same ~500 events (demo traffic plus edge cases at the window's ends and
awkward page names) and its answer is compared with a plain count over the events, using the metric
definitions of that peer's own queries. Skipped locally when an engine cannot start here; in CI
(CI=true), where `.ci/run` installs the dev extras, that is a failure instead.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ghostid_local import demo

from bench import peers

ROOT = Path(__file__).resolve().parents[2]
SITE = 7
NOW = int(datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp() * 1000)
DAY = 86_400_000
WINDOW_START = (NOW // DAY - 29) * DAY  # the 30 calendar days (UTC) ending with NOW's day
WINDOW_END = (NOW // DAY + 1) * DAY


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _edge(
    ms: int, page: str, visitor: str, kind: str = "pageview", country: str | None = "Canada"
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "session_id": f"gs_edge_{visitor}_{ms}",
        "ghost_vid": f"gv_edge_{visitor}",
        "type": kind,
        "event_name": "clicked" if kind == "custom_event" else "",
        "page": page,
        "timestamp": _iso(ms),
        "device_type": "desktop",
        "browser": "Firefox",
        "os": "Linux",
    }
    if country:
        event["country"] = country
    return event


EDGES = [
    _edge(WINDOW_START, "/first-moment", "a"),  # in
    _edge(WINDOW_START - 1, "/just-before", "b"),  # out
    _edge(WINDOW_END - 1, "/last-moment", "c"),  # in
    _edge(WINDOW_END, "/just-after", "d"),  # out
    _edge(NOW - DAY, "/tab\there\\and 'quotes' ünïcødé", "e", country="Côte d'Ivoire"),
    _edge(NOW - DAY + 5, "https://example.com/from-a-url?utm_source=x#top", "f", country=None),
    _edge(NOW - 2 * DAY, "/pricing", "g", kind="custom_event"),  # a visitor with no pageview
]
EVENTS = [*demo.generate(days=30, visitors=95, seed=11, end_ms=NOW), *EDGES]
# The path each peer stores for the one page given as a URL.
PATHS = {"https://example.com/from-a-url?utm_source=x#top": "/from-a-url"}


def _in_window(event: dict[str, Any]) -> bool:
    ms = int(datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp() * 1000)
    return WINDOW_START <= ms < WINDOW_END


IN_WINDOW = [e for e in EVENTS if _in_window(e)]
PAGEVIEWS = [e for e in IN_WINDOW if e["type"] == "pageview"]


def _top(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]


def _assert_top(answer: tuple[tuple[str, int], ...], counts: dict[str, int]) -> None:
    """Every row is exact, and the rows are the ten largest (ties at the tenth place may differ)."""
    assert [count for _, count in answer] == [count for _, count in _top(counts)]
    for name, count in answer:
        assert counts[name] == count, name


def _distinct(events: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, int]:
    groups: dict[str, set[str]] = {}
    for event in events:
        groups.setdefault(key(event), set()).add(event["ghost_vid"])
    return {name: len(visitors) for name, visitors in groups.items()}


CHUNK = 97  # so that loads take several chunks and a session's events land in different ones
SHUFFLED = random.Random(3).sample(EVENTS, len(EVENTS))  # answers must not depend on arrival order


def _loaded(load: Callable[..., Any]) -> Iterator[Any]:
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(peers, "CHUNK_EVENTS", CHUNK)
            handle = load(iter(SHUFFLED), site_id=SITE)
    except peers.PeerUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the peer engine must run in CI: {exc}")
        pytest.skip(f"peer engine cannot start on this machine: {exc}")
    with handle:
        yield handle


@pytest.fixture(scope="module")
def clickhouse() -> Iterator[peers.ClickHouseHandle]:
    yield from _loaded(peers.load_clickhouse)


@pytest.fixture(scope="module")
def postgres() -> Iterator[peers.PostgresHandle]:
    yield from _loaded(peers.load_postgres)


def test_the_events_cross_the_window_and_carry_awkward_pages() -> None:
    assert 400 <= len(EVENTS) <= 700
    assert len(IN_WINDOW) < len(EVENTS) - 2  # demo traffic before the window's first day, and EDGES
    assert any("\t" in e["page"] for e in PAGEVIEWS)


def test_clickhouse_counts_equal_a_direct_count(clickhouse: peers.ClickHouseHandle) -> None:
    answer = peers.clickhouse_dashboard(clickhouse, SITE, NOW)

    assert clickhouse.stats.sites == {SITE: len(EVENTS)}
    assert clickhouse.stats.chunks == -(-len(EVENTS) // CHUNK)
    assert answer.pageviews == len(PAGEVIEWS)
    assert answer.total_events == len(IN_WINDOW)
    # Plausible's overview on its events table: visitors and visits with any event in the window.
    assert answer.visitors == len({e["ghost_vid"] for e in IN_WINDOW})
    assert answer.sessions == len({e["session_id"] for e in IN_WINDOW})
    pages = Counter(PATHS.get(e["page"], e["page"]) for e in PAGEVIEWS)
    assert list(answer.top_pages) == _top(pages)  # pageviews, ties by path, as our top_pages
    known = [e for e in IN_WINDOW if e.get("country")]
    _assert_top(answer.countries, _distinct(known, lambda e: e["country"]))


def test_umami_counts_equal_a_direct_count(postgres: peers.PostgresHandle) -> None:
    answer = peers.postgres_dashboard(postgres, SITE, NOW)

    assert postgres.stats.sites == {SITE: len(EVENTS)}
    assert postgres.stats.chunks == -(-len(EVENTS) // CHUNK)
    assert answer.pageviews == len(PAGEVIEWS)
    assert answer.total_events is None
    # Umami counts over pageviews only: its visitors (its "sessions") and visits (our sessions).
    assert answer.visitors == len({e["ghost_vid"] for e in PAGEVIEWS})
    assert answer.sessions == len({e["session_id"] for e in PAGEVIEWS})
    # Its pages table counts visitors per page (Umami 3), not pageviews.
    _assert_top(answer.top_pages, _distinct(PAGEVIEWS, lambda e: PATHS.get(e["page"], e["page"])))
    known = [e for e in PAGEVIEWS if e.get("country")]
    _assert_top(answer.countries, _distinct(known, lambda e: e["country"]))


def test_the_peers_agree_where_their_definitions_meet(
    clickhouse: peers.ClickHouseHandle, postgres: peers.PostgresHandle
) -> None:
    ours = peers.clickhouse_dashboard(clickhouse, SITE, NOW)
    umami = peers.postgres_dashboard(postgres, SITE, NOW)

    assert ours.pageviews == umami.pageviews > 0
    assert {name for name, _ in ours.countries} == {name for name, _ in umami.countries}


def test_a_site_that_was_not_loaded_is_refused(
    clickhouse: peers.ClickHouseHandle, postgres: peers.PostgresHandle
) -> None:
    with pytest.raises(ValueError, match="site 8 was not loaded"):
        peers.clickhouse_dashboard(clickhouse, SITE + 1, NOW)
    with pytest.raises(ValueError, match="site 8 was not loaded"):
        peers.postgres_dashboard(postgres, SITE + 1, NOW)


def test_timing_reads_the_dashboard(
    clickhouse: peers.ClickHouseHandle, postgres: peers.PostgresHandle
) -> None:
    assert 0 < peers.clickhouse_dashboard_seconds(clickhouse, SITE, NOW, runs=3) < 5
    assert 0 < peers.postgres_dashboard_seconds(postgres, SITE, NOW, runs=3) < 5


def test_importing_the_module_loads_neither_engine() -> None:
    code = "import sys, bench.peers; print(sorted({'chdb', 'pgserver', 'psycopg'} & set(sys.modules)))"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "shared"), str(ROOT / "local")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
