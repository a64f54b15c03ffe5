"""Realtime: the last half hour by minute (PRODUCT §11 `GET /api/realtime`).

Events of the last LIVE_MINUTES minutes are kept one by one (hashed, with their page) in the item the route
reads; older minutes of the half hour are counts there, and keep their events' 32-bit hashes and their
visitors' (no page) beside them while few, else in an item of the minute's own, so an event stored late (a
tracker's queued events, an import) still counts in its own minute and a replayed record changes nothing;
events older than the half hour are not added. A fold first loads the minute items of late events
(`minutes_to_load`).
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
    """The older minutes of events stored late whose events `live` does not hold: they are in their
    minute's own item (or nowhere yet) and must be loaded before `add_events`."""
    late = {minute_of(event.ts) for _, event in events} - set(live.minutes) - set(live.frozen)
    return _older_kept(live, late, now_ms)


def _touched(live: Live, events: Iterable[tuple[str, EventFacts]], now_ms: int) -> set[int]:
    """The older minutes `add_events` adds to: live minutes that freeze now and those of late events."""
    return _older_kept(live, {minute_of(event.ts) for _, event in events} | set(live.minutes), now_ms)


def _older_kept(live: Live, minutes: set[int], now_ms: int) -> set[int]:
    oldest_live, oldest_kept = _bounds(now_ms)
    return {m for m in minutes if oldest_kept <= m and _older(live, m, oldest_live)}


def _older(live: Live, minute: int, oldest_live: int) -> bool:
    """An older minute: before the live ones, or frozen already by a fold whose clock is ahead of ours."""
    return minute < oldest_live or minute in live.counts


def add_events(live: Live, events: Iterable[tuple[str, EventFacts]], now_ms: int, count: bool = True) -> bool:
    """Adds (session id, event) pairs; freezes and drops old minutes; True if the route's item changed.
    The minutes `minutes_to_load` names must be in `live.frozen` first. A minute that freezes now holds
    what `live` knew of it: if it is busy, the caller merges it with its own item (a fold that crashed
    before writing `rt` may have stored more there) and recounts it. `count=False` leaves the older
    minutes' counts to one `recount` at the end (a loader adding sessions one by one)."""
    listed = list(events)
    touched = _touched(live, listed, now_ms)
    oldest_live, oldest_kept = _bounds(now_ms)
    changed = _freeze(live, oldest_live, oldest_kept)
    for session_id, event in listed:
        minute = minute_of(event.ts)
        if minute < oldest_kept:
            continue  # outside the half hour
        hashed = event_hash(session_id, event.event_id)
        if _older(live, minute, oldest_live):
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
    return (count and recount(live, touched)) or changed


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


def recount(live: Live, minutes: Iterable[int]) -> bool:
    """The counts of these older minutes, from their events; True if any rose. They only grow (events are
    only added), so the larger of stored and counted stands: a fold that read a minute before a concurrent
    one added to it cannot lower its counts."""
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
