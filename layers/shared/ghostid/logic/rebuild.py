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
from ghostid.dal.codec import key
from ghostid.logic import sketches
from ghostid.logic.consumer import (
    PACK_LIMIT,
    active_buckets,
    facts_from_item,
    reach_back_targets,
    session_scores,
)
from ghostid.logic.fold import Cell, Deltas, EventFacts, bucket_partition, session_cells
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
    cells_by_session: dict[str, list[Cell]] = defaultdict(list)
    identities: dict[str, tuple[str, str]] = {}
    members: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(granularity: Granularity, index: int, name: str, visitor: str) -> None:
        members[(bucket_partition(site_id, granularity), bucket_key(granularity, index))][name].add(visitor)

    for session_id, facts in by_session.items():
        for cell in session_cells(facts, rules).values():
            items.append(rollups_dal.cell_item(site_id, session_id, cell, version))
            deltas.add_cell_change(None, cell)
            cells_by_session[session_id].append(cell)
            for granularity, index in (("H", cell.hour), ("D", day_of_hour(cell.hour))):
                add(granularity, index, "u#v", cell.visitor)  # type: ignore[arg-type]
                for country in cell.countries:
                    add(granularity, index, f"g#{country}", cell.visitor)  # type: ignore[arg-type]
            if cell.identity and (cell.visitor not in identities or cell.identity > identities[cell.visitor]):
                identities[cell.visitor] = cell.identity

    items += rollups_dal.delta_items(site_id, deltas)
    all_cells = [cell for cells in cells_by_session.values() for cell in cells]
    scores = session_scores(cells_by_session)
    for visitor, (hours, days) in active_buckets(all_cells, horizon).items():
        item = key(rollups_dal.visitor_partition(site_id, visitor), "v")
        item |= rollups_dal.score_attributes(scores.get(visitor, {}))
        for name, numbers in (("hrs", hours), ("dys", days)):
            if numbers:
                item[name] = {"NS": [str(x) for x in sorted(numbers)]}
        _finish_visitor(item, identities, rules, horizon, add)
        items.append(item)
    for bucket, names in members.items():
        blobs = {name: sketches.of(visitors) for name, visitors in names.items()}
        items += rollups_dal.sketch_items(bucket, blobs, PACK_LIMIT, version)
    return items


def _finish_visitor(
    item: dict[str, Any], identities: dict[str, tuple[str, str]], rules: LeadRules, horizon: int, add: Any
) -> None:
    """Adds identity and reach-back to a visitor item, and the visitor to its identified / hot sketches."""
    visitor = item["pk"]["S"].split("#V#", 1)[1]
    identity = identities.get(visitor)
    if identity:
        item["ik"], item["uid"] = {"S": identity[0]}, {"S": identity[1]}
    state = VisitorState(
        sessions=rollups_dal.visitor_state_of(item).sessions,
        hours={int(h) for h in item.get("hrs", {}).get("NS", [])},
        days={int(d) for d in item.get("dys", {}).get("NS", [])},
        user_id=identity[1] if identity else None,
    )
    for name, numbers in reach_back_targets(state, rules, horizon).items():
        if numbers:
            item[name] = {"NS": [str(x) for x in sorted(numbers)]}
            for index in numbers:
                add(
                    "H" if name.endswith("h") else "D",
                    index,
                    "u#i" if name.startswith("i") else "u#h",
                    visitor,
                )


def rebuild_site(site_id: int, rules: LeadRules, now_ms: int) -> RebuildReport:
    """Replaces a site's rollups with ones recomputed from its events, while events keep arriving.

    Pause the stream consumer first (disable the event source mapping; `make serve`: stop it): the
    collector and imports go on storing events, and their stream records wait. Events stored after
    the snapshot are found by a second look at the table and folded by the ordinary, idempotent
    consumer path; when the consumer resumes, what it was holding back counts once. Rebuilt cells and
    sketches carry a new version (the rebuild's time), so a consumer that read the old items fails
    its version check and recomputes. Readers may see partial numbers while the items are replaced.
    """
    from ghostid.logic.consumer import fold_sessions

    event_items = events_dal.scan_site_items(site_id)
    snapshot = {(i["pk"]["S"], i["sk"]["S"]) for i in event_items}
    sessions = {events_dal.split_partition(pk)[1] for pk, _ in snapshot}
    visitors = {i["ghost_vid"]["S"] for i in event_items}
    partitions = [bucket_partition(site_id, "H"), bucket_partition(site_id, "D")]
    partitions += [rollups_dal.cells_partition(site_id, s) for s in sessions]
    partitions += [rollups_dal.visitor_partition(site_id, v) for v in visitors]
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
    return RebuildReport(len(event_items), len(sessions), len(visitors), deleted, len(items), len(arrived))


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    return (values[i : i + size] for i in range(0, len(values), size))
