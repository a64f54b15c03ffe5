"""Sealing: building the nodes of complete periods, rebuilding the ones late events made dirty, and (for big
sites) the prefixes that keep preset ranges cheap. Run by the consumer after a batch when an hour or a day
has turned or something is dirty; idempotent, so two consumers sealing at once only repeat work.

A small site keeps day nodes only (reading its cells is cheap). A big one (a day past BIG_DAY_EVENTS
events) also keeps hour, ISO week and month nodes, from the day it became big (`since`), and the prefixes.

Protocol (see `ghostid.dal.state`): claim the span to seal, so that batches from then on mark their
changes there dirty; read cells and child nodes; write nodes; record the work (`settle`), removing only the
dirty marks nobody marked again meanwhile. A crash anywhere leaves `until` and the marks as they were, and
the next run repeats the work.

A late change to a big site's sealed day (sessions going on past midnight change its last hour, batch
after batch for up to half an hour) rebuilds the hour at once but the day (and its week, month) only at
the next hour turn: until then the day is marked dirty and readers read its 24 hour nodes, so the day's
node is rebuilt about once a day instead of once per batch.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from ghostid.dal import cells as cells_dal
from ghostid.dal import state as state_dal
from ghostid.dal import tree as tree_dal
from ghostid.dal.tree import NodeRef
from ghostid.logic import tree as tree_logic
from ghostid.logic.aggregate import aggregate_cells, latest_cells, merge_all
from ghostid.logic.periods import Preset, preset
from ghostid.models.dimensions import FAMILIES, OVERVIEW
from ghostid.models.rollups import Aggregate
from ghostid.timeutil import HOUR_MS, Zone, add_months_first, day_key, hour_key, month_key, week_key

BIG_DAY_EVENTS = (
    10_000  # a site whose busiest day of the last week has this many keeps hour nodes and prefixes
)
BIG_DAYS_LOOKED_AT = 7
MAX_HOURS_PER_RUN = 48
MAX_DAYS_PER_RUN = 31
MAX_DIRTY_PER_RUN = 16
HOUR_PREFIXES: tuple[Preset, ...] = ("24h", "today")
DAY_PREFIXES: tuple[Preset, ...] = ("7d", "30d", "month", "12mo")


@dataclass
class SealReport:
    written: list[str] = field(default_factory=list)
    settled: bool = False


def needs_sealing(state: state_dal.SiteState, zone: Zone, now_ms: int) -> bool:
    return turn_due(state, zone, now_ms) or bool(_due_marks(state, zone, turning=False))


def turn_due(state: state_dal.SiteState, zone: Zone, now_ms: int) -> bool:
    """A new hour (big sites) or day has begun since the last sealing."""
    return state.until is not None and state.until < _frontier(state, zone, now_ms)


def _due_marks(state: state_dal.SiteState, zone: Zone, turning: bool) -> dict[str, int]:
    """The dirty marks to rebuild now: all of them at a turn, else all but the days left to it."""
    if turning:
        return state.dirty
    return {period: gen for period, gen in state.dirty.items() if not _left_to_turn(state, zone, period)}


def _left_to_turn(state: state_dal.SiteState, zone: Zone, period: str) -> bool:
    """A day built from hour nodes waits for the next turn (its hours are read meanwhile)."""
    kind, value = period.split(":", 1)
    return kind == "D" and state.has_fine_nodes(zone.day_start(date.fromisoformat(value)))


def _frontier(state: state_dal.SiteState, zone: Zone, now_ms: int) -> int:
    """Everything before this instant is complete: the current hour's start (big sites) or today's."""
    return zone.hour_start(now_ms) if state.big else zone.day_start(zone.date_of(now_ms))


def seal(site_id: int, zone: Zone, now_ms: int) -> SealReport:
    report = SealReport()
    state = state_dal.get_state(site_id)
    if state.until is None:
        return report
    target = _target(state, zone, now_ms)
    if target > state.until and not state_dal.claim(site_id, state, target):
        return report  # another consumer is sealing this span
    tree = tree_logic.Tree(site_id, zone, state, now_ms)
    first_day, end_day = zone.date_of(state.until), zone.date_of(target)
    if state.big:
        for hour in range(state.until, target, HOUR_MS):
            _write_hour(tree, hour, report)
    days = _complete_days(zone, first_day, end_day, target)
    turning = target > state.until
    marks = dict(sorted(_due_marks(state, zone, turning).items())[:MAX_DIRTY_PER_RUN])
    late_days = _rebuild_marks(tree, marks, target, report)
    waiting = set() if turning else {d for d in late_days if tree.has_fine_nodes(zone.day_start(d))}
    # A token, not the generation: a turn run that read an earlier wait of the same day must not remove
    # this one (its settle compares the value it read).
    waits = {f"D:{day.isoformat()}": secrets.randbits(62) for day in waiting}
    days |= late_days - waiting
    for day in sorted(days):
        _write_day(tree, day, report)
    for parent in sorted({p for day in days for p in _parents(tree, day, target)}, key=lambda r: r.period):
        _write_parent(tree, parent, report)
    big, since = state.big, state.since
    if end_day > first_day:
        big = _busiest_day(tree, end_day) >= BIG_DAY_EVENTS
        if big and not state.big:
            since = target
    if state.big:
        dirty = {k: v for k, v in state.dirty.items() if k not in marks} | waits
        sealed = replace(state, until=target, claim=None, dirty=dirty)
        done = tree_logic.Tree(site_id, zone, sealed, now_ms)
        # A prefix holds complete periods but the last one (`tree_logic.plan`): it is rebuilt when the
        # periods moved on, or when a late change reached a period inside it.
        last_hour = zone.hour_start(now_ms) - HOUR_MS
        if target > state.until or any(h < last_hour for h in _marked_hours(marks)):
            _build_prefixes(done, HOUR_PREFIXES, report)
        if end_day > first_day or any(d < done.today - timedelta(days=1) for d in days):
            _build_prefixes(done, DAY_PREFIXES, report)
    report.settled = state_dal.settle(site_id, target, marks, big, since, marked=waits)
    return report


def _target(state: state_dal.SiteState, zone: Zone, now_ms: int) -> int:
    assert state.until is not None
    frontier = _frontier(state, zone, now_ms)
    if state.big:
        return max(state.until, min(frontier, state.until + MAX_HOURS_PER_RUN * HOUR_MS))
    last = zone.date_of(state.until) + timedelta(days=MAX_DAYS_PER_RUN)
    return max(state.until, min(frontier, zone.day_start(last)))


def _complete_days(zone: Zone, first: date, end: date, target: int) -> set[date]:
    """Days in `[first, end]` that `target` completes."""
    days = set()
    day = first
    while day <= end:
        if zone.day_end(day) <= target:
            days.add(day)
        day += timedelta(days=1)
    return days


# --- writing nodes ------------------------------------------------------------------------------------


def _write_hour(tree: tree_logic.Tree, hour: int, report: SealReport) -> None:
    aggregate = aggregate_cells(latest_cells(cells_dal.hour_cells(tree.site_id, tree.zone, hour)))
    _put(tree, NodeRef("H", hour_key(hour)), aggregate, report)


def _write_day(tree: tree_logic.Tree, day: date, report: SealReport) -> None:
    """A day node: from its hour nodes on a big site (since it became big), else from its cells."""
    ref = NodeRef("D", day_key(day))
    if tree.has_fine_nodes(tree.zone.day_start(day)):
        hours = [
            NodeRef("H", hour_key(h))
            for h in range(tree.zone.day_start(day), tree.zone.day_end(day), HOUR_MS)
        ]
        _merge_into(tree, ref, hours, report)
    else:
        cells = cells_dal.day_cells(tree.site_id, day_key(day), consistent=True)
        _put(tree, ref, aggregate_cells(latest_cells(cells)), report)


def _parents(tree: tree_logic.Tree, day: date, target: int) -> list[NodeRef]:
    """The complete ISO week and month holding `day` (big sites, since they became big)."""
    found = []
    monday = day - timedelta(days=day.weekday())
    if (
        tree.has_fine_nodes(tree.zone.day_start(monday))
        and tree.zone.day_end(monday + timedelta(days=6)) <= target
    ):
        found.append(NodeRef("W", week_key(day)))
    first = day.replace(day=1)
    last = add_months_first(day, 1) - timedelta(days=1)
    if tree.has_fine_nodes(tree.zone.day_start(first)) and tree.zone.day_end(last) <= target:
        found.append(NodeRef("M", month_key(day)))
    return found


def _write_parent(tree: tree_logic.Tree, ref: NodeRef, report: SealReport) -> None:
    if ref.level == "W":
        year, number = ref.period.split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
        days = [monday + timedelta(days=i) for i in range(7)]
    else:
        first = date.fromisoformat(ref.period + "-01")
        days = [first + timedelta(days=i) for i in range((add_months_first(first, 1) - first).days)]
    _merge_into(tree, ref, [NodeRef("D", day_key(d)) for d in days], report)


def _merge_into(tree: tree_logic.Tree, target: NodeRef, children: list[NodeRef], report: SealReport) -> None:
    read = tree_dal.read_tree(tree.site_id, [(child, FAMILIES) for child in children], consistent=True)
    _put(tree, target, merge_all((node.aggregate for node in read.nodes.values()), borrow=True), report)


def _put(
    tree: tree_logic.Tree, ref: NodeRef, aggregate: Aggregate, report: SealReport, anchor: str = ""
) -> None:
    if not tree_dal.has_data(aggregate) and ref.level != "P":
        return  # an empty period has no node (events are never removed, so none was written before)
    items = tree_dal.node_items(tree.site_id, ref, aggregate, FAMILIES, anchor=anchor, gen=tree.state.gen)
    tree_dal.put_nodes(items)
    report.written.append(f"{ref.level}:{ref.period}")


def _busiest_day(tree: tree_logic.Tree, end: date) -> int:
    """Events of the busiest of the days before `end` (a quiet day does not turn a big site small)."""
    refs = [NodeRef("D", day_key(end - timedelta(days=i))) for i in range(1, BIG_DAYS_LOOKED_AT + 1)]
    nodes = tree_dal.read_tree(tree.site_id, [(ref, (OVERVIEW,)) for ref in refs], consistent=True).nodes
    return max((node.aggregate.events for node in nodes.values()), default=0)


# --- dirty periods ------------------------------------------------------------------------------------


def _rebuild_marks(
    tree: tree_logic.Tree, marks: dict[str, int], target: int, report: SealReport
) -> set[date]:
    """Rebuilds the hour nodes of dirty hours; returns the sealed days whose nodes must follow."""
    days: set[date] = set()
    for period in marks:
        kind, value = period.split(":", 1)
        if kind == "H":
            if tree.has_fine_nodes(int(value)):
                _write_hour(tree, int(value), report)
            day = tree.zone.date_of(int(value))
        else:
            day = date.fromisoformat(value)
        if tree.zone.day_end(day) <= target:
            days.add(day)
    return days


def _marked_hours(marks: dict[str, int]) -> list[int]:
    return [int(period[2:]) for period in marks if period.startswith("H:")]


# --- prefixes -----------------------------------------------------------------------------------------


def _build_prefixes(tree: tree_logic.Tree, kinds: tuple[Preset, ...], report: SealReport) -> None:
    for kind in kinds:
        spans = tree_logic.plan(tree, preset(kind, tree.zone, tree.now))
        prefix = next((s for s in spans if s.ref == NodeRef("P", kind)), None)  # not today's, inside it
        if prefix is None or prefix.ref is None:
            continue
        loaded = tree_logic.load_spans(tree, list(prefix.fallback), FAMILIES)
        _put(tree, prefix.ref, loaded, report, anchor=prefix.anchor)
