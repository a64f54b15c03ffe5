"""The events table: one partition per visitor session (`pk=<site>#<session>`), `sk=<event_id>`."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from ghostid.dal.client import dynamodb, query_all
from ghostid.dal.codec import from_attribute, from_item, to_item
from ghostid.models.events import StoredEvent
from ghostid.models.rollups import EventFacts
from ghostid.settings import event_retention_days, events_table

DAY_S = 86_400
BATCH_GET = 100  # BatchGetItem's limit
BATCH_WRITE = 25  # BatchWriteItem's limit
MAX_ROUNDS = 12  # retries of unprocessed keys / items (with backoff) before giving up


def session_partition(site_id: int, session_id: str) -> str:
    return f"{site_id}#{session_id}"


def split_partition(pk: str) -> tuple[int, str]:
    site, session_id = pk.split("#", 1)
    return int(site), session_id


def event_to_item(event: StoredEvent) -> dict[str, Any]:
    data = event.model_dump(exclude_none=True)
    ts = event.ts
    data |= {
        "pk": session_partition(event.site_id, event.session_id),
        "sk": event.event_id,
        "ts": ts,
        # TTL from the event's own time, so a re-import writes the very same item.
        "expires_at": ts // 1000 + event_retention_days() * DAY_S,
    }
    return to_item(data)


def item_to_event(item: dict[str, Any]) -> StoredEvent:
    data = from_item(item)
    for internal in ("pk", "sk", "ts", "expires_at"):
        data.pop(internal, None)
    return StoredEvent.model_validate(data)


_OPTIONAL = ("user_id", "country", "city", "device_type", "browser", "os", "referrer")
UTM_PROPS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def facts_from_item(item: dict[str, Any]) -> EventFacts:
    """The attributes the rollups read, straight from DynamoDB's wire format (the consumer's hot path)."""
    props = item.get("props", {}).get("M", {})
    utm = tuple((name, text) for name in UTM_PROPS if name in props and (text := _prop_text(props[name])))
    optional = {name: item[name]["S"] for name in _OPTIONAL if name in item and "S" in item[name]}
    return EventFacts(
        event_id=item["sk"]["S"],
        ts=int(item["ts"]["N"]),
        type=item["type"]["S"],
        page=item["page"]["S"],
        ghost_vid=item["ghost_vid"]["S"],
        event_name=item.get("event_name", {}).get("S", ""),
        utm=utm,
        **optional,
    )


def _prop_text(value: dict[str, Any]) -> str | None:
    """A property as a breakdown value: a string as it is, a number or boolean as Python writes it."""
    kind, data = next(iter(value.items()))
    if kind == "S":
        return str(data)
    if kind == "N":
        return str(from_attribute(value))
    if kind == "BOOL":
        return str(bool(data))
    return None


def session_facts(site_id: int, session_id: str) -> list[EventFacts]:
    """A session's stored events, strongly consistent.

    The consumer recomputes from exactly what is stored."""
    return [facts_from_item(i) for i in query_session_items(site_id, session_id, consistent=True)]


def put_event(event: StoredEvent) -> bool:
    """Stores the event once: False when an event with that id is already stored (a resend)."""
    try:
        dynamodb().put_item(
            TableName=events_table(),
            Item=event_to_item(event),
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def put_events(events: Sequence[StoredEvent], workers: int = 16) -> int:
    """Conditional puts in parallel; returns how many were new."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(put_event, events))


def put_new_events(events: Sequence[StoredEvent]) -> int:
    """Stores those of up to BATCH_GET events that are not stored yet; returns how many that was.

    For imports: one strongly consistent BatchGetItem finds the stored ones, BatchWriteItem writes the
    others, so an event already stored (by an earlier import or the collector) is left as it is, at one
    read and one write unit per event and a few requests per hundred (a conditional put is one request
    each). Unlike `put_event`, the check and the write are not one atomic step: a copy of the same event
    stored by someone else in between is overwritten by this identical-keyed one (its stream record is a
    MODIFY, which the consumer ignores; the session is folded from what is stored).
    """
    if len(events) > BATCH_GET:
        raise ValueError(f"at most {BATCH_GET} events at a time")
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:  # one item per key: BatchWriteItem refuses a batch that names a key twice
        item = event_to_item(event)
        items.setdefault((item["pk"]["S"], item["sk"]["S"]), item)
    stored = _stored_keys(list(items))
    new = [item for key, item in items.items() if key not in stored]
    for start in range(0, len(new), BATCH_WRITE):
        _write_all([{"PutRequest": {"Item": item}} for item in new[start : start + BATCH_WRITE]])
    return len(new)


def _backoff(round_number: int) -> None:
    if round_number >= MAX_ROUNDS:
        raise RuntimeError("DynamoDB kept throttling the import; try again later")
    time.sleep(min(2.0, 0.05 * 2**round_number))


def _stored_keys(keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    request: dict[str, Any] = {
        events_table(): {
            "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys],
            "ConsistentRead": True,
            "ProjectionExpression": "pk, sk",
        }
    }
    found: set[tuple[str, str]] = set()
    round_number = 0
    while request:
        if round_number:
            _backoff(round_number)
        response = dynamodb().batch_get_item(RequestItems=request)
        found |= {(i["pk"]["S"], i["sk"]["S"]) for i in response.get("Responses", {}).get(events_table(), [])}
        request = dict(response.get("UnprocessedKeys") or {})
        round_number += 1
    return found


def _write_all(requests: list[dict[str, Any]]) -> None:
    pending: dict[str, Any] = {events_table(): requests}
    round_number = 0
    while pending:
        if round_number:
            _backoff(round_number)
        pending = dict(dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {})
        round_number += 1


def query_session_items(site_id: int, session_id: str, consistent: bool = False) -> Iterator[dict[str, Any]]:
    """Every stored item of one session (raw attribute values), all pages."""
    request: dict[str, Any] = {
        "TableName": events_table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": session_partition(site_id, session_id)}},
        "ConsistentRead": consistent,
    }
    return query_all(request)


def scan_site_items(site_id: int, segments: int = 4) -> list[dict[str, Any]]:
    """Every stored event of a site (a parallel Scan: only for rebuilds and exports, never for the API)."""

    def segment(number: int) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": events_table(),
            "FilterExpression": "begins_with(pk, :site)",
            "ExpressionAttributeValues": {":site": {"S": f"{site_id}#"}},
            "Segment": number,
            "TotalSegments": segments,
        }
        return list(query_all(request))

    with ThreadPoolExecutor(max_workers=segments) as pool:
        return [item for found in pool.map(segment, range(segments)) for item in found]
