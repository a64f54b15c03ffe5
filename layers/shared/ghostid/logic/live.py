"""Realtime: the last half hour by minute (PRODUCT §11 `GET /api/realtime`).

Events of the last LIVE_MINUTES minutes are kept one by one (hashed, with their page) in the item the route
reads; older minutes of the half hour are counts there, and each keeps its events' 32-bit hashes and their
visitors' (no page) in an item of its own, so an event stored late (a tracker's queued events, an import)
still counts in its own minute and a replayed record changes nothing; events older than the half hour are
not added. A fold loads the older minutes it will touch (`minutes_to_load`) before adding events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ghostid.dal.realtime import FrozenMinute, Live, LiveEvent, counts_of
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


def _bounds(now_ms: int) -> tuple[int, int]:
    """(oldest live minute, oldest minute kept)."""
    current = minute_of(now_ms)
    return current - (LIVE_MINUTES - 1) * MINUTE_MS, current - (WINDOW_MINUTES - 1) * MINUTE_MS


def minutes_to_load(live: Live, events: Iterable[tuple[str, EventFacts]], now_ms: int) -> set[int]:
    """The older minutes whose events `add_events` will add to: live minutes that freeze now and the
    minutes of events stored late."""
    oldest_live, oldest_kept = _bounds(now_ms)
    found = {minute_of(event.ts) for _, event in events} | set(live.minutes)
    return {m for m in found if oldest_kept <= m < oldest_live}


def add_events(live: Live, events: Iterable[tuple[str, EventFacts]], now_ms: int) -> bool:
    """Adds (session id, event) pairs; freezes and drops old minutes. The older minutes it touches must be
    in `live.frozen` (all of them, as stored). True if the route's item changed."""
    listed = list(events)
    touched = minutes_to_load(live, listed, now_ms)
    oldest_live, oldest_kept = _bounds(now_ms)
    changed = _freeze(live, oldest_live, oldest_kept)
    for session_id, event in listed:
        minute = minute_of(event.ts)
        if minute < oldest_kept:
            continue  # outside the half hour
        hashed = event_hash(session_id, event.event_id)
        if minute < oldest_live:
            _add_frozen(live.frozen.setdefault(minute, {}), hashed, event)
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
    return _count_frozen(live, touched) or changed


def _add_frozen(minute: FrozenMinute, hashed: int, event: EventFacts) -> None:
    minute.setdefault(
        hashed & HASH_32, (visitor_hash(event.ghost_vid) & HASH_32, int(event.type == "pageview"))
    )


def _freeze(live: Live, oldest_live: int, oldest_kept: int) -> bool:
    changed = False
    for minute in [m for m in live.minutes if m < oldest_live]:
        events = live.minutes.pop(minute).values()
        if minute >= oldest_kept:
            frozen = live.frozen.setdefault(minute, {})
            frozen.update({e[0] & HASH_32: (e[1] & HASH_32, e[2]) for e in events})
        changed = True
    for kept in (live.counts, live.frozen):
        for minute in [m for m in kept if m < oldest_kept]:
            del kept[minute]
            changed = True
    return changed


def _count_frozen(live: Live, minutes: set[int]) -> bool:
    """The counts of the older minutes a fold touched, from their events. They only grow (events are only
    added), so the larger of stored and counted stands: a fold that read a minute before a concurrent one
    added to it cannot lower its counts."""
    changed = False
    for minute in minutes:
        events = live.frozen.get(minute, {})
        stored = live.counts.get(minute, (0, 0))
        counted = counts_of(events)
        best = (max(stored[0], counted[0]), max(stored[1], counted[1]))
        if best != stored:
            live.counts[minute] = best
            changed = True
    return changed
