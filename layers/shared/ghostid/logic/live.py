"""Realtime: the last half hour by minute, kept in one small item (PRODUCT §11 `GET /api/realtime`).

Events of the last LIVE_MINUTES minutes are kept one by one (hashed, with their page); older minutes of
the half hour keep each event's 32-bit hash and its visitor's (no page), so an event stored late (a
tracker's queued events, an import) still counts in its own minute and a replayed record changes
nothing; events older than the half hour are not added.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ghostid.dal.realtime import FrozenMinute, Live, LiveEvent
from ghostid.distinct import visitor_hash
from ghostid.models.rollups import EventFacts

MINUTE_MS = 60_000
WINDOW_MINUTES = 30
LIVE_MINUTES = 6  # >= the 5 minutes visitors_now and top_pages look at, plus the minute in progress
HASH_32 = 0xFFFFFFFF


def event_hash(session_id: str, event_id: str) -> int:
    digest = hashlib.blake2b(f"{session_id}\0{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def minute_of(ms: int) -> int:
    return ms - ms % MINUTE_MS


def add_events(live: Live, events: Iterable[tuple[str, EventFacts]], now_ms: int) -> bool:
    """Adds (session id, event) pairs of the live minutes; freezes and drops old minutes. True if changed."""
    current = minute_of(now_ms)
    oldest_live = current - (LIVE_MINUTES - 1) * MINUTE_MS
    oldest_kept = current - (WINDOW_MINUTES - 1) * MINUTE_MS
    changed = _freeze(live, oldest_live, oldest_kept)
    for session_id, event in events:
        minute = minute_of(event.ts)
        if minute < oldest_kept:
            continue  # outside the half hour
        hashed = event_hash(session_id, event.event_id)
        if minute < oldest_live:
            changed |= _add_frozen(live.frozen.setdefault(minute, {}), hashed, event)
            continue
        bucket = live.minutes.setdefault(minute, {})
        if hashed not in bucket:
            entry: LiveEvent = (
                hashed,
                visitor_hash(event.ghost_vid),
                int(event.type == "pageview"),
                event.page,
            )
            bucket[hashed] = entry
            changed = True
    return changed


def _add_frozen(minute: FrozenMinute, hashed: int, event: EventFacts) -> bool:
    short = hashed & HASH_32
    if short in minute:
        return False
    minute[short] = (visitor_hash(event.ghost_vid) & HASH_32, int(event.type == "pageview"))
    return True


def _freeze(live: Live, oldest_live: int, oldest_kept: int) -> bool:
    changed = False
    for minute in [m for m in live.minutes if m < oldest_live]:
        events = live.minutes.pop(minute).values()
        if minute >= oldest_kept:
            frozen = live.frozen.setdefault(minute, {})
            frozen.update({e[0] & HASH_32: (e[1] & HASH_32, e[2]) for e in events})
        changed = True
    for minute in [m for m in live.frozen if m < oldest_kept]:
        del live.frozen[minute]
        changed = True
    return changed
