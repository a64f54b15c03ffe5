"""Keeps a site's rollups current for the sessions a stream batch touched: exactly-once in effect.

A stream record only says "this session changed". For each such session the consumer:
1. recomputes the session from its stored events (cells per local hour, summary, lead parts) and writes
   its cells; a cell is only ever replaced by one computed from at least as many events, so a replay,
   a duplicate or a slower concurrent consumer changes nothing;
2. per visitor: registers new sessions, then reads every session's parts (after its own writes, so of two
   consumers folding sessions of one visitor the later one sees both), derives score, status and identity,
   keeps the lead lists' row, reaches back (adds the visitor to the identified / hot-lead presence of every
   period it was active in: set unions, idempotent) and hands first-time transitions to the alerts;
3. moves the site's generation (stored answers are then behind), marks dirty what it changed in periods
   already sealed, keeps the current hour's node (big sites) and the realtime item, and seals what turned.
Nothing is incremented, so nothing can be counted twice; a crash anywhere is repaired by the retry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from ghostid.dal import cells as cells_dal
from ghostid.dal import events as events_dal
from ghostid.dal import realtime as live_dal
from ghostid.dal import state as state_dal
from ghostid.dal import tree as tree_dal
from ghostid.dal import visitors as visitors_dal
from ghostid.dal.tree import Level, NodeRef
from ghostid.distinct import visitor_hash
from ghostid.logic import live, sealing
from ghostid.logic.aggregate import aggregate_cells, latest_cells
from ghostid.logic.cells import SessionFold, fold_session
from ghostid.logic.visitors import VisitorView, active_periods, lead_row, view
from ghostid.models.alerts import Transition
from ghostid.models.dimensions import STATS_FAMILIES
from ghostid.models.rollups import EventFacts, Presence, SessionParts
from ghostid.models.sites import LeadRules, Site
from ghostid.settings import fold_concurrency
from ghostid.timeutil import Zone, hour_key

T = TypeVar("T")
R = TypeVar("R")
MAX_ROUNDS = 10
_pool = ThreadPoolExecutor(max_workers=fold_concurrency(), thread_name_prefix="fold")


def _each(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """DynamoDB calls of one batch are independent: overlap their latency (I/O-bound)."""
    listed = list(items)
    if fold_concurrency() <= 1 or len(listed) <= 1:  # moto's in-memory DynamoDB is not thread-safe
        return [fn(item) for item in listed]
    return list(_pool.map(fn, listed))


@dataclass
class FoldReport:
    sessions: int = 0
    visitors: int = 0
    cells_written: int = 0
    presence_writes: int = 0
    transitions: int = 0
    late_periods: int = 0
    sealed: list[str] = field(default_factory=list)


@dataclass
class VisitorOutcome:
    view: VisitorView
    identified_periods: set[str]
    hot_periods: set[str]
    transitions: list[Transition]


def fold_batch(
    site_id: int, session_ids: Iterable[str], arrived: list[tuple[str, EventFacts]], now_ms: int
) -> FoldReport:
    """Folds the sessions a batch touched; `arrived` are the batch's own (session id, event) records."""
    site = site_config(site_id, now_ms)
    state = state_dal.get_state(site_id, consistent=False)  # its zone and size; `advance` reads it exactly
    zone = Zone(state.timezone or site.timezone)
    rules = site.lead_rules
    report = FoldReport()
    ordered = sorted(set(session_ids))
    folds = [f for f in _each(lambda sid: _fold(site_id, sid, zone, rules), ordered) if f is not None]
    report.sessions = len(folds)
    changed_hours = {
        hour for hours in _each(lambda f: _write_cells(site_id, zone, f), folds) for hour in hours
    }
    report.cells_written = len(changed_hours)
    by_visitor: dict[str, list[SessionFold]] = defaultdict(list)
    for fold in folds:
        by_visitor[fold.summary.ghost_vid].append(fold)
    outcomes = _each(lambda item: settle_visitor(site_id, item[0], item[1], zone, rules), by_visitor.items())
    report.visitors = len(outcomes)
    report.presence_writes = reach_back(site_id, outcomes)
    report.transitions = _hand_over(site_id, outcomes, now_ms)
    # Every hour the batch's sessions have cells in, changed or not: a retry after a crash between the
    # cell writes and the dirty marks must mark what the first attempt changed.
    touched = {hour for fold in folds for hour in fold.cells}
    state = state_dal.advance(site_id, zone.name)
    if state.until is None and touched:
        state_dal.start_at(site_id, zone.day_start(zone.date_of(min(touched))))
        state = state_dal.get_state(site_id)
    report.late_periods = _mark_late(site_id, zone, state, touched)
    if state.big:
        _keep_current_hour(site_id, zone, state, touched, now_ms)
    _keep_live(site_id, arrived, now_ms)
    if report.late_periods or sealing.needs_sealing(state, zone, now_ms):
        report.sealed = sealing.seal(site_id, zone, now_ms).written
    return report


def _fold(site_id: int, session_id: str, zone: Zone, rules: LeadRules) -> SessionFold | None:
    facts = events_dal.session_facts(site_id, session_id)
    return fold_session(session_id, facts, zone, rules) if facts else None


def _write_cells(site_id: int, zone: Zone, fold: SessionFold) -> set[int]:
    """Writes the session's cells; returns the hours whose counts changed."""
    changed = set()
    for cell in fold.cells.values():
        first = cell.first
        item = cells_dal.cell_item(
            site_id, zone, cell, fold.summary if first else None, fold.parts if first else None
        )
        if cells_dal.put_cell(item):
            changed.add(cell.hour)
    return changed


# --- visitors -----------------------------------------------------------------------------------------


def settle_visitor(
    site_id: int, visitor: str, folds: list[SessionFold], zone: Zone, rules: LeadRules
) -> VisitorOutcome:
    index = visitors_dal.get_index(site_id, visitor)
    fresh = _register(site_id, visitor, folds, index, zone)
    new = {sid for sid in fresh if sid not in index.sessions}
    if new:
        index = visitors_dal.get_index(site_id, visitor)  # after registering: see concurrent registrations
    others = {sid: start for sid, start in index.sessions.items() if sid not in fresh}
    parts: dict[str, SessionParts] = {
        sid: summary_parts[1] for sid, summary_parts in cells_dal.first_cells(site_id, zone, others).items()
    }
    parts.update(fresh)
    current = view(visitor, parts, rules)
    _keep_status(site_id, zone, visitor, current, index, {sid: fresh[sid] for sid in new}, parts)
    periods = active_periods(parts.values(), zone)
    head = index.head
    return VisitorOutcome(
        current,
        periods - head.noted_identified if current.identified else set(),
        periods - head.noted_hot if current.hot else set(),
        _transitions(site_id, current, head),
    )


def _register(
    site_id: int, visitor: str, folds: list[SessionFold], index: visitors_dal.VisitorIndex, zone: Zone
) -> dict[str, SessionParts]:
    """Registers new sessions (and moved starts); returns the parts of this batch's sessions that are at
    least as new as what is stored (a stale fold's session is read back from its stored first cell)."""
    fresh: dict[str, SessionParts] = {}
    starts: dict[str, int] = {}
    for fold in folds:
        session_id, start = fold.summary.session_id, fold.summary.started_at
        known = index.sessions.get(session_id)
        if known is not None and known < start:
            continue  # someone folded more events of this session (an earlier one): theirs stands
        fresh[session_id] = fold.parts
        if known != start:
            starts[session_id] = start
        if known is not None and known != start:
            cells_dal.delete_cell(cells_dal.first_cell_key(site_id, zone, session_id, known))
    if starts:
        visitors_dal.register_sessions(site_id, visitor, starts)
    return fresh


def _keep_status(
    site_id: int,
    zone: Zone,
    visitor: str,
    current: VisitorView,
    index: visitors_dal.VisitorIndex,
    new: dict[str, SessionParts],
    parts: dict[str, SessionParts],
) -> None:
    """The lead lists' row, and identity and status on the sessions' first cells (sessions list filters):
    on every session when they changed, else on new sessions only."""
    row = lead_row(current)
    listed = index.head.listed
    listing = visitors_dal.Listing(current.hot, current.identified)
    if (listing.head_list or listed) and row != listed:
        days = {note[2:] for note in active_periods(parts.values(), zone) if note.startswith("D:")}
        had_entry = listed is not None and bool(listed["hot"] and listed["identified_user_id"])
        visitors_dal.list_lead(
            site_id, visitor, row, listing, current.score, current.last_seen, days, had_entry
        )
    changed = listed is None or (listed["hot"], listed["identified_user_id"]) != (
        current.hot,
        current.identified_user_id,
    )
    if not (current.hot or current.identified):
        return
    sessions = parts if changed else new
    keys = [cells_dal.first_cell_key(site_id, zone, sid, p.start) for sid, p in sessions.items()]
    cells_dal.set_visitor_status(keys, current.identified_user_id, current.hot, current.identified)


def _transitions(site_id: int, current: VisitorView, head: visitors_dal.VisitorHead) -> list[Transition]:
    found = []
    if current.identified and "identified" not in head.transitions:
        first_id = min(p.identified_at for p in current.parts.values() if p.identified_at is not None)
        found.append(Transition(site_id, current.visitor, "visitor.identified", first_id, lead_row(current)))
    if current.hot and "hot" not in head.transitions and current.hot_since is not None:
        found.append(Transition(site_id, current.visitor, "lead.hot", current.hot_since, lead_row(current)))
    return found


def _hand_over(site_id: int, outcomes: list[VisitorOutcome], now_ms: int) -> int:
    """First-time transitions go to the alerts (which record each once), then are noted on the visitor."""
    from ghostid.logic import alerts

    transitions = [t for outcome in outcomes for t in outcome.transitions]
    if not transitions:
        return 0
    alerts.record_transitions(transitions, now_ms)
    kinds: dict[str, set[str]] = defaultdict(set)
    for transition in transitions:
        kinds[transition.ghost_vid].add("hot" if transition.type == "lead.hot" else "identified")
    _each(lambda item: visitors_dal.mark_transitions(site_id, item[0], item[1]), kinds.items())
    return len(transitions)


# --- reach-back ---------------------------------------------------------------------------------------


def reach_back(site_id: int, outcomes: list[VisitorOutcome]) -> int:
    """Adds identified visitors and hot leads to the presence of every period they were active in, then
    notes it on each visitor. Set unions: redoing them changes nothing."""
    adds: dict[tuple[Level, str], Presence] = defaultdict(Presence)
    for outcome in outcomes:
        hashed = visitor_hash(outcome.view.visitor)
        for note in outcome.identified_periods:
            adds[_presence_of(note)].identified.add(hashed)
        for note in outcome.hot_periods:
            adds[_presence_of(note)].hot.add(hashed)
    writes = _merge_presence(site_id, dict(adds)) if adds else 0
    noted = [o for o in outcomes if o.identified_periods or o.hot_periods]
    _each(
        lambda o: visitors_dal.add_notes(site_id, o.view.visitor, o.identified_periods, o.hot_periods), noted
    )
    return writes


def _presence_of(note: str) -> tuple[Level, str]:
    level, period = note.split(":", 1)
    return level, period  # type: ignore[return-value]


def _merge_presence(site_id: int, adds: dict[tuple[Level, str], Presence]) -> int:
    writes = 0
    pending = adds
    for _ in range(MAX_ROUNDS):
        stored = tree_dal.get_presence_versions(site_id, pending)
        jobs = [(key, stored[key], pending[key]) for key in pending]
        results = _each(lambda job: _merge_one(site_id, *job), jobs)
        writes += sum(1 for wrote, _ in results if wrote)
        pending = {key: pending[key] for key, (_, ok) in zip(list(pending), results, strict=True) if not ok}
        if not pending:
            return writes
    raise RuntimeError("presence writes kept conflicting; the batch will be retried")


def _merge_one(
    site_id: int, key: tuple[Level, str], stored: tuple[Presence, int], add: Presence
) -> tuple[bool, bool]:
    """(wrote, done): done False means another writer won and the merge must be redone."""
    presence, version = stored
    before = (presence.identified.to_bytes(), presence.hot.to_bytes())
    presence.identified.merge(add.identified)
    presence.hot.merge(add.hot)
    if (presence.identified.to_bytes(), presence.hot.to_bytes()) == before:
        return False, True
    return True, tree_dal.put_presence(site_id, key[0], key[1], presence, version)


# --- the site's state, current hour and realtime ------------------------------------------------------


def _mark_late(site_id: int, zone: Zone, state: state_dal.SiteState, touched: set[int]) -> int:
    """Periods changed before `settled_until` were sealed already (or are being): mark them dirty."""
    limit = state.settled_until
    if limit is None:
        return 0
    late = {h for h in touched if h < limit}
    periods = {f"H:{h}" if state.has_fine_nodes(h) else f"D:{zone.date_of(h).isoformat()}" for h in late}
    if periods:
        state_dal.mark_dirty(site_id, periods, state.gen)
    return len(periods)


def _keep_current_hour(
    site_id: int, zone: Zone, state: state_dal.SiteState, touched: set[int], now_ms: int
) -> None:
    """A big site's current hour node (the stats families), recomputed from its cells after this batch's
    writes and stored only if no batch with a later generation stored one already."""
    hour = zone.hour_start(now_ms)
    if hour not in touched:
        return
    aggregate = aggregate_cells(latest_cells(cells_dal.hour_cells(site_id, zone, hour)))
    items = tree_dal.node_items(
        site_id, NodeRef("H", hour_key(hour)), aggregate, STATS_FAMILIES, gen=state.gen
    )
    tree_dal.put_nodes_if_newer(items, state.gen)


def _keep_live(site_id: int, arrived: list[tuple[str, EventFacts]], now_ms: int) -> None:
    """The busy older minutes' items, then the route's (a retry after a crash between the two finds the
    events in their minute's item and only brings the counts up)."""
    for attempt in range(MAX_ROUNDS):
        current, version = live_dal.get_live(site_id, consistent=attempt > 0)  # the write is conditional
        stored = {m: live_dal.get_minute(site_id, m) for m in live.minutes_to_load(current, arrived, now_ms)}
        current.frozen |= {m: dict(minute.events) for m, minute in stored.items()}
        changed = live.add_events(current, arrived, now_ms)
        moved = set(current.busy()) - set(stored)  # froze busy, grew busy, or an item of layout 2 held it
        for minute in moved:
            stored[minute] = live_dal.get_minute(site_id, minute)
            current.frozen[minute] |= stored[minute].events
        changed = live.recount(current, moved) or changed or bool(moved)
        if _store_busy(site_id, current, stored) and (
            not changed or live_dal.put_live(site_id, current, version)
        ):
            return
    raise RuntimeError("the realtime items kept conflicting; the batch will be retried")


def _store_busy(site_id: int, current: live_dal.Live, stored: dict[int, live_dal.StoredMinute]) -> bool:
    """Writes the busy minutes' items that changed; False if another fold wrote one meanwhile. A minute
    whose slot already holds a later one (this fold's clock is behind) is left: it is out of the half
    hour for every fold that is not."""
    return all(
        live_dal.put_minute(site_id, minute, events, stored[minute].version)
        for minute, events in current.busy().items()
        if events != stored[minute].events and not stored[minute].expired
    )


# --- site configuration -------------------------------------------------------------------------------

_CONFIG_TTL_MS = 60_000
_config_cache: dict[int, tuple[int, Site]] = {}


def site_config(site_id: int, now_ms: int) -> Site:
    """A site's lead rules and zone, cached for a minute per warm Lambda container."""
    from ghostid.dal import sites as sites_dal

    cached = _config_cache.get(site_id)
    if cached and now_ms - cached[0] < _CONFIG_TTL_MS:
        return cached[1]
    site = sites_dal.get_site(site_id) or Site(site_id=site_id, domain="unknown.invalid")
    _config_cache[site_id] = (now_ms, site)
    return site


def clear_config_cache() -> None:
    _config_cache.clear()
