"""A site's realtime items, partition `<site>#R`.

- `rt` (the one item GET /api/realtime reads): `b` a packed `Live` without its frozen events: for the last
  few minutes every event as (event hash, visitor hash, is a pageview, page), so replays add nothing, and
  for older minutes of the last half hour their (pageviews, visitors); `n` its version for optimistic
  writes.
  An older minute's events as 32-bit hashes (so an event stored late or replayed is recognised in its
  minute) are in `rt` too while they are few (at most INLINE_EVENTS), else in:
- `m#<slot>` (read and written by the consumer only): one older minute's events (`m` the minute, `b` the
  packed entries, `n` the version). Slot = minute number modulo the half hour: 30 items per site, each
  reused when its minute leaves the half hour. Keeping busy minutes out of `rt` keeps the item the route
  reads (and every batch rewrites) to the live minutes: at 10 million events a month, 26 KB instead of
  68 KB; a quiet site's few events stay in `rt`, so freezing a minute costs it no request.
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
Counts = tuple[int, int]  # pageviews, distinct visitors
# 3: older minutes as counts, their events inline when few, else in `m#<slot>` items; 2: every older
# minute's events inline (the next batch moves the busy ones out); 1: bare counts, as 3 stores them.
LAYOUT = 3
_FROZEN_ENTRY = struct.Struct("<IIB")
SLOTS = 30
INLINE_EVENTS = 16


@dataclass
class Live:
    minutes: dict[int, dict[int, LiveEvent]] = field(default_factory=dict)  # minute start -> event hash ->
    counts: dict[int, Counts] = field(default_factory=dict)  # older minutes of the half hour
    # Older minutes' events, where known: the few `rt` holds, and those a fold loaded or built.
    frozen: dict[int, FrozenMinute] = field(default_factory=dict)

    def busy(self) -> dict[int, FrozenMinute]:
        """The older minutes whose events are stored in items of their own."""
        return {m: events for m, events in self.frozen.items() if len(events) > INLINE_EVENTS}


@dataclass(frozen=True)
class StoredMinute:
    events: FrozenMinute
    version: int  # of the slot's item, whatever minute it holds (0: none)
    expired: bool = False  # the slot holds a later minute: this one left the half hour (a late clock)


def _key(site_id: int, sk: str = "rt") -> dict[str, Any]:
    return {"pk": {"S": f"{site_id}#R"}, "sk": {"S": sk}}


def _slot_key(site_id: int, minute: int) -> dict[str, Any]:
    return _key(site_id, f"m#{minute // 60_000 % SLOTS}")


def get_live(site_id: int, consistent: bool = False) -> tuple[Live, int]:
    """The route's item, with the older minutes' events it holds in `frozen`."""
    item = (
        dynamodb()
        .get_item(TableName=rollups_table(), Key=_key(site_id), ConsistentRead=consistent)
        .get("Item")
    )
    if item is None:
        return Live(), 0
    data, blobs = unpack(bytes(item["b"]["B"]))
    minutes = {int(m): {e[0]: (e[0], e[1], e[2], e[3]) for e in events} for m, events in data[0]}
    layout = data[2] if len(data) > 2 else 1
    if layout == 2:
        frozen = {int(m): _frozen_minute(blobs[index]) for m, index in data[1]}
        live = Live(minutes, {m: counts_of(events) for m, events in frozen.items()}, frozen)
    else:
        inline = {int(m): _frozen_minute(blobs[index]) for m, index in (data[3] if layout == 3 else [])}
        live = Live(minutes, {int(m): (int(pv), int(v)) for m, pv, v in data[1]}, inline)
    return live, int(item["n"]["N"])


def counts_of(minute: FrozenMinute) -> Counts:
    return sum(pv for _, pv in minute.values()), len({visitor for visitor, _ in minute.values()})


def _frozen_minute(blob: bytes) -> FrozenMinute:
    return {event: (visitor, pageview) for event, visitor, pageview in _FROZEN_ENTRY.iter_unpack(blob)}


def _frozen_blob(minute: FrozenMinute) -> bytes:
    return b"".join(_FROZEN_ENTRY.pack(event, visitor, pv) for event, (visitor, pv) in sorted(minute.items()))


def _item(site_id: int, live: Live, version: int) -> dict[str, Any]:
    minutes = [[m, [list(e) for e in events.values()]] for m, events in sorted(live.minutes.items())]
    counts = [[m, pv, v] for m, (pv, v) in sorted(live.counts.items())]
    busy = live.busy()
    inline = sorted((m, events) for m, events in live.frozen.items() if m not in busy)
    index = [[m, i] for i, (m, _) in enumerate(inline)]
    body = pack([minutes, counts, LAYOUT, index], [_frozen_blob(events) for _, events in inline])
    return {**_key(site_id), "b": {"B": body}, "n": n(version + 1)}


def get_minute(site_id: int, minute: int) -> StoredMinute:
    """An older minute's events (none if its slot holds another minute), read exactly: it is rewritten
    conditionally on the version."""
    item = (
        dynamodb()
        .get_item(TableName=rollups_table(), Key=_slot_key(site_id, minute), ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        return StoredMinute({}, 0)
    version, held = int(item["n"]["N"]), int(item["m"]["N"])
    if held != minute:
        return StoredMinute({}, version, expired=held > minute)
    _data, blobs = unpack(bytes(item["b"]["B"]))
    return StoredMinute(_frozen_minute(blobs[0]), version)


def _minute_item(site_id: int, minute: int, events: FrozenMinute, version: int) -> dict[str, Any]:
    body = pack([LAYOUT], [_frozen_blob(events)])
    return {**_slot_key(site_id, minute), "m": n(minute), "b": {"B": body}, "n": n(version + 1)}


def put_minute(site_id: int, minute: int, events: FrozenMinute, version: int) -> bool:
    """Stores an older minute's events unless its slot changed since `version` was read."""
    return put_if(_conditional(_minute_item(site_id, minute, events, version), version))


def _conditional(item: dict[str, Any], version: int) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": rollups_table(), "Item": item}
    if version:
        request |= {"ConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": n(version)}}
    else:
        request["ConditionExpression"] = "attribute_not_exists(pk)"
    return request


def put_live_unconditionally(site_id: int, live: Live) -> None:
    """A rebuild's or a load's items: the route's and its busy minutes'."""
    for minute, events in live.busy().items():
        dynamodb().put_item(TableName=rollups_table(), Item=_minute_item(site_id, minute, events, 0))
    dynamodb().put_item(TableName=rollups_table(), Item=_item(site_id, live, 0))


def put_live(site_id: int, live: Live, version: int) -> bool:
    return put_if(_conditional(_item(site_id, live, version), version))
