"""Bulk loading through the rebuild path with bounded memory: sessions in order of their start, folded by the
functions the consumer and the rebuild use, hour aggregates closed and written as the stream moves on.

Memory grows with the site's visitors (a few hundred bytes each, for score, identity and where they were
active) and with the days of the period, not with its events. Items no read needs may be left out: the
caller says which days keep their cells (the others' nodes are written; their cells are not).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ghostid.dal import cells as cells_dal
from ghostid.dal import state as state_dal
from ghostid.dal import tree as tree_dal
from ghostid.dal import visitors as visitors_dal
from ghostid.dal.realtime import Live, put_live_unconditionally
from ghostid.dal.tree import Level, NodeRef
from ghostid.distinct import visitor_hash
from ghostid.logic import live
from ghostid.logic import tree as tree_logic
from ghostid.logic.aggregate import add_cell, merge_all
from ghostid.logic.cells import fold_session
from ghostid.logic.periods import Preset, preset
from ghostid.logic.visitors import active_periods, lead_row, view
from ghostid.models.dimensions import FAMILIES, STATS_FAMILIES
from ghostid.models.rollups import Aggregate, EventFacts, Presence, SessionParts
from ghostid.models.sites import Site
from ghostid.timeutil import HOUR_MS, add_months_first, day_key, hour_key, month_key, week_key

MAX_SESSION_MS = 6 * HOUR_MS  # sessions of the input last at most this long (checked)
PREFIXES: tuple[Preset, ...] = ("24h", "today", "7d", "30d", "month", "12mo")
Writer = Callable[[list[dict[str, Any]]], None]


@dataclass
class BulkReport:
    events: int = 0
    sessions: int = 0
    visitors: int = 0
    items: int = 0
    cells: int = 0
    nodes: int = 0


@dataclass
class _Loader:
    site_id: int
    site: Site
    now: int
    keep_cells_from: date
    write: Writer
    report: BulkReport = field(default_factory=BulkReport)
    hours: dict[int, Aggregate] = field(default_factory=dict)
    recent_hours: dict[int, Aggregate] = field(default_factory=dict)  # kept for the hour prefixes
    days: dict[date, Aggregate] = field(default_factory=dict)
    visitors: dict[str, dict[str, SessionParts]] = field(default_factory=lambda: defaultdict(dict))
    live: Any = None
    buffer: list[dict[str, Any]] = field(default_factory=list)

    @property
    def zone(self) -> Any:
        return self.site.zone

    def emit(self, items: list[dict[str, Any]]) -> None:
        self.buffer += items
        self.report.items += len(items)
        if len(self.buffer) >= 2_000:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.write(self.buffer)
            self.buffer = []


def load_site(
    site_id: int,
    site: Site,
    sessions: Iterable[tuple[str, list[EventFacts]]],
    now_ms: int,
    write: Writer,
    keep_cells_from: date,
    gen: int = 1,
) -> BulkReport:
    """Folds `sessions` (in order of their first event) into every node, presence item, prefix, lead row
    and the state of a big site; cells, registries and first cells only for sessions starting on or after
    `keep_cells_from` and for visitors on the lead lists."""
    loader = _Loader(site_id, site, now_ms, keep_cells_from, write)
    loader.live = Live()
    until = site.zone.hour_start(now_ms)
    for session_id, facts in sessions:
        _fold(loader, session_id, facts)
        _close_hours(loader, before=min(facts, key=lambda e: e.ts).ts - MAX_SESSION_MS, until=until)
    _close_hours(loader, before=until + HOUR_MS, until=until)
    _close_days(loader, until)
    _visitors(loader)
    _prefixes(loader, until, gen)
    loader.flush()
    since = min((site.zone.day_start(d) for d in loader.days), default=until)
    state_dal.reset(site_id, site.timezone, until, True, gen, since)
    live.recount(loader.live, loader.live.frozen)  # once, not per session
    put_live_unconditionally(site_id, loader.live)
    return loader.report


def _fold(loader: _Loader, session_id: str, facts: list[EventFacts]) -> None:
    fold = fold_session(session_id, facts, loader.zone, loader.site.lead_rules)
    if fold.summary.ended_at - fold.summary.started_at > MAX_SESSION_MS:
        raise ValueError(f"session {session_id} is longer than the bulk loader allows")
    loader.report.events += len(facts)
    loader.report.sessions += 1
    for hour, cell in fold.cells.items():
        add_cell(loader.hours.setdefault(hour, Aggregate()), cell)
    loader.visitors[fold.summary.ghost_vid][session_id] = fold.parts
    if loader.zone.date_of(fold.summary.started_at) >= loader.keep_cells_from:
        items = [
            cells_dal.cell_item(
                loader.site_id,
                loader.zone,
                cell,
                fold.summary if cell.first else None,
                fold.parts if cell.first else None,
            )
            for cell in fold.cells.values()
        ]
        loader.report.cells += len(items)
        # The registry locates the first cells: without it the consumer folds a returning visitor without
        # its kept sessions, and its profile is a 404.
        starts = {session_id: fold.summary.started_at}
        loader.emit(items + visitors_dal.registry_items(loader.site_id, fold.summary.ghost_vid, starts))
    live.add_events(loader.live, [(session_id, e) for e in facts], loader.now, count=False)


def _close_hours(loader: _Loader, before: int, until: int) -> None:
    """Writes the hours no later session can touch, and adds them to their days."""
    for hour in sorted(h for h in loader.hours if h + HOUR_MS <= before):
        aggregate = loader.hours.pop(hour)
        day = loader.zone.date_of(hour)
        loader.days.setdefault(day, Aggregate()).merge(aggregate)
        if hour + HOUR_MS <= until:
            _node(loader, NodeRef("H", hour_key(hour)), aggregate, FAMILIES)
        else:
            _node(loader, NodeRef("H", hour_key(hour)), aggregate, STATS_FAMILIES)  # the current hour
        if hour >= until - 48 * HOUR_MS:
            loader.recent_hours[hour] = aggregate


def _close_days(loader: _Loader, until: int) -> None:
    weeks: dict[str, list[Aggregate]] = defaultdict(list)
    months: dict[str, list[Aggregate]] = defaultdict(list)
    last = loader.zone.date_of(until) - timedelta(days=1)
    for day, aggregate in sorted(loader.days.items()):
        if day > last:
            continue
        _node(loader, NodeRef("D", day_key(day)), aggregate, FAMILIES)
        weeks[week_key(day)].append(aggregate)
        months[month_key(day)].append(aggregate)
    for week, parts in weeks.items():
        year, number = week.split("-W")
        if date.fromisocalendar(int(year), int(number), 7) <= last:
            _node(loader, NodeRef("W", week), merge_all(parts), FAMILIES)
    for month, parts in months.items():
        if add_months_first(date.fromisoformat(month + "-01"), 1) - timedelta(days=1) <= last:
            _node(loader, NodeRef("M", month), merge_all(parts), FAMILIES)


def _node(
    loader: _Loader, ref: NodeRef, aggregate: Aggregate, families: Iterable[str], anchor: str = ""
) -> None:
    loader.report.nodes += 1
    loader.emit(tree_dal.node_items(loader.site_id, ref, aggregate, families, anchor=anchor))


def _visitors(loader: _Loader) -> None:
    """Presence of every identified visitor and hot lead, and the lead lists (with their sessions)."""
    presence: dict[tuple[Level, str], Presence] = defaultdict(Presence)
    rules, zone = loader.site.lead_rules, loader.zone
    loader.report.visitors = len(loader.visitors)
    for visitor, parts in loader.visitors.items():
        current = view(visitor, parts, rules)
        if not (current.identified or current.hot):
            continue
        periods = active_periods(parts.values(), zone)
        hashed = visitor_hash(visitor)
        for note in periods:
            level, period = note.split(":", 1)
            entry = presence[(level, period)]  # type: ignore[index]
            if current.identified:
                entry.identified.add(hashed)
            if current.hot:
                entry.hot.add(hashed)
        days = {note[2:] for note in periods if note.startswith("D:")}
        loader.emit(
            [
                *visitors_dal.head_items(
                    loader.site_id,
                    visitor,
                    lead_row(current),
                    visitors_dal.Listing(current.hot, current.identified),
                    current.score,
                    current.last_seen,
                    periods if current.identified else set(),
                    periods if current.hot else set(),
                    days,
                ),
                *visitors_dal.registry_items(  # kept sessions were registered as they were folded
                    loader.site_id,
                    visitor,
                    {
                        sid: p.start
                        for sid, p in parts.items()
                        if zone.date_of(p.start) < loader.keep_cells_from
                    },
                ),
            ]
        )
    loader.emit(
        [tree_dal.presence_items(loader.site_id, lv, p, value) for (lv, p), value in presence.items()]
    )


def _prefixes(loader: _Loader, until: int, gen: int) -> None:
    state = state_dal.SiteState(
        gen=gen,
        timezone=loader.zone.name,
        until=until,
        big=True,
        since=min((loader.zone.day_start(d) for d in loader.days), default=until),
    )
    tree = tree_logic.Tree(loader.site_id, loader.zone, state, loader.now)
    nodes: dict[NodeRef, Aggregate] = {NodeRef("H", hour_key(h)): a for h, a in loader.recent_hours.items()}
    nodes |= {NodeRef("D", day_key(d)): a for d, a in loader.days.items()}
    for kind in PREFIXES:
        spans = tree_logic.plan(tree, preset(kind, loader.zone, loader.now))
        prefix = next((s for s in spans if s.ref == NodeRef("P", kind)), None)  # not today's, inside it
        if prefix is None or prefix.ref is None:
            continue
        parts = [_aggregate_of(span, nodes) for span in prefix.fallback]
        _node(loader, prefix.ref, merge_all(parts), FAMILIES, anchor=prefix.anchor)


def _aggregate_of(span: tree_logic.Span, nodes: dict[NodeRef, Aggregate]) -> Aggregate:
    """A prefix's piece, from the aggregates in memory (weeks and months as their days)."""
    if span.ref is None:
        return Aggregate()
    if span.ref in nodes:
        return nodes[span.ref]
    if span.ref.level == "W":
        year, number = span.ref.period.split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
        days = [monday + timedelta(days=i) for i in range(7)]
    elif span.ref.level == "M":
        first = date.fromisoformat(span.ref.period + "-01")
        days = [first + timedelta(days=i) for i in range((add_months_first(first, 1) - first).days)]
    else:
        return Aggregate()
    return merge_all(nodes[NodeRef("D", day_key(d))] for d in days if NodeRef("D", day_key(d)) in nodes)
