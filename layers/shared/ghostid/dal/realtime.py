"""A site's realtime item: `pk=<site>#R`, `sk=rt` (one small item read by GET /api/realtime).

`b` is a packed `Live`: for the last few minutes every event as (event hash, visitor hash, is a pageview,
page) so replays add nothing, and for older minutes of the last half hour only their frozen counts.
`n` is the item's version for optimistic writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ghostid.dal.client import dynamodb, put_if
from ghostid.dal.codec import n
from ghostid.dal.packing import pack, unpack
from ghostid.settings import rollups_table

LiveEvent = tuple[int, int, int, str]  # event hash, visitor hash, 1 for a pageview, page


@dataclass
class Live:
    minutes: dict[int, dict[int, LiveEvent]] = field(default_factory=dict)  # minute start -> event hash ->
    frozen: dict[int, tuple[int, int]] = field(default_factory=dict)  # minute start -> (pageviews, visitors)


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
    (minutes, frozen), _ = unpack(bytes(item["b"]["B"]))
    live = Live(
        {int(m): {e[0]: (e[0], e[1], e[2], e[3]) for e in events} for m, events in minutes},
        {int(m): (p, v) for m, p, v in frozen},
    )
    return live, int(item["n"]["N"])


def _item(site_id: int, live: Live, version: int) -> dict[str, Any]:
    minutes = [[m, [list(e) for e in events.values()]] for m, events in sorted(live.minutes.items())]
    frozen = [[m, p, v] for m, (p, v) in sorted(live.frozen.items())]
    return {**_key(site_id), "b": {"B": pack([minutes, frozen], [])}, "n": n(version + 1)}


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
