"""Recompute a site's rollups from its raw events in one pass (repairs, definition changes, bulk loads).

It uses the very functions the stream consumer uses (cells, deltas, reach-back, sketches), so a rebuilt
site equals a stream-maintained one; it only writes the final items at once instead of per batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ghostid.dal import events as events_dal
from ghostid.dal import rollups as rollups_dal
from ghostid.logic import sketches
from ghostid.logic.consumer import (
    PACK_LIMIT,
    REACH_BACK_SKETCH,
    changed_notes,
    facts_from_item,
    reach_back_targets,
)
from ghostid.logic.fold import Deltas, EventFacts, bucket_partition, session_cells
from ghostid.models.rollups import VisitorState
from ghostid.models.sites import LeadRules
from ghostid.settings import HOURLY_REACH_BACK_HOURS
from ghostid.timeutil import HOUR_MS, Granularity, bucket_key, day_of_hour


@dataclass(frozen=True)
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


def rollup_items(
    site_id: int, event_items: Iterable[dict[str, Any]], rules: LeadRules, now_ms: int, version: int = 1
) -> list[dict[str, Any]]:
    """Every rollup item of a site, from its stored event items (pure: no DynamoDB calls)."""
    by_session: dict[str, list[EventFacts]] = defaultdict(list)
    for item in event_items:
        by_session[events_dal.split_partition(item["pk"]["S"])[1]].append(facts_from_item(item))
    horizon = now_ms // HOUR_MS - HOURLY_REACH_BACK_HOURS
    deltas = Deltas()
    items: list[dict[str, Any]] = []
    states: dict[str, VisitorState] = defaultdict(VisitorState)
    members: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(granularity: Granularity, index: int, name: str, visitor: str) -> None:
        members[(bucket_partition(site_id, granularity), bucket_key(granularity, index))][name].add(visitor)

    for session_id, facts in by_session.items():
        for cell in session_cells(facts, rules).values():
            items.append(rollups_dal.cell_item(site_id, session_id, cell, version))
            deltas.add_cell_change(None, cell)
            states[cell.visitor].add_cell(session_id, cell)
            for granularity, index in (("H", cell.hour), ("D", day_of_hour(cell.hour))):
                add(granularity, index, "u#v", cell.visitor)  # type: ignore[arg-type]
                for country in cell.countries:
                    add(granularity, index, f"g#{country}", cell.visitor)  # type: ignore[arg-type]

    items += rollups_dal.delta_items(site_id, deltas)
    for visitor, state in states.items():
        targets = reach_back_targets(state, rules, horizon)
        for name, numbers in targets.items():
            for index in numbers:
                add("H" if name.endswith("h") else "D", index, REACH_BACK_SKETCH[name], visitor)
        notes = changed_notes(state, targets, horizon)
        visitor_item = rollups_dal.visitor_item(site_id, visitor, state.identity, notes)
        if visitor_item is not None:
            items.append(visitor_item)
    for bucket, names in members.items():
        blobs = {name: sketches.of(visitors) for name, visitors in names.items()}
        items += rollups_dal.sketch_items(bucket, blobs, PACK_LIMIT, version)
    return items


def rebuild_site(site_id: int, rules: LeadRules, now_ms: int) -> RebuildReport:
    """Replaces a site's rollups with ones recomputed from its events, while events keep arriving.

    Pause the stream consumer first (disable the event source mapping; `make serve`: stop it): the
    collector and imports go on storing events, and their stream records wait. Events stored after
    the snapshot are found by a second look at the table and folded by the ordinary, idempotent
    consumer path; when the consumer resumes, what it was holding back counts once. Rebuilt cells and
    sketches carry a new version (the rebuild's time), so a consumer that read the old items fails
    its version check and recomputes. Readers may see partial numbers while the items are replaced;
    the site's precomputed answers are refreshed at the end.
    """
    from ghostid.logic.consumer import fold_sessions
    from ghostid.logic.stats import refresh_answers

    event_items = events_dal.scan_site_items(site_id)
    snapshot = {(i["pk"]["S"], i["sk"]["S"]) for i in event_items}
    sessions = {events_dal.split_partition(pk)[1] for pk, _ in snapshot}
    visitors = {i["ghost_vid"]["S"] for i in event_items}
    partitions = [bucket_partition(site_id, "H"), bucket_partition(site_id, "D")]
    partitions += [rollups_dal.visitor_partition(site_id, v) for v in visitors]  # cells and visitor items
    partitions += [rollups_dal.legacy_cells_partition(site_id, s) for s in sessions]
    items = rollup_items(site_id, event_items, rules, now_ms, version=now_ms)
    deleted = rollups_dal.delete_partitions(partitions)
    rollups_dal.write_items(items)
    arrived = {
        events_dal.split_partition(i["pk"]["S"])[1]
        for i in events_dal.scan_site_items(site_id)
        if (i["pk"]["S"], i["sk"]["S"]) not in snapshot
    }
    for chunk in _chunks(sorted(arrived), 100):
        fold_sessions(site_id, chunk, rules, now_ms)
    refresh_answers(site_id, now_ms)
    return RebuildReport(len(event_items), len(sessions), len(visitors), deleted, len(items), len(arrived))


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    return (values[i : i + size] for i in range(0, len(values), size))
