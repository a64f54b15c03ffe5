"""A session's stored events → its cells (one per local hour), its summary and its lead parts. Pure.

Everything is recomputed from the session's complete set of stored events, in event order
`(timestamp, event_id)`, never from stream records, so the result depends only on what is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from ghostid.models.dimensions import DIMENSIONS, DIRECT
from ghostid.models.rollups import Cell, EventFacts, ScoringEvent, SessionParts, SessionSummary
from ghostid.models.sites import LeadRules
from ghostid.timeutil import Zone

LAST_PAGES = 5


@dataclass(frozen=True)
class SessionFold:
    cells: dict[int, Cell]  # local hour start -> cell
    summary: SessionSummary
    parts: SessionParts


def fold_session(session_id: str, events: Iterable[EventFacts], zone: Zone, rules: LeadRules) -> SessionFold:
    """`events` must be the session's stored events (at least one), in any order."""
    ordered = sorted(events, key=lambda e: e.order)
    values = session_values(ordered)
    cells: dict[int, Cell] = {}
    for event in ordered:
        hour = zone.hour_start(event.ts)
        cell = cells.get(hour)
        if cell is None:
            cell = cells[hour] = Cell(hour, session_id, event.ghost_vid, n=len(ordered))
            # The rows in the order the first event counts them, as a per-event count made them (a stored
            # cell is compared byte for byte with its recomputation).
            cell.rows.update((name, {}) for name in _counted_by(event.type))
        _count(cell, event, values, first=event is ordered[0])
    for cell in cells.values():
        # A session dimension counting every event has one value and the cell's own counts.
        for name in _SESSION_WIDE:
            cell.rows[name] = {values[name]: [int(cell.first), cell.pageviews, cell.events]}
    return SessionFold(cells, summarize(session_id, ordered), lead_parts(session_id, ordered, cells, rules))


# Per dimension, what `_count` needs of it (looked up once: it runs for every event of every fold).
_COUNTING = tuple(
    (d.name, d.scope == "session", d.counts, "event_name" if d.name == "event_name" else d.name, d.missing)
    for d in DIMENSIONS
)


_SESSION_WIDE = tuple(
    name for name, per_session, counted, _, _ in _COUNTING if per_session and counted == "all"
)
_PER_EVENT = tuple(entry for entry in _COUNTING if entry[0] not in _SESSION_WIDE)


@cache
def _counted_by(kind: str) -> tuple[str, ...]:
    return tuple(name for name, _, counted, _, _ in _COUNTING if counted in ("all", kind))


def _count(cell: Cell, event: EventFacts, values: dict[str, str], first: bool) -> None:
    """Counts the event in its cell, but under the session-wide dimensions (`fold_session` sets those)."""
    kind = event.type
    pageview = int(kind == "pageview")
    started = int(first)
    cell.events += 1
    cell.pageviews += pageview
    cell.first = cell.first or first
    rows = cell.rows
    for name, per_session, counted, attribute, missing in _PER_EVENT:
        if counted != "all" and counted != kind:
            continue
        value = values[name] if per_session else (getattr(event, attribute) or missing)
        per_value = rows.get(name)
        if per_value is None:
            per_value = rows[name] = {}
        row = per_value.get(value)
        if row is None:
            per_value[value] = [started, pageview, 1]
        else:
            row[0] += started
            row[1] += pageview
            row[2] += 1


def session_values(ordered: list[EventFacts]) -> dict[str, str]:
    """The value of every session dimension (PRODUCT §11), from the session's events in order."""
    first = ordered[0]
    pages = [e.page for e in ordered if e.type == "pageview"]
    first_utm = dict(first.utm)
    referrer = referrer_host(first.referrer)
    tagged = next((dict(e.utm)["utm_source"] for e in ordered if "utm_source" in dict(e.utm)), None)
    found: dict[str, str | None] = {
        "entry_page": pages[0] if pages else None,
        "exit_page": pages[-1] if pages else None,
        "source": tagged or referrer,
        "referrer": referrer,
        **{name: first_utm.get(name) for name in _UTM_DIMENSIONS},
    }
    return {d.name: found[d.name] or d.missing for d in DIMENSIONS if d.scope == "session"}


_UTM_DIMENSIONS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def referrer_host(referrer: str | None) -> str | None:
    """The referrer's host without a leading `www.` or `m.` (None when there is no usable host)."""
    if not referrer:
        return None
    host = (urlsplit(referrer).hostname or "").lower()
    for prefix in ("www.", "m."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    return host or None


def summarize(session_id: str, ordered: list[EventFacts]) -> SessionSummary:
    first, last = ordered[0], ordered[-1]
    pages = [e.page for e in ordered if e.type == "pageview"]
    return SessionSummary(
        session_id=session_id,
        ghost_vid=first.ghost_vid,
        started_at=first.ts,
        ended_at=last.ts,
        event_count=len(ordered),
        pageview_count=len(pages),
        entry_page=pages[0] if pages else None,
        exit_page=pages[-1] if pages else None,
        referrer=first.referrer,
        country=first.country,
        city=first.city,
        device_type=first.device_type,
        browser=first.browser,
        os=first.os,
    )


def lead_parts(
    session_id: str, ordered: list[EventFacts], cells: dict[int, Cell], rules: LeadRules
) -> SessionParts:
    scoring: list[ScoringEvent] = []
    identity: tuple[int, str, str] | None = None
    user_ids: dict[str, tuple[int, str]] = {}
    high_intent = custom = 0
    for event in ordered:
        if event.type == "pageview" and rules.is_high_intent(event.page):
            high_intent += 1
            scoring.append(ScoringEvent(event.ts, event.event_id, "hi"))
        elif event.type == "custom_event":
            custom += 1
            scoring.append(ScoringEvent(event.ts, event.event_id, "cu"))
        if event.user_id:
            if identity is None:
                scoring.append(ScoringEvent(event.ts, event.event_id, "id"))
            identity = (event.ts, event.event_id, event.user_id)
            user_ids[event.user_id] = event.order
    last = ordered[-1]
    viewed = [e.page for e in reversed(ordered) if e.type == "pageview"]
    return SessionParts(
        session_id=session_id,
        n=len(ordered),
        start=ordered[0].ts,
        end=last.ts,
        end_event=last.event_id,
        pageviews=sum(e.type == "pageview" for e in ordered),
        events=len(ordered),
        high_intent=high_intent,
        custom=custom,
        hours=sorted(cells),
        scoring=scoring[: scoring_kept(rules)],
        identity=identity,
        identified_at=min((e.ts for e in ordered if e.user_id), default=None),
        user_ids=user_ids,
        countries={e.country: e.order for e in ordered if e.country},
        devices={e.device_type: e.order for e in ordered if e.device_type},
        last_country=last.country,
        last_pages=list(dict.fromkeys(viewed))[:LAST_PAGES],
    )


def scoring_kept(rules: LeadRules) -> int:
    """How many of a session's earliest scoring events can matter for `hot_since`: a visitor reaches the
    threshold after at most this many (with the smallest positive weight), plus its first identify."""
    weights = [w for w in (rules.pageview_weight, rules.custom_event_weight) if w > 0]
    steps = -(-rules.threshold // min(weights)) if weights else 0
    return steps + 1


def first_cell_hour(fold: SessionFold) -> int:
    return min(hour for hour, cell in fold.cells.items() if cell.first)


__all__ = ["DIRECT", "SessionFold", "fold_session"]
