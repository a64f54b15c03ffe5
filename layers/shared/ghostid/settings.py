"""Runtime settings read from the environment, and the constants the data model is built on."""

from __future__ import annotations

import os
from functools import cache

# Distinct counts: HLL lg_k=14 is exact (in coupon mode) far past 200 and ~0.6% RMS above (README).
HLL_LG_K = 14
# Page counters are spread over shards by a stable hash of the page. Readers sum every shard, so the
# count can change at any time (env PAGE_SHARDS="hourly,daily"). The default keeps a day's shard under
# ~100 KB up to ~10,000 distinct pages a day; "16,64" takes 100,000 pages a day (see README).
_HOURLY_SHARDS, _DAILY_SHARDS = (int(x) for x in os.environ.get("PAGE_SHARDS", "2,4").split(","))
PAGE_SHARDS = {"H": _HOURLY_SHARDS, "D": _DAILY_SHARDS}
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
