"""Recompute a site's rollups from its raw events in one pass: repairs, a new time zone or lead rules, a new
rollup model, bulk loads.

It uses the functions the stream consumer and the sealer use (session folds, cells, visitor views, presence,
node aggregation, prefixes), so a rebuilt site answers every route exactly as a stream-maintained one; it
only writes the final items at once instead of batch by batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ghostid.dal import cells as cells_dal
from ghostid.dal import events as events_dal
from ghostid.dal import realtime as live_dal
from ghostid.dal import state as state_dal
from ghostid.dal import tree as tree_dal
from ghostid.dal import visitors as visitors_dal
from ghostid.dal.tree import Level, NodeRef
from ghostid.distinct import visitor_hash
from ghostid.logic import live
from ghostid.logic import tree as tree_logic
from ghostid.logic.aggregate import add_cell, merge_all
from ghostid.logic.cells import SessionFold, fold_session
from ghostid.logic.periods import Preset, preset
from ghostid.logic.sealing import BIG_DAY_EVENTS, DAY_PREFIXES, HOUR_PREFIXES
from ghostid.logic.visitors import active_periods, lead_row, view
from ghostid.models.alerts import Transition
from ghostid.models.dimensions import FAMILIES, STATS_FAMILIES
from ghostid.models.rollups import Aggregate, EventFacts, Presence
from ghostid.models.sites import Site
from ghostid.timeutil import HOUR_MS, Zone, add_months_first, day_key, hour_key, month_key, week_key


@dataclass
class RebuildReport:
    events: int
    sessions: int
    visitors: int
    deleted: int
    written: int
    refolded: int = 0

    def __str__(self) -> str:
        return (
            f"rebuilt from {self.events} events ({self.sessions} sessions, {self.visitors} visitors): "
            f"{self.deleted} rollup items replaced by {self.written}; "
            f"{self.refolded} sessions that received events meanwhile folded again"
        )


@dataclass
class Rebuilt:
    items: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    live: live_dal.Live = field(default_factory=live_dal.Live)
    big: bool = False
    until: int | None = None
    since: int | None = None
    sessions: int = 0
    visitors: int = 0


def rollup_items(
    site_id: int, sessions: dict[str, list[EventFacts]], site: Site, now_ms: int, gen: int = 1
) -> Rebuilt:
    """Every rollup item of a site from its sessions' events (pure: no DynamoDB calls)."""
    zone, rules = site.zone, site.lead_rules
    result = Rebuilt(sessions=len(sessions))
    folds = {sid: fold_session(sid, facts, zone, rules) for sid, facts in sessions.items() if facts}
    presence = _visitors(site_id, folds, site, result)
    for fold in folds.values():
        for cell in fold.cells.values():
            first = cell.first
            result.items.append(
                cells_dal.cell_item(
                    site_id, zone, cell, fold.summary if first else None, fold.parts if first else None
                )
            )
    hours = _hour_aggregates(folds)
    result.big = _is_big(hours, zone)
    result.until = zone.hour_start(now_ms) if result.big else zone.day_start(zone.date_of(now_ms))
    result.since = (
        min((zone.day_start(zone.date_of(h)) for h in hours), default=result.until) if result.big else None
    )
    nodes = _nodes(hours, zone, result)
    for ref, aggregate in nodes.items():
        result.items += tree_dal.node_items(site_id, ref, aggregate, FAMILIES, gen=gen)
    result.items += _prefixes(site_id, zone, nodes, result, now_ms, gen)
    result.items += [
        tree_dal.presence_items(site_id, level, period, p) for (level, period), p in presence.items()
    ]
    arrived = [(sid, e) for sid, facts in sessions.items() for e in facts]
    live.add_events(result.live, arrived, now_ms)
    return result


def _visitors(
    site_id: int, folds: dict[str, SessionFold], site: Site, result: Rebuilt
) -> dict[tuple[Level, str], Presence]:
    by_visitor: dict[str, dict[str, SessionFold]] = defaultdict(dict)
    for sid, fold in folds.items():
        by_visitor[fold.summary.ghost_vid][sid] = fold
    presence: dict[tuple[Level, str], Presence] = defaultdict(Presence)
    result.visitors = len(by_visitor)
    for visitor, mine in by_visitor.items():
        current = view(visitor, {sid: f.parts for sid, f in mine.items()}, site.lead_rules)
        result.items += visitors_dal.registry_items(
            site_id, visitor, {sid: f.summary.started_at for sid, f in mine.items()}
        )
        periods = active_periods(current.parts.values(), site.zone)
        hashed = visitor_hash(visitor)
        for note in periods:
            level, period = note.split(":", 1)
            if current.identified:
                presence[(level, period)].identified.add(hashed)  # type: ignore[index]
            if current.hot:
                presence[(level, period)].hot.add(hashed)  # type: ignore[index]
        listing = visitors_dal.Listing(current.hot, current.identified)
        noted_i = periods if current.identified else set()
        noted_h = periods if current.hot else set()
        if listing.head_list or noted_i or noted_h:
            result.items.extend(
                visitors_dal.head_items(
                    site_id,
                    visitor,
                    lead_row(current),
                    listing,
                    current.score,
                    current.last_seen,
                    noted_i,
                    noted_h,
                    {note[2:] for note in periods if note.startswith("D:")},
                )
            )
        _status_on_cells(current, mine)
        result.transitions += _transitions(site_id, current)
    return presence


def _status_on_cells(current: Any, mine: dict[str, SessionFold]) -> None:
    """The visitor's identity and status as of now on its sessions' summaries (before the cells are made)."""
    if current.hot or current.identified:
        for fold in mine.values():
            fold.summary.hot, fold.summary.identified = current.hot, current.identified
            fold.summary.identified_user_id = current.identified_user_id


def _transitions(site_id: int, current: Any) -> list[Transition]:
    found = []
    if current.identified:
        first_id = min(p.identified_at for p in current.parts.values() if p.identified_at is not None)
        found.append(Transition(site_id, current.visitor, "visitor.identified", first_id, lead_row(current)))
    if current.hot and current.hot_since is not None:
        found.append(Transition(site_id, current.visitor, "lead.hot", current.hot_since, lead_row(current)))
    return found


def _hour_aggregates(folds: dict[str, SessionFold]) -> dict[int, Aggregate]:
    hours: dict[int, Aggregate] = defaultdict(Aggregate)
    for fold in folds.values():
        for hour, cell in fold.cells.items():
            add_cell(hours[hour], cell)
    return hours


def _is_big(hours: dict[int, Aggregate], zone: Zone) -> bool:
    per_day: dict[date, int] = defaultdict(int)
    for hour, aggregate in hours.items():
        per_day[zone.date_of(hour)] += aggregate.events
    return max(per_day.values(), default=0) >= BIG_DAY_EVENTS


def _nodes(hours: dict[int, Aggregate], zone: Zone, result: Rebuilt) -> dict[NodeRef, Aggregate]:
    """Hour nodes (big sites), and day, week and month nodes of complete periods before `until`."""
    assert result.until is not None
    nodes: dict[NodeRef, Aggregate] = {}
    days: dict[date, list[Aggregate]] = defaultdict(list)
    for hour, aggregate in hours.items():
        if result.big and hour + HOUR_MS <= result.until:
            nodes[NodeRef("H", hour_key(hour))] = aggregate
        days[zone.date_of(hour)].append(aggregate)
    weeks: dict[str, list[Aggregate]] = defaultdict(list)
    months: dict[str, list[Aggregate]] = defaultdict(list)
    last_complete = zone.date_of(result.until - 1)
    if zone.day_end(last_complete) > result.until:
        last_complete -= timedelta(days=1)
    for day, parts in days.items():
        if day > last_complete:
            continue
        total = merge_all(parts)
        nodes[NodeRef("D", day_key(day))] = total
        weeks[week_key(day)].append(total)
        months[month_key(day)].append(total)
    if not result.big:
        return nodes  # a small site keeps day nodes only
    for week, parts in weeks.items():
        if _week_end(week) <= last_complete:
            nodes[NodeRef("W", week)] = merge_all(parts)
    for month, parts in months.items():
        if add_months_first(date.fromisoformat(month + "-01"), 1) - timedelta(days=1) <= last_complete:
            nodes[NodeRef("M", month)] = merge_all(parts)
    return nodes


def _week_end(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 7)


def _prefixes(
    site_id: int, zone: Zone, nodes: dict[NodeRef, Aggregate], result: Rebuilt, now_ms: int, gen: int
) -> list[dict[str, Any]]:
    """A big site's prefixes and current hour node, from the nodes just computed."""
    if not result.big:
        return []
    assert result.until is not None
    state = state_dal.SiteState(gen=gen, timezone=zone.name, until=result.until, big=True, since=result.since)
    tree = tree_logic.Tree(site_id, zone, state, now_ms)
    items: list[dict[str, Any]] = []
    kinds: tuple[Preset, ...] = (*HOUR_PREFIXES, *DAY_PREFIXES)
    for kind in kinds:
        spans = [
            s
            for s in tree_logic.plan(tree, preset(kind, zone, now_ms))
            if s.ref == NodeRef("P", kind)  # not today's, which a range ending today holds too
        ]
        if spans:
            prefix = spans[0]
            total = merge_all(nodes[s.ref] for s in prefix.fallback if s.ref is not None and s.ref in nodes)
            assert prefix.ref is not None
            items += tree_dal.node_items(site_id, prefix.ref, total, FAMILIES, anchor=prefix.anchor, gen=gen)
    return items


def current_hour_items(
    site_id: int, zone: Zone, folds: Iterable[SessionFold], now_ms: int, gen: int
) -> list[dict[str, Any]]:
    hour = zone.hour_start(now_ms)
    total = Aggregate()
    for fold in folds:
        cell = fold.cells.get(hour)
        if cell is not None:
            add_cell(total, cell)
    return tree_dal.node_items(site_id, NodeRef("H", hour_key(hour)), total, STATS_FAMILIES, gen=gen)


# --- against DynamoDB ---------------------------------------------------------------------------------


def rebuild_site(site_id: int, site: Site, now_ms: int) -> RebuildReport:
    """Replaces a site's rollups with ones recomputed from its events, while events keep arriving.

    Pause the stream consumer first (disable the event source mapping; `make serve`: it pauses itself for
    `ghostid` commands it runs): the collector and imports go on storing events, and their stream records
    wait. Events stored after the snapshot are found by a second look and folded by the ordinary consumer
    path; when the consumer resumes, what it held back counts once. Readers may see partial numbers while
    the items are replaced.
    """
    from ghostid.logic import alerts
    from ghostid.logic.consumer import clear_config_cache, fold_batch

    event_items = events_dal.scan_site_items(site_id)
    snapshot = {(i["pk"]["S"], i["sk"]["S"]) for i in event_items}
    sessions: dict[str, list[EventFacts]] = defaultdict(list)
    for item in event_items:
        sessions[events_dal.split_partition(item["pk"]["S"])[1]].append(events_dal.facts_from_item(item))
    previous = state_dal.get_state(site_id)
    rebuilt = rollup_items(site_id, sessions, site, now_ms, gen=previous.gen + 1)
    deleted = delete_site_rollups(site_id, sessions, site.zone, previous)
    if rebuilt.big:
        rebuilt.items += current_hour_items(
            site_id,
            site.zone,
            [fold_session(s, f, site.zone, site.lead_rules) for s, f in sessions.items()],
            now_ms,
            previous.gen + 1,
        )
    tree_dal.put_nodes(rebuilt.items)
    visitors_dal.add_missing_entries(site_id, {e.ghost_vid for facts in sessions.values() for e in facts})
    live_dal.put_live_unconditionally(site_id, rebuilt.live)
    state_dal.reset(site_id, site.timezone, rebuilt.until, rebuilt.big, previous.gen + 1, rebuilt.since)
    alerts.record_transitions(rebuilt.transitions, now_ms)
    clear_config_cache()
    arrived = {
        events_dal.split_partition(i["pk"]["S"])[1]
        for i in events_dal.scan_site_items(site_id)
        if (i["pk"]["S"], i["sk"]["S"]) not in snapshot
    }
    for chunk in _chunks(sorted(arrived), 100):
        fold_batch(site_id, chunk, [], now_ms)
    return RebuildReport(
        len(event_items), rebuilt.sessions, rebuilt.visitors, deleted, len(rebuilt.items), len(arrived)
    )


def delete_site_rollups(
    site_id: int, sessions: dict[str, list[EventFacts]], zone: Zone, state: state_dal.SiteState
) -> int:
    """Every rollup item of the site: its fixed partitions, and the day and visitor partitions its events
    (in the old and the new zone) touch; the first model's partitions too."""
    partitions = {f"{site_id}#{suffix}" for suffix in ("A", "R", "H", "D")}
    partitions |= {f"{site_id}#N#{level}" for level in ("H", "D", "W", "M", "P")}
    partitions |= {f"{site_id}#X#{level}" for level in ("H", "D", "W", "M")}
    zones = {zone, Zone(state.timezone or "UTC"), Zone("UTC")}
    stamps = [e.ts for facts in sessions.values() for e in facts]
    for zone_ in zones:
        for stamp in {s - s % 3_600_000 for s in stamps}:
            for moment in (stamp, stamp + 3_599_999):
                partitions.add(f"{site_id}#C#{zone_.date_of(moment).isoformat()}")
    visitors = {e.ghost_vid for facts in sessions.values() for e in facts}
    partitions |= {visitors_dal.visitor_partition(site_id, v) for v in visitors}
    partitions |= {f"{site_id}#S#{sid}" for sid in sessions}  # cells of the first model's first layout
    return tree_dal.delete_partitions(sorted(partitions))


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    return (values[i : i + size] for i in range(0, len(values), size))
