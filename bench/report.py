"""The targets of issue 9 (item 6) and issue 10 (item 1), the table each run prints, and results.json."""

from __future__ import annotations

import json
from collections.abc import Mapping

from bench.harness import RESULTS, ROOT

# key -> (at most / at least, the number); the wording in `WHAT`.
AT_MOST, AT_LEAST = "<=", ">="
TARGETS: dict[str, tuple[str, float]] = {
    "stats_preset_requests_max_small": (AT_MOST, 3),
    "stats_preset_rcu_max_small": (AT_MOST, 2),
    "stats_preset_requests_max_large": (AT_MOST, 3),
    "stats_preset_rcu_max_large": (AT_MOST, 2),
    "realtime_requests_small": (AT_MOST, 3),
    "realtime_rcu_small": (AT_MOST, 5),
    "realtime_requests_large": (AT_MOST, 3),
    "realtime_rcu_large": (AT_MOST, 5),
    "ingest_wcu_per_event_30k": (AT_MOST, 6),
    "ingest_rcu_per_event_30k": (AT_MOST, 4),
    "ingest_wcu_per_event_1m": (AT_MOST, 3),
    "ingest_rcu_per_event_1m": (AT_MOST, 4),
    "ingest_freshness_s": (AT_MOST, 60),
    "ratio_chdb_over_ours_current_small": (AT_LEAST, 1),
    "ratio_chdb_over_ours_behind_small": (AT_LEAST, 1),
    "ratio_chdb_over_ours_current_large": (AT_LEAST, 1),
    "ratio_chdb_over_ours_behind_large": (AT_LEAST, 1),
    "ratio_pg_over_ours_current_large": (AT_LEAST, 1),
    # make bench-scale
    "scale_stats_preset_requests_max": (AT_MOST, 3),
    "scale_stats_preset_rcu_max": (AT_MOST, 2),
    "scale_stats_preset_behind_requests_max": (AT_MOST, 6),
    "scale_stats_preset_behind_rcu_max": (AT_MOST, 150),
    "scale_custom_30d_requests": (AT_MOST, 6),
    "scale_custom_30d_rcu": (AT_MOST, 500),
    "scale_custom_12mo_rcu": (AT_MOST, 1000),
    "scale_timeseries_30d_requests": (AT_MOST, 6),
    "scale_timeseries_30d_rcu": (AT_MOST, 500),
    "scale_breakdown_30d_max_requests": (AT_MOST, 6),
    "scale_breakdown_30d_max_rcu": (AT_MOST, 500),
    "scale_realtime_requests": (AT_MOST, 3),
    "scale_realtime_rcu": (AT_MOST, 5),
    "scale_latency_ratio_presets": (AT_MOST, 1.5),
    "scale_latency_ratio_custom": (AT_MOST, 3),
    "scale_latency_ratio_breakdowns": (AT_MOST, 3),
    "ingest_wcu_per_event_10m": (AT_MOST, 2),
    "ingest_rcu_per_event_10m": (AT_MOST, 4),
    "ratio_chdb_over_ours_current_scale": (AT_LEAST, 1),
    "ratio_chdb_over_ours_behind_scale": (AT_LEAST, 1),
    "ratio_pg_over_ours_current_scale": (AT_LEAST, 1),
    "scale_leads_page_requests": (AT_MOST, 4),
    "scale_leads_page_rcu": (AT_MOST, 25),
    "scale_sessions_page_requests": (AT_MOST, 4),
    "scale_sessions_page_rcu": (AT_MOST, 25),
    "scale_visitor_requests": (AT_MOST, 5),
}


# Keys the issues name without a target of their own (issue 9: the site's size; issue 11: the rate limit's
# cost, "measured in make bench").
# PostgreSQL at 10M is measured only if asked for (it may not load in reasonable time, the issue allows).
NAMED = (
    *(key for key in TARGETS if key != "ratio_pg_over_ours_current_scale"),
    "scale_site_events",
    "rate_limit_wcu_per_call",
)


def unwritten(merged: Mapping[str, object]) -> list[str]:
    """Named keys that results.json lacks or holds as something other than a number."""
    return [
        key
        for key in NAMED
        if not isinstance(merged.get(key), int | float) or isinstance(merged.get(key), bool)
    ]


def scale_owned(key: str) -> bool:
    """Keys `make bench-scale` writes (`make bench` keeps them when it rewrites the file)."""
    return key.startswith("scale_") or key.endswith("_scale") or "_10m" in key


def write(results: Mapping[str, float], owned: str) -> dict[str, float]:
    """Replaces this command's keys in results.json, keeping the other command's; returns the whole file."""
    try:
        existing: dict[str, float] = json.loads(RESULTS.read_text())
    except (FileNotFoundError, ValueError):
        existing = {}
    mine = scale_owned if owned == "scale" else (lambda key: not scale_owned(key))
    merged = {k: v for k, v in existing.items() if not mine(k)} | dict(results)
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return merged


def verdict(key: str, value: float) -> str:
    how, target = TARGETS[key]
    return "met" if (value <= target if how == AT_MOST else value >= target) else "MISSED"


def _target(key: str) -> str:
    return f"{TARGETS[key][0]} {TARGETS[key][1]:g}" if key in TARGETS else "-"


def table(results: Mapping[str, float], missing: Mapping[str, str], seconds: float) -> str:
    """The targets this run measured (figure, measured, target, met/missed), then every other figure."""
    rows = [(k, str(results[k]), _target(k), verdict(k, results[k])) for k in TARGETS if k in results]
    rows += [(k, "-", _target(k), f"not measured: {why}") for k, why in missing.items()]
    width = max([len(r[0]) for r in rows] + [len(k) for k in results] + [6])
    lines = [f"{'figure':<{width}}  {'measured':>10}  {'target':>8}  result"]
    lines += [f"{k:<{width}}  {v:>10}  {t:>8}  {r}" for k, v, t, r in rows]
    lines.append("")
    lines.append(f"{'other figures':<{width}}  value")
    lines += [f"{k:<{width}}  {v}" for k, v in sorted(results.items()) if k not in TARGETS]
    met = sum(1 for r in rows if r[3] == "met")
    lines.append(
        f"\n{met} of {len(rows)} targets met; took {seconds / 60:.1f} min; wrote {RESULTS.relative_to(ROOT)}"
    )
    return "\n".join(lines)
