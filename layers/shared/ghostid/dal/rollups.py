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


def cells_partition(site_id: int, session_id: str) -> str:
    return f"{site_id}#S#{session_id}"


def visitor_partition(site_id: int, visitor: str) -> str:
    return f"{site_id}#V#{visitor}"


# --- reads for the API -------------------------------------------------------------------------


def query_window(site_id: int, window: Window) -> Iterator[dict[str, Any]]:
    """Every rollup item of the window's buckets: one Query (more pages only for very large sites)."""
    request: dict[str, Any] = {
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
            Key=key(visitor_partition(site_id, visitor), "v"),
            ProjectionExpression="uid",
        )
        .get("Item")
    )
    return item["uid"]["S"] if item and "uid" in item else None


# --- session cells -------------------------------------------------------------------------------


def query_cells(site_id: int, session_id: str) -> dict[str, StoredCell]:
    cells: dict[str, StoredCell] = {}
    request: dict[str, Any] = {
        "TableName": rollups_table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": cells_partition(site_id, session_id)}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb().query(**request)
        for item in page.get("Items", []):
            cell_key = item["sk"]["S"]
            cells[cell_key] = StoredCell(
                session_id, Cell.decode(cell_key, item["d"]["S"]), int(item["v"]["N"])
            )
        if "LastEvaluatedKey" not in page:
            return cells
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _cell_action(site_id: int, change: CellChange) -> dict[str, Any]:
    version = change.old.version if change.old else 0
    put: dict[str, Any] = {
        "TableName": rollups_table(),
        "Item": {
            **key(cells_partition(site_id, change.session_id), change.new.key),
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
    touched = {(cells_partition(site_id, change.session_id), change.new.key)}
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


SESSION_SCORE = "s:"  # one attribute per session with lead-score parts: `s:<session_id>` = "hi,cu"


def visitor_state_of(item: dict[str, Any]) -> VisitorState:
    sessions = {}
    for name, value in item.items():
        if name.startswith(SESSION_SCORE):
            high_intent, custom = value["S"].split(",")
            sessions[name[len(SESSION_SCORE) :]] = (int(high_intent), int(custom))
    return VisitorState(
        sessions=sessions,
        hours=_numbers(item, "hrs"),
        days=_numbers(item, "dys"),
        identity_key=item.get("ik", {}).get("S"),
        user_id=item.get("uid", {}).get("S"),
        identified_hours=_numbers(item, "ih"),
        identified_days=_numbers(item, "id"),
        hot_hours=_numbers(item, "hh"),
        hot_days=_numbers(item, "hd"),
    )


def get_visitors(site_id: int, visitors: Iterable[str]) -> dict[str, VisitorState]:
    keys = [key(visitor_partition(site_id, v), "v") for v in visitors]
    return {item["pk"]["S"].split("#V#", 1)[1]: visitor_state_of(item) for item in _batch_get(keys)}


def score_attributes(sessions: dict[str, tuple[int, int]]) -> dict[str, Any]:
    return {f"{SESSION_SCORE}{sid}": {"S": f"{hi},{cu}"} for sid, (hi, cu) in sessions.items()}


def update_visitor(
    site_id: int,
    visitor: str,
    sessions: dict[str, tuple[int, int]],
    hours: set[int],
    days: set[int],
    identity: tuple[str, str] | None = None,
) -> VisitorState:
    """One write: sessions' score parts (SET), active buckets (ADD) and, when later than the stored one,
    the identity (a max-register keyed by event time). Each part is idempotent; returns the state after."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets, adds = [], []
    for i, (name, value) in enumerate(score_attributes(sessions).items()):
        names[f"#s{i}"], values[f":s{i}"] = name, value
        sets.append(f"#s{i} = :s{i}")
    for name, numbers in (("hrs", hours), ("dys", days)):
        if numbers:
            names[f"#{name}"], values[f":{name}"] = name, {"NS": [str(x) for x in sorted(numbers)]}
            adds.append(f"#{name} :{name}")
    request: dict[str, Any] = {
        "TableName": rollups_table(),
        "Key": key(visitor_partition(site_id, visitor), "v"),
        "ReturnValues": "ALL_NEW",
    }
    if identity:
        sets.append("ik = :ik, uid = :uid")
        values |= {":ik": {"S": identity[0]}, ":uid": {"S": identity[1]}}
        request["ConditionExpression"] = "attribute_not_exists(ik) OR ik < :ik"
    parts = [f"SET {', '.join(sets)}" if sets else "", f"ADD {', '.join(adds)}" if adds else ""]
    request["UpdateExpression"] = " ".join(part for part in parts if part)
    if names:
        request["ExpressionAttributeNames"] = names
    request["ExpressionAttributeValues"] = values
    try:
        return visitor_state_of(dynamodb().update_item(**request)["Attributes"])
    except ClientError as error:
        if not identity or error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    # A later identity was stored meanwhile: keep it, write the rest.
    return update_visitor(site_id, visitor, sessions, hours, days, None)


def record_reach_back(
    site_id: int, visitor: str, added: dict[str, set[int]], expired_hours: set[int]
) -> None:
    """Notes which identified/hot sketches now hold the visitor; forgets hours past the reach-back horizon."""
    visitor_key = key(visitor_partition(site_id, visitor), "v")
    added = {name: numbers for name, numbers in added.items() if numbers}
    if added:
        names = {f"#n{i}": name for i, name in enumerate(added)}
        values: dict[str, Any] = {
            f":n{i}": {"NS": [str(x) for x in sorted(nums)]} for i, nums in enumerate(added.values())
        }
        dynamodb().update_item(
            TableName=rollups_table(),
            Key=visitor_key,
            UpdateExpression="ADD " + ", ".join(f"#n{i} :n{i}" for i in range(len(added))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    if expired_hours:
        dynamodb().update_item(
            TableName=rollups_table(),
            Key=visitor_key,
            UpdateExpression="DELETE #h :old, #ih :old, #hh :old",
            ExpressionAttributeNames={"#h": "hrs", "#ih": "ih", "#hh": "hh"},
            ExpressionAttributeValues={":old": {"NS": [str(x) for x in sorted(expired_hours)]}},
        )


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
