"""The rollups table: bucket items, session cells, visitor state (key layout in docs/DESIGN.md)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ghostid.dal.client import dynamodb, query_all
from ghostid.dal.codec import key, n
from ghostid.logic.fold import (
    Cell,
    Deltas,
    bucket_partition,
    counters_sort_key,
    pages_sort_key,
)
from ghostid.models.rollups import CellChange, StoredCell, VisitorState
from ghostid.settings import rollups_table
from ghostid.timeutil import Window

MAX_TRANSACTION_ITEMS = 100
MAX_BATCH_GET = 100
SketchKey = tuple[str, str]  # (pk, sk)


class CellConflict(Exception):
    """Another consumer replaced one of these cells first: recompute them and try again."""


def visitor_partition(site_id: int, visitor: str) -> str:
    """A visitor's partition: its session cells (`c#<session>#<hour>`) and its visitor item (`v`)."""
    return f"{site_id}#V#{visitor}"


VISITOR_SK = "v"
CELL_PREFIX = "c#"


def cell_sort_key(session_id: str, hour: int) -> str:
    return f"{CELL_PREFIX}{session_id}#{hour}"


def split_cell_sort_key(sk: str) -> tuple[str, int]:
    """(session id, hour) of a cell's sort key (session ids may hold `#`; the hour never does)."""
    session_id, hour = sk[len(CELL_PREFIX) :].rsplit("#", 1)
    return session_id, int(hour)


def legacy_cells_partition(site_id: int, session_id: str) -> str:
    """Where cells were kept before they moved into visitor partitions (only `rebuild` still deletes it)."""
    return f"{site_id}#S#{session_id}"


# --- reads for the API -------------------------------------------------------------------------


def query_window(site_id: int, window: Window, consistent: bool = False) -> Iterator[dict[str, Any]]:
    """Every rollup item of the window's buckets: one Query (more pages only for very large sites)."""
    request: dict[str, Any] = {
        "ConsistentRead": consistent,
        "TableName": rollups_table(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
        "ExpressionAttributeValues": {
            ":pk": {"S": bucket_partition(site_id, window.granularity)},
            ":first": {"S": window.first_key},
            ":last": {"S": window.last_key + "#~"},
        },
    }
    return query_all(request)


def get_identity(site_id: int, visitor: str) -> str | None:
    item = (
        dynamodb()
        .get_item(
            TableName=rollups_table(),
            Key=key(visitor_partition(site_id, visitor), VISITOR_SK),
            ProjectionExpression="uid",
        )
        .get("Item")
    )
    return item["uid"]["S"] if item and "uid" in item else None


# --- session cells -------------------------------------------------------------------------------


def query_cells(site_id: int, session_id: str, visitors: Iterable[str]) -> dict[str, StoredCell]:
    """The session's stored cells, from the partitions of the visitors its events name (cell key →)."""
    cells: dict[str, StoredCell] = {}
    prefix = cell_sort_key(session_id, 0)[:-1]
    for visitor in visitors:
        request: dict[str, Any] = {
            "TableName": rollups_table(),
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": visitor_partition(site_id, visitor)},
                ":prefix": {"S": prefix},
            },
            "ConsistentRead": True,
        }
        for item in query_all(request):
            hour = item["sk"]["S"][len(prefix) :]
            if hour.isdigit():  # not a cell of a longer session id that starts with this one
                cell_key = f"{hour}#{visitor}"
                cells[cell_key] = StoredCell(
                    session_id, Cell.decode(cell_key, item["d"]["S"]), int(item["v"]["N"])
                )
    return cells


def _cell_key(site_id: int, session_id: str, cell: Cell) -> dict[str, Any]:
    return key(visitor_partition(site_id, cell.visitor), cell_sort_key(session_id, cell.hour))


def _cell_action(site_id: int, change: CellChange) -> dict[str, Any]:
    version = change.old.version if change.old else 0
    put: dict[str, Any] = {
        "TableName": rollups_table(),
        "Item": {
            **_cell_key(site_id, change.session_id, change.new),
            "d": {"S": change.new.encode()},
            "v": n(version + 1),
        },
    }
    if change.old:
        put |= {"ConditionExpression": "v = :v", "ExpressionAttributeValues": {":v": n(version)}}
    else:
        put |= {"ConditionExpression": "attribute_not_exists(pk)"}
    return {"Put": put}


def _add_action(pk: str, sk: str, adds: dict[str, Any]) -> dict[str, Any]:
    names = {f"#a{i}": name for i, name in enumerate(adds)}
    values = {f":a{i}": value for i, value in enumerate(adds.values())}
    expression = "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds)))
    return {
        "Update": {
            "TableName": rollups_table(),
            "Key": key(pk, sk),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _delta_actions(site_id: int, deltas: Deltas) -> list[dict[str, Any]]:
    actions = []
    for (granularity, index), counter in deltas.counters.items():
        adds = {name: n(value) for name, value in counter.items() if value}
        actions.append(
            _add_action(bucket_partition(site_id, granularity), counters_sort_key(granularity, index), adds)
        )
    for (granularity, index, shard), pages in deltas.pages.items():
        adds = {page: n(views) for page, views in pages.items() if views}
        actions.append(
            _add_action(
                bucket_partition(site_id, granularity), pages_sort_key(granularity, index, shard), adds
            )
        )
    return actions


def _items_touched(site_id: int, change: CellChange) -> set[SketchKey]:
    deltas = Deltas()
    deltas.add_cell_change(change.old.cell if change.old else None, change.new)
    cell = _cell_key(site_id, change.session_id, change.new)
    touched = {(cell["pk"]["S"], cell["sk"]["S"])}
    for action in _delta_actions(site_id, deltas.compact()):
        k = action["Update"]["Key"]
        touched.add((k["pk"]["S"], k["sk"]["S"]))
    return touched


def pack_transactions(site_id: int, changes: Sequence[CellChange]) -> list[list[CellChange]]:
    """Groups cell changes so that each group's items fit in one transaction (a single cell always fits)."""
    groups: list[list[CellChange]] = []
    current: list[CellChange] = []
    current_items: set[SketchKey] = set()
    for change in changes:
        touched = _items_touched(site_id, change)
        if current and len(current_items | touched) > MAX_TRANSACTION_ITEMS:
            groups.append(current)
            current, current_items = [], set()
        current.append(change)
        current_items |= touched
    if current:
        groups.append(current)
    return groups


def apply_cell_changes(site_id: int, changes: Sequence[CellChange]) -> None:
    """Atomically replaces the cells and moves the rollups by their deltas (raises CellConflict)."""
    deltas = Deltas()
    for change in changes:
        deltas.add_cell_change(change.old.cell if change.old else None, change.new)
    actions = [_cell_action(site_id, change) for change in changes] + _delta_actions(
        site_id, deltas.compact()
    )
    for attempt in range(8):
        try:
            dynamodb().transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
            return
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                raise CellConflict from error
            time.sleep(min(1.0, 0.02 * 2**attempt) * random.random())
    raise RuntimeError("transaction kept conflicting")


# --- visitors ------------------------------------------------------------------------------------


def _numbers(item: dict[str, Any], name: str) -> set[int]:
    return {int(v) for v in item.get(name, {}).get("NS", [])}


# Which identified / hot-lead sketches hold the visitor: hours `ih` / `hh`, days `id` / `hd` (number sets).
NOTES = ("ih", "id", "hh", "hd")


def get_visitor(site_id: int, visitor: str) -> VisitorState:
    """The visitor's state from its whole partition (every cell, and the visitor item): one strongly
    consistent Query, so it sees every cell committed before it, whichever consumer wrote it."""
    state = VisitorState()
    request: dict[str, Any] = {
        "TableName": rollups_table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": visitor_partition(site_id, visitor)}},
        "ConsistentRead": True,
    }
    for item in query_all(request):
        sk = item["sk"]["S"]
        if sk == VISITOR_SK:
            state.stored_identity_key = item.get("ik", {}).get("S")
            state.identified_hours, state.identified_days, state.hot_hours, state.hot_days = (
                _numbers(item, name) for name in NOTES
            )
        elif sk.startswith(CELL_PREFIX):
            session_id, hour = split_cell_sort_key(sk)
            state.add_cell(session_id, Cell.decode(f"{hour}#{visitor}", item["d"]["S"]))
    return state


def update_visitor(
    site_id: int, visitor: str, identity: tuple[str, str] | None, notes: dict[str, set[int]]
) -> None:
    """One write of the visitor item: the identity when later than the stored one (a max-register keyed by
    event time) and the new content of the notes that changed (an empty set removes the attribute).

    Notes are only ever set to what is true (sketches merged before), so a concurrent writer's notes
    overwritten here are merely redone, as no-op merges, the next time the visitor is touched."""
    sets, removes = [], []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, numbers in notes.items():
        names[f"#{name}"] = name
        if numbers:
            values[f":{name}"] = {"NS": [str(x) for x in sorted(numbers)]}
            sets.append(f"#{name} = :{name}")
        else:
            removes.append(f"#{name}")
    request: dict[str, Any] = {
        "TableName": rollups_table(),
        "Key": key(visitor_partition(site_id, visitor), VISITOR_SK),
    }
    if identity:
        sets.append("ik = :ik, uid = :uid")
        values |= {":ik": {"S": identity[0]}, ":uid": {"S": identity[1]}}
        request["ConditionExpression"] = "attribute_not_exists(ik) OR ik < :ik"
    if not sets and not removes:
        return
    parts = [f"SET {', '.join(sets)}" if sets else "", f"REMOVE {', '.join(removes)}" if removes else ""]
    request["UpdateExpression"] = " ".join(part for part in parts if part)
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = values
    try:
        dynamodb().update_item(**request)
    except ClientError as error:
        if not identity or error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # A later identity was stored meanwhile: keep it, write the rest.
        update_visitor(site_id, visitor, None, notes)


def visitor_item(
    site_id: int, visitor: str, identity: tuple[str, str] | None, notes: dict[str, set[int]]
) -> dict[str, Any] | None:
    """The visitor item `update_visitor` leaves on an empty table (None: it would not write one)."""
    item = key(visitor_partition(site_id, visitor), VISITOR_SK)
    if identity:
        item |= {"ik": {"S": identity[0]}, "uid": {"S": identity[1]}}
    for name, numbers in notes.items():
        if numbers:
            item[name] = {"NS": [str(x) for x in sorted(numbers)]}
    return item if len(item) > 2 else None


# --- sketches ------------------------------------------------------------------------------------


@dataclass
class SketchPack:
    """All HLL sketches of one bucket in one item (`<bucket>#s`), until it grows past PACK_LIMIT; then it is
    `split` and each sketch lives in its own item (`<bucket>#u#v`, `<bucket>#g#Canada`, ...)."""

    sketches: dict[str, bytes] = field(default_factory=dict)
    version: int = 0
    split: bool = False


def get_sketch_packs(buckets: Iterable[SketchKey]) -> dict[SketchKey, SketchPack]:
    """(pk, bucket key) → the bucket's pack (empty when it does not exist yet)."""
    wanted = list(buckets)
    found = {bucket: SketchPack() for bucket in wanted}
    for item in _batch_get([key(pk, f"{bucket}#s") for pk, bucket in wanted]):
        bucket = item["sk"]["S"].rsplit("#", 1)[0]
        found[(item["pk"]["S"], bucket)] = SketchPack(
            {name: bytes(value["B"]) for name, value in item.get("m", {}).get("M", {}).items()},
            int(item["n"]["N"]),
            item.get("split", {}).get("BOOL", False),
        )
    return found


def put_sketch_pack(bucket: SketchKey, pack: SketchPack) -> bool:
    """Optimistic write of a whole pack (False: someone else wrote it first)."""
    pk, bucket_key = bucket
    item: dict[str, Any] = {
        **key(pk, f"{bucket_key}#s"),
        "m": {"M": {name: {"B": blob} for name, blob in pack.sketches.items()}},
        "n": n(pack.version + 1),
    }
    if pack.split:
        item["split"] = {"BOOL": True}
    return _put_versioned(item, pack.version)


def get_sketches(keys: Iterable[SketchKey]) -> dict[SketchKey, tuple[bytes, int]]:
    found: dict[SketchKey, tuple[bytes, int]] = {}
    for item in _batch_get([key(pk, sk) for pk, sk in keys]):
        found[(item["pk"]["S"], item["sk"]["S"])] = (bytes(item["s"]["B"]), int(item["n"]["N"]))
    return found


def put_sketch(sketch_key: SketchKey, blob: bytes, version: int) -> bool:
    """Optimistic write: False when another writer got there first (re-read, merge, try again)."""
    return _put_versioned({**key(*sketch_key), "s": {"B": blob}, "n": n(version + 1)}, version)


def _put_versioned(item: dict[str, Any], version: int) -> bool:
    request: dict[str, Any] = {"TableName": rollups_table(), "Item": item}
    if version:
        request |= {"ConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": n(version)}}
    else:
        request["ConditionExpression"] = "attribute_not_exists(pk)"
    try:
        dynamodb().put_item(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _batch_get(keys: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Strongly consistent BatchGetItem over any number of keys, retrying unprocessed ones."""
    unique = list({(k["pk"]["S"], k["sk"]["S"]): k for k in keys}.values())
    for start in range(0, len(unique), MAX_BATCH_GET):
        pending: dict[str, Any] = {
            rollups_table(): {"Keys": unique[start : start + MAX_BATCH_GET], "ConsistentRead": True}
        }
        attempt = 0
        while pending:
            response = dynamodb().batch_get_item(RequestItems=pending)
            yield from response.get("Responses", {}).get(rollups_table(), [])
            pending = response.get("UnprocessedKeys") or {}
            if pending:
                attempt += 1
                time.sleep(min(1.0, 0.02 * 2**attempt) * random.random())


# --- bulk writes (rebuild) -----------------------------------------------------------------------


def new_item_of(action: dict[str, Any]) -> dict[str, Any]:
    """The item an `ADD`-only update or a put of this module would create on an empty table."""
    if "Put" in action:
        item: dict[str, Any] = action["Put"]["Item"]
        return item
    update = action["Update"]
    created = dict(update["Key"])
    for placeholder, name in update["ExpressionAttributeNames"].items():
        created[name] = update["ExpressionAttributeValues"][":" + placeholder[1:]]
    return created


def cell_item(site_id: int, session_id: str, cell: Cell, version: int = 1) -> dict[str, Any]:
    item = new_item_of(_cell_action(site_id, CellChange(session_id, None, cell)))
    return item | {"v": n(version)}


def delta_items(site_id: int, deltas: Deltas) -> list[dict[str, Any]]:
    return [new_item_of(action) for action in _delta_actions(site_id, deltas.compact())]


def sketch_items(
    bucket: SketchKey, sketches: dict[str, bytes], limit: int, version: int = 1
) -> list[dict[str, Any]]:
    """A bucket's sketches as one pack, or (past `limit` bytes) a split marker plus one item per sketch."""
    pk, bucket_key = bucket
    if sum(len(name) + len(blob) for name, blob in sketches.items()) <= limit:
        pack = {name: {"B": blob} for name, blob in sketches.items()}
        return [{**key(pk, f"{bucket_key}#s"), "m": {"M": pack}, "n": n(version)}]
    marker = {**key(pk, f"{bucket_key}#s"), "m": {"M": {}}, "n": n(version), "split": {"BOOL": True}}
    return [marker] + [
        {**key(pk, f"{bucket_key}#{name}"), "s": {"B": blob}, "n": n(version)}
        for name, blob in sketches.items()
    ]


def write_items(items: Sequence[dict[str, Any]], workers: int = 8) -> None:
    """BatchWriteItem in parallel chunks of 25, retrying unprocessed items."""
    from concurrent.futures import ThreadPoolExecutor

    def write(chunk: Sequence[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {rollups_table(): [{"PutRequest": {"Item": item}} for item in chunk]}
        attempt = 0
        while pending:
            pending = dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if pending:
                attempt += 1
                time.sleep(min(1.0, 0.02 * 2**attempt) * random.random())

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write, [items[i : i + 25] for i in range(0, len(items), 25)]))


def delete_partitions(partitions: Iterable[str], workers: int = 8) -> int:
    """Deletes every item of the given rollup partitions; returns how many were deleted."""
    from concurrent.futures import ThreadPoolExecutor

    def keys_of(pk: str) -> list[dict[str, Any]]:
        return list(
            query_all(
                {
                    "TableName": rollups_table(),
                    "KeyConditionExpression": "pk = :pk",
                    "ExpressionAttributeValues": {":pk": {"S": pk}},
                    "ProjectionExpression": "pk, sk",
                }
            )
        )

    def delete(chunk: Sequence[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {rollups_table(): [{"DeleteRequest": {"Key": k}} for k in chunk]}
        while pending:
            pending = dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        keys = [k for found in pool.map(keys_of, partitions) for k in found]
        list(pool.map(delete, [keys[i : i + 25] for i in range(0, len(keys), 25)]))
    return len(keys)
