"""Runtime settings read from the environment, and the constants the data model is built on."""

from __future__ import annotations

import os
from functools import cache

# Distinct counts: HLL lg_k=14 is exact (in coupon mode) far past 200 and ~0.6% RMS above (README).
HLL_LG_K = 14
# Page counters are sharded by a stable hash so no item grows past ~70 KB even with 100,000 pages a day.
PAGE_SHARDS = {"H": 16, "D": 64}
# Visitor reach-back (identity / hot lead) into hourly buckets is kept for this long; only `24h` reads them.
HOURLY_REACH_BACK_HOURS = 8 * 24
TOP_LIMIT = 10


@cache
def table_name(env_var: str) -> str:
    """Name of a DynamoDB table, from the variable the template sets (fails loudly when unset)."""
    try:
        return os.environ[env_var]
    except KeyError:
        raise RuntimeError(f"environment variable {env_var} is not set") from None


def sessions_table() -> str:
    return table_name("SESSIONS_TABLE")


def sites_table() -> str:
    return table_name("SITES_TABLE")


def events_table() -> str:
    return table_name("EVENTS_TABLE")


def rollups_table() -> str:
    return table_name("ROLLUPS_TABLE")


def event_retention_days() -> int:
    return int(os.environ.get("EVENT_RETENTION_DAYS", "400"))


def fold_concurrency() -> int:
    """Parallel DynamoDB calls per stream batch in the rollup function (FOLD_CONCURRENCY, default 8)."""
    return max(1, int(os.environ.get("FOLD_CONCURRENCY", "8")))
