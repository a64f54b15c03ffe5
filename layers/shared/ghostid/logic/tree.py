"""Reading any period from the time tree: plan which stored pieces cover it, fetch them in as few requests as
possible, and fold them. Every read route and the sealer use it.

A period is covered by, in order of preference:
- a prefix node (big sites, presets): the complete part of `24h`, today, `7d`, `30d`, `month`, `12mo`
  but its last complete hour or day, which is read as its own node (late changes land there);
- sealed month, ISO week and day nodes, the largest that fit (only periods that are fully inside the
  range, fully before `until`, and not dirty);
- hour nodes (big sites), including the current hour's, which the consumer keeps current;
- session cells, for what is not sealed yet (today on a small site; a dirty hour or day).
Identified visitors and hot leads come from presence items of the same months, weeks, days or hours
(presence is a union, so pieces may overlap there).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

from ghostid.dal import cells as cells_dal
from ghostid.dal import state as state_dal
from ghostid.dal import tree as tree_dal
from ghostid.dal.tree import Level, NodeRef
from ghostid.logic.aggregate import add_cell, latest_cells
from ghostid.logic.periods import Period
from ghostid.models.rollups import Aggregate, Cell, Presence
from ghostid.timeutil import (
    HOUR_MS,
    Zone,
    add_months_first,
    day_key,
    hour_key,
    month_key,
    month_start,
    week_key,
    week_start,
)

PREFIXED = ("24h", "today", "7d", "30d", "month", "12mo")


@dataclass(frozen=True)
class Span:
    """One piece of a period: a stored node, or the cells of one local day between two instants. A prefix
    or the current hour's node may be missing or built for another span: `fallback` covers the same time."""

    ref: NodeRef | None = None
    day: date | None = None
    start: int = 0
    end: int = 0
    anchor: str = ""  # prefixes: the span they must have been built for
    fallback: tuple[Span, ...] = ()


@dataclass
class Loaded:
    aggregate: Aggregate = field(default_factory=Aggregate)
    presence: Presence = field(default_factory=Presence)


@dataclass(frozen=True)
class Tree:
    """What the planner knows of a site's stored tree."""

    site_id: int
    zone: Zone
    state: state_dal.SiteState
    now: int

    @property
    def today(self) -> date:
        return self.zone.date_of(self.now)

    @property
    def current_hour(self) -> int:
        return self.zone.hour_start(self.now)

    @property
    def until(self) -> int:
        return self.state.until if self.state.until is not None else 0

    def dirty_days(self) -> set[date]:
        found = set()
        for period in self.state.dirty:
            kind, value = period.split(":", 1)
            found.add(date.fromisoformat(value) if kind == "D" else self.zone.date_of(int(value)))
        return found

    def dirty_hours(self) -> set[int]:
        return {int(p[2:]) for p in self.state.dirty if p.startswith("H:")}

    def day_sealed(self, day: date) -> bool:
        return self.zone.day_end(day) <= self.until and day not in self.dirty_days()

    def hour_sealed(self, hour: int) -> bool:
        return self.has_fine_nodes(hour) and hour + HOUR_MS <= self.until and hour not in self.dirty_hours()

    def has_fine_nodes(self, start: int) -> bool:
        return self.state.has_fine_nodes(start)


# --- planning -----------------------------------------------------------------------------------------


def plan(tree: Tree, period: Period) -> list[Span]:
    if period.hourly:
        return _hours(tree, period.start, period.end, prefix="24h" if period.name == "24h" else None)
    assert period.first_day is not None and period.last_day is not None
    last = min(period.last_day, tree.today)
    if period.first_day > last:
        return []
    spans: list[Span] = []
    complete_last = min(last, tree.today - timedelta(days=1))
    if period.first_day <= complete_last:
        # A big site's prefixes are built from whatever sealed nodes its days have (month, week, day), so a
        # 12-month range is one read even when the site became big last week. The last complete day stays
        # out of the prefix (its own node, in the same request): sessions going on past midnight change it
        # for a while, and each such change then rebuilds one day node, not every prefix.
        head_last = complete_last - timedelta(days=1)
        prefixed = tree.state.big and period.name in PREFIXED and period.name != "today"
        if prefixed and period.first_day <= head_last and _all_sealed(tree, period.first_day, head_last):
            anchor = f"{period.first_day}..{head_last}"
            head = tuple(_days(tree, period.first_day, head_last))
            spans.append(Span(NodeRef("P", period.name), anchor=anchor, fallback=head))
            spans += _days(tree, complete_last, complete_last)
        else:
            spans += _days(tree, period.first_day, complete_last)
    if last == tree.today:
        spans += _today(tree)
    return spans


def _days(tree: Tree, first: date, last: date) -> list[Span]:
    """Complete local days: sealed month, week and day nodes where possible."""
    spans: list[Span] = []
    day = first
    while day <= last:
        ref, following = _largest_node(tree, day, last)
        if ref is not None:
            spans.append(Span(ref))
            day = following
            continue
        spans += _one_day(tree, day)
        day += timedelta(days=1)
    return spans


def _largest_node(tree: Tree, day: date, last: date) -> tuple[NodeRef | None, date]:
    fine = tree.has_fine_nodes(tree.zone.day_start(day))
    month_end = add_months_first(day, 1) - timedelta(days=1)
    if fine and day.day == 1 and month_end <= last and _all_sealed(tree, day, month_end):
        return NodeRef("M", month_key(day)), month_end + timedelta(days=1)
    week_end = day + timedelta(days=6)
    if fine and day.weekday() == 0 and week_end <= last and _all_sealed(tree, day, week_end):
        return NodeRef("W", week_key(day)), week_end + timedelta(days=1)
    if tree.day_sealed(day):
        return NodeRef("D", day_key(day)), day + timedelta(days=1)
    return None, day


def _all_sealed(tree: Tree, first: date, last: date) -> bool:
    return tree.zone.day_end(last) <= tree.until and not any(first <= d <= last for d in tree.dirty_days())


def _one_day(tree: Tree, day: date) -> list[Span]:
    start, end = tree.zone.day_start(day), tree.zone.day_end(day)
    if tree.has_fine_nodes(start):
        return _hours(tree, start, end, prefix=None)
    return [Span(day=day, start=start, end=end)]


def _today(tree: Tree) -> list[Span]:
    start = tree.zone.day_start(tree.today)
    if not tree.has_fine_nodes(start):
        return [Span(day=tree.today, start=start, end=tree.zone.day_end(tree.today))]
    return _hours(tree, start, tree.current_hour + HOUR_MS, prefix="today")


def _hours(tree: Tree, start: int, end: int, prefix: str | None) -> list[Span]:
    """Local hours `[start, end)`: the complete ones from a prefix or hour nodes, the rest from cells; the
    current hour from its node, which the consumer keeps current on a big site."""
    if not tree.has_fine_nodes(start):
        return _cells_between(tree, start, end)
    spans: list[Span] = []
    complete_end = min(end, tree.current_hour)
    head_end = complete_end - HOUR_MS  # the last complete hour stays out of the prefix, as the last day does
    if prefix and head_end > start and all(tree.hour_sealed(h) for h in range(start, head_end, HOUR_MS)):
        head = tuple(span for h in range(start, head_end, HOUR_MS) for span in _hour(tree, h))
        spans.append(Span(NodeRef("P", prefix), anchor=f"{start}..{head_end}", fallback=head))
        spans += _hour(tree, head_end)
    else:
        spans += [span for h in range(start, complete_end, HOUR_MS) for span in _hour(tree, h)]
    if start <= tree.current_hour < end:
        hour = tree.current_hour
        cells = tuple(_cells_between(tree, hour, hour + HOUR_MS))
        spans.append(Span(NodeRef("H", hour_key(hour)), fallback=cells))
    return spans


def _hour(tree: Tree, hour: int) -> list[Span]:
    if tree.hour_sealed(hour):
        return [Span(NodeRef("H", hour_key(hour)))]
    return _cells_between(tree, hour, hour + HOUR_MS)


def _cells_between(tree: Tree, start: int, end: int) -> list[Span]:
    """Cells of `[start, end)`, one span per local day partition it touches."""
    spans = []
    moment = start
    while moment < end:
        day = tree.zone.date_of(moment)
        day_end = tree.zone.day_end(day)
        spans.append(Span(day=day, start=moment, end=min(end, day_end)))
        moment = day_end
    return spans


def presence_keys(tree: Tree, period: Period) -> list[tuple[Level, str]]:
    """The presence items whose union is exactly the period's identified visitors and hot leads."""
    if period.hourly:
        return [
            ("H", hour_key(h))
            for h in range(period.start, min(period.end, tree.current_hour + HOUR_MS), HOUR_MS)
        ]
    assert period.first_day is not None and period.last_day is not None
    last = min(period.last_day, tree.today)
    keys: list[tuple[Level, str]] = []
    day = period.first_day
    while day <= last:
        month_end = add_months_first(day, 1) - timedelta(days=1)
        week_end = day + timedelta(days=6)
        if day.day == 1 and month_end <= last:
            keys.append(("M", month_key(day)))
            day = month_end + timedelta(days=1)
        elif day.weekday() == 0 and week_end <= last:
            keys.append(("W", week_key(day)))
            day = week_end + timedelta(days=1)
        else:
            keys.append(("D", day_key(day)))
            day += timedelta(days=1)
    return keys


# --- loading ------------------------------------------------------------------------------------------


def load(tree: Tree, periods: Sequence[Period], families: Sequence[str]) -> list[Loaded]:
    """Each period's aggregate (only `families`) and presence. The first request fetches every planned
    node and presence item at once; only fallbacks of missing or stale nodes need another."""
    plans = [plan(tree, period) for period in periods]
    presence_wanted = [presence_keys(tree, period) for period in periods]
    started = _start_cells(tree, [span for spans in plans for span in spans if span.day is not None])
    try:
        with acyclic_allocations():
            return _load_planned(tree, plans, presence_wanted, families, started)
    finally:
        wait(list(started.values()))  # none outlives the call, not even when a read failed


@contextmanager
def acyclic_allocations() -> Iterator[None]:
    """Decoding and merging a big site's nodes builds hundreds of thousands of rows, none in a reference
    cycle (reference counting frees them): the cycle collector, run every few hundred allocations, would
    only walk them again and again as they pile up (a tenth of a 30-day custom range's time at 200,000
    events). Collections resume after, as they were."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_planned(
    tree: Tree,
    plans: list[list[Span]],
    presence_wanted: list[list[tuple[Level, str]]],
    families: Sequence[str],
    started: dict[CellJob, Future[list[Cell]]],
) -> list[Loaded]:
    known: dict[NodeRef, tree_dal.StoredNode] = {}
    fetched: set[NodeRef] = set()
    presence: dict[tuple[Level, str], Presence] = {}
    for round_number in range(4):
        refs = list(
            dict.fromkeys(
                s.ref for spans in plans for s in spans if s.ref is not None and s.ref not in fetched
            )
        )
        keys = [key for keys in presence_wanted for key in keys] if round_number == 0 else []
        if not refs and not keys:
            break
        read = tree_dal.read_tree(tree.site_id, [(ref, families) for ref in refs], keys)
        known.update(read.nodes)
        presence.update(read.presence)
        fetched.update(refs)
        plans = [_resolve(spans, known, families, fetched) for spans in plans]
    cells = _fetch_cells(tree, [span for spans in plans for span in spans if span.day is not None], started)
    results = []
    for spans, keys in zip(plans, presence_wanted, strict=True):
        loaded = Loaded()
        for span in spans:
            _add_span(loaded.aggregate, span, known, cells)
        for key in keys:
            loaded.presence.identified.merge(presence[key].identified)
            loaded.presence.hot.merge(presence[key].hot)
        results.append(loaded)
    return results


def load_spans(tree: Tree, spans: list[Span], families: Sequence[str]) -> Aggregate:
    """The aggregate of given spans (the sealer builds prefixes from what they stand for)."""
    known: dict[NodeRef, tree_dal.StoredNode] = {}
    fetched: set[NodeRef] = set()
    for _ in range(4):
        refs = list(dict.fromkeys(s.ref for s in spans if s.ref is not None and s.ref not in fetched))
        if not refs:
            break
        known.update(
            tree_dal.read_tree(tree.site_id, [(ref, families) for ref in refs], consistent=True).nodes
        )
        fetched.update(refs)
        spans = _resolve(spans, known, families, fetched)
    cells = _fetch_cells(tree, [span for span in spans if span.day is not None])
    total = Aggregate()
    for span in spans:
        _add_span(total, span, known, cells)
    return total


def _resolve(
    spans: Sequence[Span],
    nodes: dict[NodeRef, tree_dal.StoredNode],
    families: Sequence[str],
    fetched: set[NodeRef],
) -> list[Span]:
    """Replaces fetched node spans that cannot serve (missing, lacking a family, a prefix built for another
    span) by their fallback. A sealed month, week, day or hour node without a fallback that is missing had
    no data (the sealer writes none for empty periods)."""
    result: list[Span] = []
    for span in spans:
        if span.ref is None or span.ref not in fetched:
            result.append(span)
            continue
        stored = nodes.get(span.ref)
        usable = stored is not None and set(families) <= stored.families and stored.anchor == span.anchor
        if usable or (stored is None and not span.fallback):
            result.append(span)
        elif span.fallback:
            result += _resolve(span.fallback, nodes, families, fetched)
    return result


CellJob = tuple[date, int | None]  # a local day's whole partition (None), or one hour of it
_cells_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cells")


def _cell_jobs(tree: Tree, spans: Sequence[Span]) -> list[CellJob]:
    """The Queries the spans need: a whole local day in one Query of its partition, a few hours of a day
    (the current hour of a big site) in two Queries each, so a busy day is never read for one hour."""
    whole: set[date] = set()
    hours: dict[date, set[int]] = defaultdict(set)
    for span in spans:
        assert span.day is not None
        if span.start <= tree.zone.day_start(span.day) and span.end >= tree.zone.day_end(span.day):
            whole.add(span.day)
        else:
            hours[span.day] |= set(range(tree.zone.hour_start(span.start), span.end, HOUR_MS))
    jobs: list[CellJob] = [(day, None) for day in sorted(whole)]
    jobs += [
        (day, hour) for day, found in sorted(hours.items()) if day not in whole for hour in sorted(found)
    ]
    return jobs


def _query_cells(tree: Tree, job: CellJob) -> list[Cell]:
    day, hour = job
    if hour is None:
        return cells_dal.day_cells(tree.site_id, day_key(day))
    return cells_dal.hour_cells(tree.site_id, tree.zone, hour, consistent=False)


def _start_cells(tree: Tree, spans: Sequence[Span]) -> dict[CellJob, Future[list[Cell]]]:
    """Starts the Queries of cells the plan needs before its nodes are read (they overlap that request)."""
    return {job: _cells_pool.submit(_query_cells, tree, job) for job in _cell_jobs(tree, spans)}


def _fetch_cells(
    tree: Tree, spans: Sequence[Span], started: dict[CellJob, Future[list[Cell]]] | None = None
) -> dict[date, list[Cell]]:
    """The cells the spans need, by local day (Queries `started` earlier are used, not repeated)."""
    started = started or {}
    jobs = _cell_jobs(tree, spans)
    futures = [started.get(job) or _cells_pool.submit(_query_cells, tree, job) for job in jobs]
    try:
        found = [future.result() for future in futures]
    finally:
        wait(futures)
    cells: dict[date, list[Cell]] = defaultdict(list)
    for (day, _), day_found in zip(jobs, found, strict=True):
        cells[day] += day_found
    return {day: latest_cells(found_cells) for day, found_cells in cells.items()}


def _add_span(
    total: Aggregate, span: Span, nodes: dict[NodeRef, tree_dal.StoredNode], cells: dict[date, list[Cell]]
) -> None:
    if span.ref is not None:
        stored = nodes.get(span.ref)
        if stored is not None:
            total.merge(stored.aggregate, borrow=True)  # nodes read for this call: nothing adds to them
        return
    assert span.day is not None
    for cell in cells.get(span.day, []):
        if span.start <= cell.hour < span.end:
            add_cell(total, cell)


def cells_by_hour(cells: Iterable[Cell]) -> dict[int, list[Cell]]:
    found: dict[int, list[Cell]] = defaultdict(list)
    for cell in cells:
        found[cell.hour].append(cell)
    return found


def month_of(day: date) -> date:
    return month_start(day)


def week_of(day: date) -> date:
    return week_start(day)
