"""Rate limits (PRODUCT §13): the windows and the headers every answer to a limited credential carries.

Headers as in the IETF draft that the contract names: `RateLimit-Limit` (requests allowed in the window),
`RateLimit-Remaining`, `RateLimit-Reset` (seconds until the window ends); a 429 adds `Retry-After`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ghostid.errors import RateLimited

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Usage:
    """A credential's use of its limit in the current window, this request included."""

    limit: int
    count: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, self.limit - self.count)),
            "RateLimit-Reset": str(self.reset_s),
        }


def minute_of(now_ms: int) -> int:
    """The fixed one-minute window a request at `now_ms` counts in."""
    return now_ms // MINUTE_MS


def seconds_until(end_ms: int, now_ms: int) -> int:
    """Whole seconds, rounded up and at least 1, until `end_ms` (what Retry-After says)."""
    return max(1, math.ceil((end_ms - now_ms) / 1000))


def minute_usage(limit: int, count: int, now_ms: int) -> Usage:
    return Usage(limit, count, seconds_until((minute_of(now_ms) + 1) * MINUTE_MS, now_ms))


def limited(message: str, usage: Usage) -> RateLimited:
    """The 429 of a credential over its limit: try again when the window ends."""
    headers = {**usage.headers(), "Retry-After": str(usage.reset_s)}
    return RateLimited(f"{message} Try again in {usage.reset_s} seconds.", headers)
