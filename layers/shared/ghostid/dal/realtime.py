"""A site's realtime item: `pk=<site>#R`, `sk=rt` (one small item read by GET /api/realtime).

`b` is a packed `Live`: for the last few minutes every event as (event hash, visitor hash, is a pageview,
page) so replays add nothing, and for older minutes of the last half hour only their frozen counts.
`n` is the item's version for optimistic writes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from ghostid.dal.client import dynamodb, put_if
from ghostid.dal.codec import n
from ghostid.dal.packing import pack, unpack
from ghostid.settings import rollups_table

LiveEvent = tuple[int, int, int, str]  # event hash, visitor hash, 1 for a pageview, page
# An older minute keeps, per event, a 32-bit hash of it (enough to recognise a replay among a half hour's
# events) -> (visitor hash, 1 for a pageview); no page (only the last five minutes rank pages).
FrozenMinute = dict[int, tuple[int, int]]
LAYOUT = 2  # 1: frozen minutes were bare counts (such items lose them: they expire within 30 minutes)
_FROZEN_ENTRY = struct.Struct("<IIB")


@dataclass
class Live:
    minutes: dict[int, dict[int, LiveEvent]] = field(default_factory=dict)  # minute start -> event hash ->
    frozen: dict[int, FrozenMinute] = field(default_factory=dict)  # minute start -> its events


def _key(site_id: int) -> dict[str, Any]:
    return {"pk": {"S": f"{site_id}#R"}, "sk": {"S": "rt"}}


def get_live(site_id: int, consistent: bool = False) -> tuple[Live, int]:
    item = (
        dynamodb()
        .get_item(TableName=rollups_table(), Key=_key(site_id), ConsistentRead=consistent)
        .get("Item")
    )
    if item is None:
        return Live(), 0
    data, blobs = unpack(bytes(item["b"]["B"]))
    minutes, frozen = data[0], (data[1] if len(data) > 2 and data[2] == LAYOUT else [])
    live = Live(
        {int(m): {e[0]: (e[0], e[1], e[2], e[3]) for e in events} for m, events in minutes},
        {int(m): _frozen_minute(blobs[index]) for m, index in frozen},
    )
    return live, int(item["n"]["N"])


def _frozen_minute(blob: bytes) -> FrozenMinute:
    return {event: (visitor, pageview) for event, visitor, pageview in _FROZEN_ENTRY.iter_unpack(blob)}


def _frozen_blob(minute: FrozenMinute) -> bytes:
    return b"".join(_FROZEN_ENTRY.pack(event, visitor, pv) for event, (visitor, pv) in sorted(minute.items()))


def _item(site_id: int, live: Live, version: int) -> dict[str, Any]:
    minutes = [[m, [list(e) for e in events.values()]] for m, events in sorted(live.minutes.items())]
    ordered = sorted(live.frozen.items())
    frozen = [[m, i] for i, (m, _) in enumerate(ordered)]
    blobs = [_frozen_blob(events) for _, events in ordered]
    return {**_key(site_id), "b": {"B": pack([minutes, frozen, LAYOUT], blobs)}, "n": n(version + 1)}


def put_live_unconditionally(site_id: int, live: Live) -> None:
    dynamodb().put_item(TableName=rollups_table(), Item=_item(site_id, live, 0))


def put_live(site_id: int, live: Live, version: int) -> bool:
    item = _item(site_id, live, version)
    request: dict[str, Any] = {"TableName": rollups_table(), "Item": item}
    if version:
        request |= {"ConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": n(version)}}
    else:
        request["ConditionExpression"] = "attribute_not_exists(pk)"
    return put_if(request)
