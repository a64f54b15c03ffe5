"""The events table: one partition per visitor session (`pk=<site>#<session>`), `sk=<event_id>`."""

from __future__ import annotations

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
