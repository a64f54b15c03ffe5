"""The time tree of a site's rollups: aggregate nodes and presence items (key layout and encoding).

- Nodes `pk=<site>#N#<level>`, `sk=<family>#<period>`: level `H` (a local hour, period = its UTC start
  `2026-03-10T16:45Z`), `D` (local date), `W` (ISO week `2026-W11`), `M` (`2026-03`), or `P` (a prefix:
  period = its kind, e.g. `30d`, and attribute `a` = the span it was built for). One item per family (the
  overview `o`, and one per dimension), so a read fetches only the families it needs. Attribute `b` is a
  packed payload (`ghostid.dal.packing`); a payload past ITEM_LIMIT is continued in items `<sk>#1`, `#2`...
  (a prefix's dimension family always has a `#1`, without payload when it fits: readers ask for it).
- Presence `pk=<site>#X#<level>`, `sk=<period>`: the identified visitors (`i`) and hot leads (`h`) of a
  period, kept current by reach-back; `n` is its version for optimistic writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ghostid.dal.client import Key, batch_get, batch_write, put_if
from ghostid.dal.codec import n
from ghostid.dal.packing import pack, unpack
from ghostid.distinct import Distinct
from ghostid.models.dimensions import BY_NAME, OVERVIEW
from ghostid.models.rollups import Aggregate, Presence
from ghostid.settings import rollups_table

Level = Literal["H", "D", "W", "M", "P"]
NODE_FORMAT = 1
ITEM_LIMIT = 380_000


@dataclass(frozen=True)
class NodeRef:
    level: Level
    period: str  # hour key, date, week, month, or prefix kind


@dataclass
class StoredNode:
    """The families of one node that were found (missing families are absent from `aggregate.rows`)."""

    aggregate: Aggregate
    families: set[str]
    anchor: str = ""
    gen: int = 0


def node_key(site_id: int, ref: NodeRef, family: str) -> Key:
    return (f"{site_id}#N#{ref.level}", f"{family}#{ref.period}")


def presence_key(site_id: int, level: Level, period: str) -> Key:
    return (f"{site_id}#X#{level}", period)


# --- encoding ---------------------------------------------------------------------------------------


def encode_family(aggregate: Aggregate, family: str) -> bytes:
    blobs: list[bytes] = []
    if family == OVERVIEW:
        blobs.append(aggregate.visitors.to_bytes())
        data: Any = [aggregate.sessions, aggregate.pageviews, aggregate.events]
        return pack(data, blobs)
    rows = aggregate.rows.get(family, {})
    sketches = aggregate.row_visitors.get(family, {})
    entries = []
    for value, row in rows.items():
        sketch = sketches.get(value)
        if sketch is not None:
            blobs.append(sketch.to_bytes())
        entries.append([value, *row, len(blobs) - 1 if sketch is not None else -1])
    return pack(entries, blobs)


def decode_family(into: Aggregate, family: str, payload: bytes) -> None:
    data, blobs = unpack(payload)
    if family == OVERVIEW:
        into.sessions, into.pageviews, into.events = data
        into.visitors = Distinct.from_bytes(blobs[0])
        return
    into.rows.setdefault(family, {}).update({entry[0]: entry[1:4] for entry in data})
    if BY_NAME[family].has_visitors and blobs:
        sketches = into.row_visitors.setdefault(family, {})
        for value, _, _, _, blob in data:
            if blob >= 0:
                sketches[value] = Distinct.from_bytes(blobs[blob])


def has_data(aggregate: Aggregate) -> bool:
    return aggregate.events > 0 or bool(aggregate.rows)


# --- writes -----------------------------------------------------------------------------------------


def node_items(
    site_id: int, ref: NodeRef, aggregate: Aggregate, families: Iterable[str], anchor: str = "", gen: int = 0
) -> list[dict[str, Any]]:
    """The items that store these families of a node (an empty family is still written, so a reader can
    tell "nothing happened" from "not built")."""
    items = []
    for family in families:
        pk, sk = node_key(site_id, ref, family)
        payload = encode_family(aggregate, family)
        chunks = [payload[i : i + ITEM_LIMIT] for i in range(0, len(payload), ITEM_LIMIT)] or [b""]
        head: dict[str, Any] = {
            "pk": {"S": pk},
            "sk": {"S": sk},
            "b": {"B": chunks[0]},
            "v": n(NODE_FORMAT),
            "g": n(gen),
        }
        if anchor:
            head["a"] = {"S": anchor}
        if len(chunks) > 1:
            head["k"] = n(len(chunks) - 1)
        items.append(head)
        items += [
            {"pk": {"S": pk}, "sk": {"S": f"{sk}#{i}"}, "b": {"B": c}} for i, c in enumerate(chunks[1:], 1)
        ]
        if len(chunks) == 1 and _may_continue(ref, family):
            # Readers ask for the first continuation: an empty one replaces what a bigger payload left.
            items.append({"pk": {"S": pk}, "sk": {"S": f"{sk}#1"}})
    return items


def put_nodes(items: list[dict[str, Any]]) -> None:
    batch_write(rollups_table(), items)


def put_nodes_if_newer(items: list[dict[str, Any]], gen: int) -> int:
    """Conditional puts: an item is replaced only by one built at a later generation. Returns how many
    were written (the others lost to a later batch's)."""
    written = 0
    for item in items:
        written += put_if(
            {
                "TableName": rollups_table(),
                "Item": item,
                "ConditionExpression": "attribute_not_exists(g) OR g < :g",
                "ExpressionAttributeValues": {":g": n(gen)},
            }
        )
    return written


# --- reads ------------------------------------------------------------------------------------------


@dataclass
class TreeRead:
    nodes: dict[NodeRef, StoredNode]
    presence: dict[tuple[Level, str], Presence]


def read_tree(
    site_id: int,
    nodes: Iterable[tuple[NodeRef, Iterable[str]]],
    presence: Iterable[tuple[Level, str]] = (),
    consistent: bool = False,
) -> TreeRead:
    """The requested families of the requested nodes and the requested presence items, in one BatchGetItem
    (more only past 100 keys, for payloads continued past a prefix's first continuation, or for unprocessed
    keys). A prefix's dimension family is the one payload that outgrows an item on a big site (at 10
    million events a month, 632 KB for `source` over 30 days): its first continuation is asked for with
    it, which costs half a unit when there is none and saves a round trip when there is."""
    wanted = [(ref, family) for ref, families in nodes for family in families]
    presence_list = list(dict.fromkeys(presence))
    keys = [node_key(site_id, ref, family) for ref, family in wanted]
    keys += [
        _continuation(node_key(site_id, ref, family), 1)
        for ref, family in wanted
        if _may_continue(ref, family)
    ]
    keys += [presence_key(site_id, level, period) for level, period in presence_list]
    found = batch_get(rollups_table(), keys, consistent)
    _fetch_continuations(found, consistent)
    result = TreeRead({}, {})
    for ref, family in wanted:
        item = found.get(node_key(site_id, ref, family))
        if item is None:
            continue
        stored = result.nodes.setdefault(ref, StoredNode(Aggregate(), set()))
        decode_family(stored.aggregate, family, _payload(item, found))
        stored.families.add(family)
        stored.anchor = item.get("a", {}).get("S", "")
        stored.gen = int(item.get("g", {}).get("N", "0"))
    for level, period in presence_list:
        item = found.get(presence_key(site_id, level, period))
        result.presence[(level, period)] = decode_presence(item)
    return result


def _may_continue(ref: NodeRef, family: str) -> bool:
    return ref.level == "P" and family != OVERVIEW


def _continuation(key: Key, number: int) -> Key:
    return key[0], f"{key[1]}#{number}"


def _fetch_continuations(found: dict[Key, dict[str, Any]], consistent: bool) -> None:
    more = [
        _continuation(key, i)
        for key, item in list(found.items())
        for i in range(1, int(item.get("k", {}).get("N", "0")) + 1)
        if _continuation(key, i) not in found
    ]
    if more:
        found.update(batch_get(rollups_table(), more, consistent))


def _payload(head: dict[str, Any], found: dict[Key, dict[str, Any]]) -> bytes:
    pk, sk = head["pk"]["S"], head["sk"]["S"]
    parts = [bytes(head["b"]["B"])]
    for i in range(1, int(head.get("k", {}).get("N", "0")) + 1):
        parts.append(bytes(found[_continuation((pk, sk), i)]["b"]["B"]))
    return b"".join(parts)


# --- presence ---------------------------------------------------------------------------------------


def decode_presence(item: dict[str, Any] | None) -> Presence:
    if item is None:
        return Presence()
    return Presence(
        identified=Distinct.from_bytes(bytes(item["i"]["B"])) if "i" in item else Distinct(),
        hot=Distinct.from_bytes(bytes(item["h"]["B"])) if "h" in item else Distinct(),
    )


def get_presence_versions(
    site_id: int, periods: Iterable[tuple[Level, str]]
) -> dict[tuple[Level, str], tuple[Presence, int]]:
    """Presence items with their versions, strongly consistent (for read-merge-write)."""
    wanted = list(dict.fromkeys(periods))
    found = batch_get(rollups_table(), [presence_key(site_id, lv, p) for lv, p in wanted], consistent=True)
    result = {}
    for level, period in wanted:
        item = found.get(presence_key(site_id, level, period))
        result[(level, period)] = (decode_presence(item), int(item["n"]["N"]) if item else 0)
    return result


def put_presence(site_id: int, level: Level, period: str, presence: Presence, version: int) -> bool:
    """Optimistic write: False when another writer got there first (re-read, merge, try again)."""
    pk, sk = presence_key(site_id, level, period)
    item = {
        "pk": {"S": pk},
        "sk": {"S": sk},
        "i": {"B": presence.identified.to_bytes()},
        "h": {"B": presence.hot.to_bytes()},
        "n": n(version + 1),
    }
    request: dict[str, Any] = {"TableName": rollups_table(), "Item": item}
    if version:
        request |= {"ConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": n(version)}}
    else:
        request["ConditionExpression"] = "attribute_not_exists(pk)"
    return put_if(request)


def presence_items(site_id: int, level: Level, period: str, presence: Presence) -> dict[str, Any]:
    pk, sk = presence_key(site_id, level, period)
    return {
        "pk": {"S": pk},
        "sk": {"S": sk},
        "i": {"B": presence.identified.to_bytes()},
        "h": {"B": presence.hot.to_bytes()},
        "n": n(1),
    }


def delete_partitions(partitions: Iterable[str], workers: int = 8) -> int:
    """Deletes every item of the given rollup partitions; returns how many were deleted."""
    from concurrent.futures import ThreadPoolExecutor

    from ghostid.dal.client import query_all

    def keys_of(pk: str) -> list[Key]:
        request = {
            "TableName": rollups_table(),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ProjectionExpression": "pk, sk",
        }
        return [(item["pk"]["S"], item["sk"]["S"]) for item in query_all(request)]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        keys = [key for found in pool.map(keys_of, list(partitions)) for key in found]
        chunks = [keys[i : i + 25] for i in range(0, len(keys), 25)]
        list(pool.map(lambda chunk: batch_write(rollups_table(), [], chunk), chunks))
    return len(keys)
