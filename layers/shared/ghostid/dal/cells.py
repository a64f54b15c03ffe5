"""Session cells: what each session contributes to each local hour, kept by local day.

`pk=<site>#C#<local date of the hour>`:
- `s#<start ms, 13 digits>#<session>`: the session's first cell (the hour of its first event), which also
  carries the session's summary as plain attributes, so the day partition lists sessions by start;
- `c#<hour start ms>#<session>`: the session's cells of its later hours.

Attribute `d` is the cell's packed rows; `n` the number of events of the session it was computed from
(a cell is only ever replaced by one computed from at least as many events); `f` the cell format.
(Cells of the first model lived in visitor partitions; `ghostid rollups rebuild` moves a site over.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ghostid.dal.client import Key, batch_get, dynamodb, query_all, update_if
from ghostid.dal.codec import n
from ghostid.dal.packing import pack, unpack
from ghostid.dal.visitors import decode_parts, encode_parts
from ghostid.models.dimensions import UNKNOWN
from ghostid.models.rollups import Cell, SessionParts, SessionSummary
from ghostid.settings import rollups_table
from ghostid.timeutil import HOUR_MS, Zone, day_key

CELL_FORMAT = 2
FIRST, LATER = "s#", "c#"

_SUMMARY_FIELDS = {
    "en": "ended_at",
    "ec": "event_count",
    "pc": "pageview_count",
}
_SUMMARY_TEXT = {
    "ep": "entry_page",
    "xp": "exit_page",
    "rf": "referrer",
    "co": "country",
    "ci": "city",
    "dt": "device_type",
    "br": "browser",
    "os": "os",
}


def day_partition(site_id: int, zone: Zone, hour: int) -> str:
    return f"{site_id}#C#{day_key(zone.date_of(hour))}"


def first_sort_key(start: int, session_id: str) -> str:
    return f"{FIRST}{start:013d}#{session_id}"


def later_sort_key(hour: int, session_id: str) -> str:
    return f"{LATER}{hour:013d}#{session_id}"


@dataclass(frozen=True)
class CellKey:
    pk: str
    sk: str


def cell_key(site_id: int, zone: Zone, cell: Cell, summary: SessionSummary | None) -> CellKey:
    pk = day_partition(site_id, zone, cell.hour)
    if cell.first and summary is not None:
        return CellKey(pk, first_sort_key(summary.started_at, cell.session_id))
    return CellKey(pk, later_sort_key(cell.hour, cell.session_id))


# --- writes -----------------------------------------------------------------------------------------


def cell_item(
    site_id: int, zone: Zone, cell: Cell, summary: SessionSummary | None, parts: SessionParts | None
) -> dict[str, Any]:
    """The stored cell; a session's first cell also carries its summary and lead parts."""
    key = cell_key(site_id, zone, cell, summary)
    item: dict[str, Any] = {
        "pk": {"S": key.pk},
        "sk": {"S": key.sk},
        "d": {"B": pack([int(cell.first), cell.pageviews, cell.events, cell.rows], [])},
        "n": n(cell.n),
        "h": n(cell.hour),
        "vid": {"S": cell.visitor},
        "sid": {"S": cell.session_id},
        "f": n(CELL_FORMAT),
    }
    if cell.first and summary is not None and parts is not None:
        item |= summary_attributes(summary) | {"pp": {"B": encode_parts(parts)}}
    return item


def summary_attributes(summary: SessionSummary) -> dict[str, Any]:
    """The summary as plain attributes (so lists can filter on them). The visitor's identity and status
    (`uid`, `hot`, `idf`) are only written when known: `put_cell` keeps what the consumer set there."""
    item: dict[str, Any] = {"st": n(summary.started_at)}
    if summary.hot or summary.identified:
        item |= status_attributes(summary.identified_user_id, summary.hot, summary.identified)
    for attribute, name in _SUMMARY_FIELDS.items():
        item[attribute] = n(getattr(summary, name))
    for attribute, name in _SUMMARY_TEXT.items():
        value = getattr(summary, name)
        if value is not None:
            item[attribute] = {"S": value}
    return item


def status_attributes(user_id: str | None, hot: bool, identified: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"hot": {"BOOL": hot}, "idf": {"BOOL": identified}}
    if user_id is not None:
        item["uid"] = {"S": user_id}
    return item


def put_cell(item: dict[str, Any]) -> bool:
    """Writes a cell unless one computed from more events is stored; True when what it counts changed (a
    replay rewrites the same cell: nothing downstream needs redoing). An update, not a put, so the
    visitor's identity and status set on a first cell survive its next recomputation."""
    names = {f"#a{i}": name for i, name in enumerate(k for k in item if k not in ("pk", "sk"))}
    values = {f":a{i}": item[name] for i, name in enumerate(k for k in item if k not in ("pk", "sk"))}
    response = update_if(
        {
            "TableName": rollups_table(),
            "Key": {"pk": item["pk"], "sk": item["sk"]},
            "UpdateExpression": "SET " + ", ".join(f"{p} = :{p[1:]}" for p in names),
            "ConditionExpression": "attribute_not_exists(pk) OR #n <= :n",
            "ExpressionAttributeNames": {**names, "#n": "n"},
            "ExpressionAttributeValues": {**values, ":n": item["n"]},
            "ReturnValues": "UPDATED_OLD",
        }
    )
    if response is None:
        return False
    old = response.get("Attributes", {})
    return bool(old.get("d") != item["d"] or old.get("h") != item["h"])


def delete_cell(key: CellKey) -> None:
    dynamodb().delete_item(TableName=rollups_table(), Key={"pk": {"S": key.pk}, "sk": {"S": key.sk}})


def set_visitor_status(keys: Iterable[CellKey], user_id: str | None, hot: bool, identified: bool) -> None:
    """The visitor's identity and status as of now on its sessions' first cells (sessions list filters)."""
    attributes = status_attributes(user_id, hot, identified)
    names = {f"#s{i}": name for i, name in enumerate(attributes)}
    values = {f":s{i}": value for i, value in enumerate(attributes.values())}
    for key in keys:
        update_if(
            {
                "TableName": rollups_table(),
                "Key": {"pk": {"S": key.pk}, "sk": {"S": key.sk}},
                "UpdateExpression": "SET " + ", ".join(f"{p} = :{p[1:]}" for p in names),
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        )


# --- reads ------------------------------------------------------------------------------------------


def decode_cell(item: dict[str, Any]) -> Cell:
    if int(item["f"]["N"]) > CELL_FORMAT:
        raise ValueError("this cell was written by newer code")
    (first, pageviews, events, rows), _ = unpack(bytes(item["d"]["B"]))
    return Cell(
        hour=int(item["h"]["N"]),
        session_id=item["sid"]["S"],
        visitor=item["vid"]["S"],
        first=bool(first),
        pageviews=pageviews,
        events=events,
        rows=rows,
        n=int(item["n"]["N"]),
    )


def decode_summary(item: dict[str, Any]) -> SessionSummary:
    text = {
        name: item[attribute]["S"] if attribute in item else None for attribute, name in _SUMMARY_TEXT.items()
    }
    return SessionSummary(
        session_id=item["sid"]["S"],
        ghost_vid=item["vid"]["S"],
        started_at=int(item["st"]["N"]),
        ended_at=int(item["en"]["N"]),
        event_count=int(item["ec"]["N"]),
        pageview_count=int(item["pc"]["N"]),
        hot=item.get("hot", {}).get("BOOL", False),
        identified=item.get("idf", {}).get("BOOL", False),
        identified_user_id=item["uid"]["S"] if "uid" in item else None,
        **text,
    )


def hour_cells(site_id: int, zone: Zone, hour: int, consistent: bool = True) -> list[Cell]:
    """Every stored cell of one local hour (two Queries of its day partition)."""
    pk = day_partition(site_id, zone, hour)
    first = {
        "TableName": rollups_table(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {
            ":pk": {"S": pk},
            ":a": {"S": f"{FIRST}{hour:013d}"},
            ":b": {"S": f"{FIRST}{hour + HOUR_MS - 1:013d}~"},
        },
        "ConsistentRead": consistent,
    }
    later = {
        "TableName": rollups_table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":p": {"S": f"{LATER}{hour:013d}#"}},
        "ConsistentRead": consistent,
    }
    return [decode_cell(item) for request in (first, later) for item in query_all(request)]


def day_items(site_id: int, zone_day: str, consistent: bool = False) -> Iterator[dict[str, Any]]:
    """Every cell item of one local day (one Query, paged)."""
    return query_all(
        {
            "TableName": rollups_table(),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{site_id}#C#{zone_day}"}},
            "ConsistentRead": consistent,
        }
    )


def day_cells(site_id: int, zone_day: str, consistent: bool = False) -> list[Cell]:
    return [decode_cell(item) for item in day_items(site_id, zone_day, consistent)]


def first_cell_key(site_id: int, zone: Zone, session_id: str, start: int) -> CellKey:
    return CellKey(day_partition(site_id, zone, zone.hour_start(start)), first_sort_key(start, session_id))


def first_cells(
    site_id: int, zone: Zone, starts: dict[str, int], consistent: bool = True
) -> dict[str, tuple[SessionSummary, SessionParts]]:
    """The summaries and lead parts of sessions, by their starts (one BatchGetItem per 100)."""
    keys: dict[Key, str] = {}
    for session_id, start in starts.items():
        key = first_cell_key(site_id, zone, session_id, start)
        keys[(key.pk, key.sk)] = session_id
    found = batch_get(rollups_table(), list(keys), consistent)
    return {
        keys[k]: (decode_summary(item), decode_parts(bytes(item["pp"]["B"])))
        for k, item in found.items()
        if "pp" in item
    }


def sessions_started(
    site_id: int,
    day: str,
    start: int,
    end: int,
    country: str | None = None,
    identified: bool | None = None,
    hot: bool | None = None,
    ghost_vid: str | None = None,
    first_page: int | None = None,
) -> Iterator[SessionSummary]:
    """Sessions of one local day partition that started in `[start, end)`, newest first, filtered (those
    that started in the same millisecond by session id, descending)."""
    filters: list[str] = []
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    if country == UNKNOWN:  # a session without a country is listed under Unknown
        filters.append("attribute_not_exists(#co)")
        names["#co"] = "co"
        country = None
    for attribute, wanted in (("co", country), ("vid", ghost_vid)):
        if wanted is not None:
            filters.append(f"#{attribute} = :{attribute}")
            names[f"#{attribute}"] = attribute
            values[f":{attribute}"] = {"S": wanted}
    for attribute, flag in (("idf", identified), ("hot", hot)):
        if flag is not None:
            names[f"#{attribute}"] = attribute
            values[f":{attribute}"] = {"BOOL": True}
            filters.append(
                f"#{attribute} = :{attribute}"
                if flag
                else f"(attribute_not_exists(#{attribute}) OR #{attribute} <> :{attribute})"
            )
    request: dict[str, Any] = {
        "TableName": rollups_table(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"{site_id}#C#{day}"},
            ":a": {"S": f"{FIRST}{max(start, 0):013d}"},
            ":b": {"S": f"{FIRST}{end - 1:013d}~"},
            **values,
        },
        "ScanIndexForward": False,
    }
    if filters:
        request["FilterExpression"] = " AND ".join(filters)
        request["ExpressionAttributeNames"] = names
    for item in query_all(request, first_page):
        yield decode_summary(item)
