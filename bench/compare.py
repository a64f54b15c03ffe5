"""The peers beside ours, on the same events: the 30-day dashboard read (overview, top pages, countries) in a
Plausible-like ClickHouse table and in Umami's PostgreSQL schema (`bench/peers.py`), against our
`GET /api/stats?timeRange=30d` with answers current and behind, each a warm median in this process.

`bench/peers.py` may be absent (it lands from its own branch) or its engines may not start: the bench then
runs on and names the keys it could not measure and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any


def peers_module() -> tuple[ModuleType | None, str]:
    try:
        from bench import peers
    except ImportError as error:
        return None, f"bench/peers.py is missing or does not import ({error})"
    return peers, ""


def peer_seconds(
    engine: str, events: Callable[[], Iterator[dict[str, Any]]], site_id: int, now: int, runs: int
) -> tuple[float | None, str]:
    """(median seconds of the peer's dashboard read, or None and why)."""
    peers, why = peers_module()
    if peers is None:
        return None, why
    load, seconds = {
        "clickhouse": (peers.load_clickhouse, peers.clickhouse_dashboard_seconds),
        "postgres": (peers.load_postgres, peers.postgres_dashboard_seconds),
    }[engine]
    try:
        started = time.perf_counter()
        with load(events(), site_id) as handle:
            loaded = time.perf_counter() - started
            median = seconds(handle, site_id, now, runs)
    except peers.PeerUnavailable as error:
        return None, f"{engine} unavailable: {error}"
    print(f"  {engine}: loaded in {loaded:.0f} s, dashboard read median {median * 1000:.1f} ms", flush=True)
    return median, ""


def ratios(
    label: str,
    events: Callable[[], Iterator[dict[str, Any]]],
    site_id: int,
    now: int,
    ours: dict[str, float],
    runs: int,
    postgres: bool,
) -> tuple[dict[str, float], dict[str, str]]:
    """`ratio_chdb_over_ours_{current,behind}_<label>` (and `ratio_pg_over_ours_current_<label>`), and the
    keys that could not be measured with the reason."""
    out: dict[str, float] = {}
    missing: dict[str, str] = {}
    chdb, why = peer_seconds("clickhouse", events, site_id, now, runs)
    for state in ("current", "behind"):
        key = f"ratio_chdb_over_ours_{state}_{label}"
        if chdb is None:
            missing[key] = why
        else:
            out[key] = round(chdb / ours[state], 2)
    if postgres:
        key = f"ratio_pg_over_ours_current_{label}"
        pg, why = peer_seconds("postgres", events, site_id, now, max(3, runs // 3))
        if pg is None:
            missing[key] = why
        else:
            out[key] = round(pg / ours["current"], 2)
    return out, missing
