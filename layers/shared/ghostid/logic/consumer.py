"""Keeps the rollups current for the sessions a stream batch touched (exactly-once in effect).

1. Recompute each touched session's cells from its stored events and replace the stored cells (kept in
   the partition of their visitor), moving the bucket counters by the difference, in transactions
   conditioned on the cells' versions.
2. Read each touched visitor's whole partition (after those transactions): its cells give its
   lead-score parts, where it was active and its latest identity, so nothing of that is written twice.
3. Add visitors to the HLL sketches of their buckets, reaching back for identified visitors and
   hot leads into every bucket they were active in. Sketch merges are idempotent, so this step is
   simply redone from the stored state whenever a visitor is touched again.
4. Write the visitor item only when it changes: a later identity (a max-register keyed by event
   time) or buckets whose identified / hot sketches now hold the visitor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from ghostid.dal import events as events_dal
from ghostid.dal import rollups as rollups_dal
from ghostid.dal.rollups import SketchKey, SketchPack
from ghostid.logic import sketches
from ghostid.logic.fold import (
    UNKNOWN_COUNTRY,
    Cell,
    EventFacts,
    bucket_partition,
    never_decrease,
    session_cells,
)
from ghostid.models.rollups import CellChange, VisitorState
from ghostid.models.sites import LeadRules
from ghostid.settings import HOURLY_REACH_BACK_HOURS, fold_concurrency
from ghostid.timeutil import HOUR_MS, Granularity, bucket_key, day_of_hour

T = TypeVar("T")
R = TypeVar("R")
MAX_ROUNDS = 10
# A bucket's sketches share one item while they are small (one write instead of one per country).
PACK_LIMIT = 16 * 1024
# DynamoDB calls of one batch are independent of each other: overlap their latency (I/O-bound).
_pool = ThreadPoolExecutor(max_workers=fold_concurrency(), thread_name_prefix="fold")


def _each(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    if fold_concurrency() <= 1:  # moto's in-memory DynamoDB is not thread-safe
        return [fn(item) for item in items]
    return list(_pool.map(fn, items))


@dataclass
class FoldReport:
    sessions: int = 0
    cells_changed: int = 0
    transactions: int = 0
    conflicts: int = 0
    sketch_writes: int = 0


def facts_from_item(item: dict[str, Any]) -> EventFacts:
    """The few attributes the fold reads, straight from DynamoDB's wire format (hot path)."""
    return EventFacts(
        event_id=item["sk"]["S"],
        ts=int(item["ts"]["N"]),
        type=item["type"]["S"],
        page=item["page"]["S"],
        ghost_vid=item["ghost_vid"]["S"],
        user_id=item["user_id"]["S"] if "user_id" in item else None,
        country=item["country"]["S"] if "country" in item else UNKNOWN_COUNTRY,
    )


def plan_session(site_id: int, session_id: str, rules: LeadRules) -> tuple[list[CellChange], list[Cell]]:
    """The cell changes that bring one session's stored cells in line with its stored events."""
    facts = [facts_from_item(i) for i in events_dal.query_session_items(site_id, session_id, consistent=True)]
    stored = rollups_dal.query_cells(site_id, session_id, sorted({f.ghost_vid for f in facts}))
    changes: list[CellChange] = []
    cells: list[Cell] = []
    for cell_key, cell in session_cells(facts, rules).items():
        old = stored.get(cell_key)
        merged = never_decrease(old.cell if old else None, cell)
        cells.append(merged)
        if old is None or merged.encode() != old.cell.encode():
            changes.append(CellChange(session_id, old, merged))
    return changes, cells


def fold_sessions(site_id: int, session_ids: Iterable[str], rules: LeadRules, now_ms: int) -> FoldReport:
    report = FoldReport()
    pending = set(session_ids)
    report.sessions = len(pending)
    all_cells: dict[str, list[Cell]] = {}
    for _ in range(MAX_ROUNDS):
        changes: list[CellChange] = []
        ordered = sorted(pending)
        for session_id, (session_changes, cells) in zip(
            ordered, _each(lambda sid: plan_session(site_id, sid, rules), ordered), strict=True
        ):
            all_cells[session_id] = cells
            changes.extend(session_changes)
        groups = rollups_dal.pack_transactions(site_id, changes)
        conflicted: set[str] = set()
        applied_groups = _each(lambda g: _try_apply(site_id, g), groups)
        for group, applied in zip(groups, applied_groups, strict=True):
            if applied:
                report.transactions += 1
                report.cells_changed += len(group)
            else:
                report.conflicts += 1
                conflicted |= {change.session_id for change in group}
        if not conflicted:
            break
        pending = conflicted
    else:
        raise RuntimeError("session cells kept conflicting; the batch will be retried")
    report.sketch_writes = update_sketches(site_id, all_cells, rules, now_ms)
    return report


def _try_apply(site_id: int, group: list[CellChange]) -> bool:
    try:
        rollups_dal.apply_cell_changes(site_id, group)
    except rollups_dal.CellConflict:
        return False
    return True


def update_sketches(
    site_id: int, cells_by_session: dict[str, list[Cell]], rules: LeadRules, now_ms: int
) -> int:
    cells = [cell for session in cells_by_session.values() for cell in session]
    adds: dict[SketchKey, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(granularity: Granularity, index: int, name: str, visitor: str) -> None:
        adds[(bucket_partition(site_id, granularity), bucket_key(granularity, index))][name].add(visitor)

    for cell in cells:
        buckets: tuple[tuple[Granularity, int], ...] = (("H", cell.hour), ("D", day_of_hour(cell.hour)))
        for granularity, index in buckets:
            add(granularity, index, "u#v", cell.visitor)
            for country in cell.countries:
                add(granularity, index, f"g#{country}", cell.visitor)

    horizon = now_ms // HOUR_MS - HOURLY_REACH_BACK_HOURS
    visitors = sorted({cell.visitor for cell in cells})
    # Read after this batch's cell transactions: of two consumers writing cells of one visitor, the later
    # one's read sees both, so it does the reach-back every session's score parts call for.
    states = dict(zip(visitors, _each(lambda v: rollups_dal.get_visitor(site_id, v), visitors), strict=True))
    targets: dict[str, dict[str, set[int]]] = {}
    for visitor, state in states.items():
        targets[visitor] = reach_back_targets(state, rules, horizon)
        for name, numbers in targets[visitor].items():
            for index in numbers:
                add("H" if name.endswith("h") else "D", index, REACH_BACK_SKETCH[name], visitor)
    incoming = {bucket: {name: sketches.of(v) for name, v in names.items()} for bucket, names in adds.items()}
    writes = merge_into_sketches(incoming)

    def note(visitor: str) -> None:
        """After the merges: the visitor item may only claim sketches that already hold the visitor."""
        state = states[visitor]
        identity = state.identity
        if identity and state.stored_identity_key is not None and identity[0] <= state.stored_identity_key:
            identity = None  # what is stored is already as late
        rollups_dal.update_visitor(
            site_id, visitor, identity, changed_notes(state, targets[visitor], horizon)
        )

    _each(note, visitors)
    return writes


REACH_BACK_SKETCH = {"ih": "u#i", "id": "u#i", "hh": "u#h", "hd": "u#h"}


def reach_back_targets(state: VisitorState, rules: LeadRules, horizon: int) -> dict[str, set[int]]:
    """Buckets whose identified / hot sketch must still receive this visitor (`ih`, `id`, `hh`, `hd`)."""
    hours = {h for h in state.hours if h >= horizon}
    result: dict[str, set[int]] = {}
    if state.identified:
        result["ih"] = hours - state.identified_hours
        result["id"] = state.days - state.identified_days
    if state.is_hot(rules):
        result["hh"] = hours - state.hot_hours
        result["hd"] = state.days - state.hot_days
    return result


def changed_notes(state: VisitorState, added: dict[str, set[int]], horizon: int) -> dict[str, set[int]]:
    """The notes (`ih`, `id`, `hh`, `hd`) that change once `added` is noted and hours past the horizon
    are forgotten: name → its new content."""
    changed: dict[str, set[int]] = {}
    stored = {
        "ih": state.identified_hours,
        "id": state.identified_days,
        "hh": state.hot_hours,
        "hd": state.hot_days,
    }
    for name, current in stored.items():
        new = current | added.get(name, set())
        if name.endswith("h"):
            new = {h for h in new if h >= horizon}
        if new != current:
            changed[name] = new
    return changed


def merge_into_sketches(incoming: dict[SketchKey, dict[str, bytes]]) -> int:
    """Unions `incoming` sketches into each bucket's pack (or its split items), with optimistic retries."""
    pending = incoming
    writes = 0
    for _ in range(MAX_ROUNDS):
        packs = rollups_dal.get_sketch_packs(pending)
        work = [(bucket, packs[bucket], names) for bucket, names in pending.items()]
        results = _each(lambda job: _merge_bucket(*job), work)
        writes += sum(w for w, _ in results)
        pending = {job[0]: job[2] for job, (_, ok) in zip(work, results, strict=True) if not ok}
        if not pending:
            return writes
    raise RuntimeError("sketch writes kept conflicting; the batch will be retried")


def _merge_bucket(bucket: SketchKey, pack: SketchPack, incoming: dict[str, bytes]) -> tuple[int, bool]:
    """(writes made, done). Not done means a concurrent writer won: the caller re-reads and retries."""
    if pack.split:
        return _merge_split(bucket, incoming)
    merged = dict(pack.sketches)
    changed = False
    for name, blob in incoming.items():
        updated = sketches.union(merged.get(name), blob)
        if updated is not None:
            merged[name], changed = updated, True
    if not changed:
        return 0, True
    if sum(len(name) + len(blob) for name, blob in merged.items()) <= PACK_LIMIT:
        return 1, rollups_dal.put_sketch_pack(bucket, SketchPack(merged, pack.version))
    # Too big to keep together: every sketch moves to its own item, then the pack is marked split.
    writes, done = _merge_split(bucket, merged)
    if not done:
        return writes, False
    return writes + 1, rollups_dal.put_sketch_pack(bucket, SketchPack({}, pack.version, split=True))


def _merge_split(bucket: SketchKey, incoming: dict[str, bytes]) -> tuple[int, bool]:
    pk, bucket_key_ = bucket
    keys = {(pk, f"{bucket_key_}#{name}"): blob for name, blob in incoming.items()}
    current = rollups_dal.get_sketches(keys)
    writes, done = 0, True
    for sketch_key, blob in keys.items():
        stored, version = current.get(sketch_key, (None, 0))
        updated = sketches.union(stored, blob)
        if updated is None:
            continue
        if rollups_dal.put_sketch(sketch_key, updated, version):
            writes += 1
        else:
            done = False
    return writes, done


_RULES_TTL_MS = 60_000
_rules_cache: dict[int, tuple[int, LeadRules]] = {}


def rules_for(site_id: int, now_ms: int) -> LeadRules:
    """A site's lead rules, cached for a minute per warm Lambda container."""
    from ghostid.dal import sites as sites_dal

    cached = _rules_cache.get(site_id)
    if cached and now_ms - cached[0] < _RULES_TTL_MS:
        return cached[1]
    site = sites_dal.get_site(site_id)
    rules = site.lead_rules if site else LeadRules()
    _rules_cache[site_id] = (now_ms, rules)
    return rules
