"""Visitor partitions: `pk=<site>#V#<ghost_vid>`.

- `r#<session>`: the visitor's session registry (`st`: the session's first event, which locates its first
  cell, where the session's summary and lead parts live). Written when a session is first folded, and
  again if an earlier event arrives later and moves its start.
- `v`: the visitor's head, written only when it has something to say:
  - `nI`, `nH`: presence notes, the periods (`H:<hour>`, `D:<date>`, `W:<week>`, `M:<month>`) whose
    identified / hot-lead sets already hold this visitor (so reach-back is not repeated);
  - `tI`, `tH`: the transitions (first identified, first hot) already handed to the alerts;
  - `lk`, `ls`, `lsc`, `row`, `dd` (its active local days, for past ranges): the lead lists' index
    (sparse GSIs `LeadsByLastSeen`, `LeadsByScore`) for
    hot leads (`lk=<site>#H`) and other identified visitors (`lk=<site>#I`); `row` is the visitor's
    `/api/leads` row as of its latest fold.
- `li`: an identified hot lead's entry on the identified list (`lk=<site>#I`, the head's other
  attributes), so that list is one Query. Lists format 2 (`LISTS_FORMAT`, on the site's state): a site
  whose state predates it may lack entries; its identified list also reads the hot list.
Items of the first rollup model (cells `c#...`, head attributes `ik`, `uid`, `ih`, `id`, `hh`, `hd`) are
ignored here; `ghostid rollups rebuild` removes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ghostid.dal.client import batch_write, dynamodb, query_all, update_if
from ghostid.dal.codec import n
from ghostid.dal.packing import pack, unpack
from ghostid.models.rollups import ScoringEvent, SessionParts
from ghostid.settings import rollups_table
from ghostid.timeutil import parse_timestamp

HEAD = "v"
IDENTIFIED_ENTRY = "li"
REGISTRY = "r#"
LISTS_FORMAT = 2  # 1: an identified hot lead was on the hot list only
LEADS_BY_LAST_SEEN = "LeadsByLastSeen"
LEADS_BY_SCORE = "LeadsByScore"
LeadList = Literal["H", "I"]


def visitor_partition(site_id: int, visitor: str) -> str:
    return f"{site_id}#V#{visitor}"


def _head_key(site_id: int, visitor: str, sk: str = HEAD) -> dict[str, Any]:
    return {"pk": {"S": visitor_partition(site_id, visitor)}, "sk": {"S": sk}}


@dataclass(frozen=True)
class Listing:
    """Which lead lists a visitor belongs on."""

    hot: bool
    identified: bool

    @property
    def head_list(self) -> LeadList | None:
        return "H" if self.hot else "I" if self.identified else None

    @property
    def has_entry(self) -> bool:
        """An identified hot lead: the head is on the hot list, an entry on the identified one."""
        return self.hot and self.identified


@dataclass
class VisitorHead:
    noted_identified: set[str] = field(default_factory=set)
    noted_hot: set[str] = field(default_factory=set)
    transitions: set[str] = field(default_factory=set)  # "identified", "hot"
    listed: dict[str, Any] | None = None  # the row the lead lists hold


@dataclass
class VisitorIndex:
    """The visitor's head and its sessions' starts (session id -> first event time)."""

    head: VisitorHead = field(default_factory=VisitorHead)
    sessions: dict[str, int] = field(default_factory=dict)


# --- session parts (stored on each session's first cell) ---------------------------------------------


def encode_parts(parts: SessionParts) -> bytes:
    data = asdict(parts)
    data["scoring"] = [[s.ts, s.event_id, s.kind] for s in parts.scoring]
    return pack(data, [])


def decode_parts(payload: bytes) -> SessionParts:
    data, _ = unpack(payload)
    data["scoring"] = [ScoringEvent(*s) for s in data["scoring"]]
    data["identity"] = tuple(data["identity"]) if data["identity"] else None
    for name in ("user_ids", "countries", "devices"):
        data[name] = {value: (ts, event_id) for value, (ts, event_id) in data[name].items()}
    return SessionParts(**data)


# --- the partition ----------------------------------------------------------------------------------


def get_index(site_id: int, visitor: str, consistent: bool = True) -> VisitorIndex:
    """The whole visitor partition in one Query (strongly consistent for the consumer: it sees every
    session registered before it)."""
    index = VisitorIndex()
    request: dict[str, Any] = {
        "TableName": rollups_table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": visitor_partition(site_id, visitor)}},
        "ConsistentRead": consistent,
    }
    for item in query_all(request):
        sk = item["sk"]["S"]
        if sk == HEAD:
            index.head = _decode_head(item)
        elif sk.startswith(REGISTRY):
            index.sessions[sk[len(REGISTRY) :]] = int(item["st"]["N"])
    return index


def get_head(site_id: int, visitor: str) -> VisitorHead | None:
    item = dynamodb().get_item(TableName=rollups_table(), Key=_head_key(site_id, visitor)).get("Item")
    return _decode_head(item) if item else None


def _decode_head(item: dict[str, Any]) -> VisitorHead:
    return VisitorHead(
        noted_identified=set(item.get("nI", {}).get("SS", [])),
        noted_hot=set(item.get("nH", {}).get("SS", [])),
        transitions={kind for kind, attr in (("identified", "tI"), ("hot", "tH")) if attr in item},
        listed=json.loads(item["row"]["S"]) if "row" in item else None,
    )


def registry_items(site_id: int, visitor: str, starts: dict[str, int]) -> list[dict[str, Any]]:
    pk = visitor_partition(site_id, visitor)
    return [{"pk": {"S": pk}, "sk": {"S": REGISTRY + sid}, "st": n(st)} for sid, st in starts.items()]


def register_sessions(site_id: int, visitor: str, starts: dict[str, int]) -> None:
    batch_write(rollups_table(), registry_items(site_id, visitor, starts))


def head_items(
    site_id: int,
    visitor: str,
    row: dict[str, Any],
    listing: Listing,
    score: int,
    last_seen: int,
    noted_identified: set[str],
    noted_hot: set[str],
    days: set[str],
) -> list[dict[str, Any]]:
    """The head a rebuild writes, and an identified hot lead's entry (its transitions are handed to the
    alerts, which record each once)."""
    listed = _listed_attributes(visitor, row, score, last_seen, days)
    item: dict[str, Any] = _head_key(site_id, visitor) | listed
    if listing.head_list:
        item["lk"] = {"S": f"{site_id}#{listing.head_list}"}
    if noted_identified:
        item["nI"] = {"SS": sorted(noted_identified)}
        item["tI"] = {"BOOL": True}
    if noted_hot:
        item["nH"] = {"SS": sorted(noted_hot)}
        item["tH"] = {"BOOL": True}
    return [item, _entry_item(site_id, visitor, listed)] if listing.has_entry else [item]


def _listed_attributes(
    visitor: str, row: dict[str, Any], score: int, last_seen: int, days: set[str]
) -> dict[str, Any]:
    """A listed item's row and index keys (`ls`, `lsc`) and its active days (`dd`, none: left out)."""
    listed = {
        "row": {"S": json.dumps(row, separators=(",", ":"), ensure_ascii=False)},
        "ls": {"S": f"{last_seen:013d}#{visitor}"},
        "lsc": {"S": f"{score:010d}#{last_seen:013d}#{visitor}"},
    }
    return listed | ({"dd": {"SS": sorted(days)}} if days else {})


def _entry_item(site_id: int, visitor: str, listed: dict[str, Any]) -> dict[str, Any]:
    return _head_key(site_id, visitor, IDENTIFIED_ENTRY) | listed | {"lk": {"S": f"{site_id}#I"}}


def add_missing_entries(site_id: int, rewritten: set[str]) -> int:
    """Gives the identified hot leads on the hot list that a rebuild did not rewrite (their events have
    expired; their heads stay) the entry lists format 2 expects. Returns how many it wrote."""
    items = []
    for row, days in iter_leads(site_id, "H", by_score=False):
        visitor = row["ghost_vid"]
        if row["identified_user_id"] and visitor not in rewritten:
            listed = _listed_attributes(visitor, row, row["score"], parse_timestamp(row["last_seen"]), days)
            items.append(_entry_item(site_id, visitor, listed))
    batch_write(rollups_table(), items)
    return len(items)


def add_notes(site_id: int, visitor: str, identified: set[str], hot: set[str]) -> None:
    """Notes that these periods' presence sets now hold the visitor (only ever added)."""
    adds, values = [], {}
    if identified:
        adds.append("nI :i")
        values[":i"] = {"SS": sorted(identified)}
    if hot:
        adds.append("nH :h")
        values[":h"] = {"SS": sorted(hot)}
    if adds:
        dynamodb().update_item(
            TableName=rollups_table(),
            Key=_head_key(site_id, visitor),
            UpdateExpression="ADD " + ", ".join(adds),
            ExpressionAttributeValues=values,
        )


def mark_transitions(site_id: int, visitor: str, kinds: set[str]) -> None:
    attributes = {"identified": "tI", "hot": "tH"}
    if kinds:
        dynamodb().update_item(
            TableName=rollups_table(),
            Key=_head_key(site_id, visitor),
            UpdateExpression="SET " + ", ".join(f"{attributes[k]} = :t" for k in sorted(kinds)),
            ExpressionAttributeValues={":t": {"BOOL": True}},
        )


# --- the lead lists ---------------------------------------------------------------------------------


def list_lead(
    site_id: int,
    visitor: str,
    row: dict[str, Any],
    listing: Listing,
    score: int,
    last_seen: int,
    days: set[str],
    had_entry: bool = False,
) -> bool:
    """Puts the visitor's lead row on the lead lists its `listing` names. A row is only replaced by one as
    late (last_seen) and as high (score), so a slower consumer never undoes a faster one's row. The
    entry goes first: a retry after a crash between the two finds the head's row still old and redoes
    both. `had_entry`: the row the head held was an identified hot lead's (its entry goes if unwanted)."""
    listed = _listed_attributes(visitor, row, score, last_seen, days)
    if listing.has_entry or had_entry:  # an unwanted entry leaves the list (under the same condition)
        _put_listed(site_id, visitor, IDENTIFIED_ENTRY, "I" if listing.has_entry else None, listed)
    return _put_listed(site_id, visitor, HEAD, listing.head_list, listed)


def _put_listed(site_id: int, visitor: str, sk: str, lists: LeadList | None, listed: dict[str, Any]) -> bool:
    values = {f":{name}": value for name, value in listed.items()}
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in listed)  # `row` is a reserved word
    if lists:
        values[":lk"] = {"S": f"{site_id}#{lists}"}
        expression += ", lk = :lk"
    else:
        expression += " REMOVE lk"
    response = update_if(
        {
            "TableName": rollups_table(),
            "Key": _head_key(site_id, visitor, sk),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_not_exists(ls) OR (ls <= :ls AND lsc <= :lsc)",
            "ExpressionAttributeNames": {f"#{name}": name for name in listed},
            "ExpressionAttributeValues": values,
        }
    )
    return response is not None


def query_leads(
    site_id: int, lists: LeadList, by_score: bool, limit: int, after: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of a lead list, newest (or highest score) first: rows and the key to continue after."""
    request = _leads_request(site_id, lists, by_score) | {"Limit": limit}
    if after:
        request["ExclusiveStartKey"] = after
    page = dynamodb().query(**request)
    rows = [json.loads(item["row"]["S"]) for item in page.get("Items", [])]
    return rows, page.get("LastEvaluatedKey")


def iter_leads(
    site_id: int,
    lists: LeadList,
    by_score: bool,
    first_page: int | None = None,
    start: tuple[int, int] | None = None,
) -> Iterator[tuple[dict[str, Any], set[str]]]:
    """A lead list, newest (or highest score) first: each row and the local days the visitor was active.
    `start`: (score, last_seen) of a row already served; the walk begins at it (rows tied with it
    included, as their order among themselves is the caller's)."""
    request = _leads_request(site_id, lists, by_score)
    if start is not None:
        score, last_seen = start
        bound = f"{score:010d}#{last_seen + 1:013d}" if by_score else f"{last_seen + 1:013d}"
        request["KeyConditionExpression"] += f" AND {'lsc' if by_score else 'ls'} < :start"
        request["ExpressionAttributeValues"][":start"] = {"S": bound}
    for item in query_all(request, first_page):
        yield json.loads(item["row"]["S"]), set(item.get("dd", {}).get("SS", []))


def _leads_request(site_id: int, lists: LeadList, by_score: bool) -> dict[str, Any]:
    return {
        "TableName": rollups_table(),
        "IndexName": LEADS_BY_SCORE if by_score else LEADS_BY_LAST_SEEN,
        "KeyConditionExpression": "lk = :lk",
        "ExpressionAttributeValues": {":lk": {"S": f"{site_id}#{lists}"}},
        "ScanIndexForward": False,
    }
