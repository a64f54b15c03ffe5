"""The alerts table: webhooks, the transitions recorded once per visitor, and their deliveries.

- webhook: pk `<site>#W`, sk `<webhook_id>`; `url`, `events`, `secret` (encrypted: dal/secrets.py),
  `created_at`;
- transition: pk `<site>#T#<ghost_vid>`, sk `lead.hot` | `visitor.identified`; `at` (event ms), `lead`
  (the JSON row), `hooks` (webhook ids), `recorded_at`, `queued`;
- delivery: pk `<site>#D`, sk `<webhook_id>#<event ms, 13 digits>#<delivery_id>`; `body`, `status`,
  `attempts`, `next_at`, `lease`, `last_at`, `last_status`, `last_error`, `done_at`, `expires_at`.

Every item carries `v` (its format). A transition is written with `attribute_not_exists`, so the first
writer's record (its webhooks and lead row) is the one every later call reuses; a delivery likewise, so a
transition and webhook never get two. Deliveries expire (TTL `expires_at`) DELIVERY_RETENTION_DAYS after
they were created; transitions and webhooks do not.
"""

from __future__ import annotations

from typing import Any, cast

from botocore.exceptions import ClientError

from ghostid.dal.client import dynamodb, query_all
from ghostid.dal.codec import key, n, s
from ghostid.models.alerts import (
    Delivery,
    DeliveryKey,
    DeliveryStatus,
    TransitionRecord,
    TransitionType,
    Webhook,
)
from ghostid.settings import alerts_table

FORMAT = 1
DELIVERY_RETENTION_DAYS = 90
_NOT_STORED = "attribute_not_exists(pk)"


def _conditional_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


# ------------------------------------------------------------------ webhooks


def _webhooks_pk(site_id: int) -> str:
    return f"{site_id}#W"


def _webhook(site_id: int, item: dict[str, Any]) -> Webhook:
    return Webhook(
        site_id=site_id,
        webhook_id=item["sk"]["S"],
        url=item["url"]["S"],
        events=tuple(cast("TransitionType", e["S"]) for e in item["events"]["L"]),
        created_at_ms=int(item["created_at"]["N"]),
    )


def put_webhook(webhook: Webhook, sealed_secret: bytes) -> None:
    dynamodb().put_item(
        TableName=alerts_table(),
        Item={
            **key(_webhooks_pk(webhook.site_id), webhook.webhook_id),
            "v": n(FORMAT),
            "url": s(webhook.url),
            "events": {"L": [s(event) for event in webhook.events]},
            "secret": {"B": sealed_secret},
            "created_at": n(webhook.created_at_ms),
        },
        ConditionExpression=_NOT_STORED,
    )


def webhooks(site_id: int) -> list[Webhook]:
    """The site's webhooks, oldest id first (one Query of a small partition)."""
    request = {
        "TableName": alerts_table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": s(_webhooks_pk(site_id))},
        "ProjectionExpression": "sk, #url, events, created_at",
        "ExpressionAttributeNames": {"#url": "url"},
        "ConsistentRead": True,
    }
    return [_webhook(site_id, item) for item in query_all(request)]


def webhook_with_secret(site_id: int, webhook_id: str) -> tuple[Webhook, bytes] | None:
    """The webhook and its encrypted secret; None once it is removed."""
    item = (
        dynamodb()
        .get_item(TableName=alerts_table(), Key=key(_webhooks_pk(site_id), webhook_id), ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        return None
    return _webhook(site_id, item), bytes(item["secret"]["B"])


def delete_webhook(site_id: int, webhook_id: str) -> bool:
    """Removes the webhook and its secret; False when there was none."""
    response = dynamodb().delete_item(
        TableName=alerts_table(), Key=key(_webhooks_pk(site_id), webhook_id), ReturnValues="ALL_OLD"
    )
    return "Attributes" in response


# ------------------------------------------------------------------ transitions


def _transition_key(site_id: int, ghost_vid: str, kind: TransitionType) -> dict[str, Any]:
    return key(f"{site_id}#T#{ghost_vid}", kind)


def _transition(site_id: int, ghost_vid: str, item: dict[str, Any]) -> TransitionRecord:
    return TransitionRecord(
        site_id=site_id,
        ghost_vid=ghost_vid,
        type=cast("TransitionType", item["sk"]["S"]),
        occurred_at_ms=int(item["at"]["N"]),
        lead_json=item["lead"]["S"],
        webhook_ids=tuple(h["S"] for h in item["hooks"]["L"]),
        recorded_at_ms=int(item["recorded_at"]["N"]),
        queued=item["queued"]["BOOL"],
    )


def record_transition(record: TransitionRecord) -> tuple[TransitionRecord, bool]:
    """Stores the transition unless one is stored for its visitor and type: (the stored one, whether new)."""
    item = {
        **_transition_key(record.site_id, record.ghost_vid, record.type),
        "v": n(FORMAT),
        "at": n(record.occurred_at_ms),
        "lead": s(record.lead_json),
        "hooks": {"L": [s(h) for h in record.webhook_ids]},
        "recorded_at": n(record.recorded_at_ms),
        "queued": {"BOOL": record.queued},
    }
    try:
        dynamodb().put_item(
            TableName=alerts_table(),
            Item=item,
            ConditionExpression=_NOT_STORED,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if not _conditional_failure(error):
            raise
        stored = cast("dict[str, Any]", error.response)["Item"]
        return _transition(record.site_id, record.ghost_vid, stored), False
    return record, True


def mark_queued(record: TransitionRecord) -> None:
    dynamodb().update_item(
        TableName=alerts_table(),
        Key=_transition_key(record.site_id, record.ghost_vid, record.type),
        UpdateExpression="SET queued = :yes",
        ExpressionAttributeValues={":yes": {"BOOL": True}},
    )


# ------------------------------------------------------------------ deliveries


def _deliveries_pk(site_id: int) -> str:
    return f"{site_id}#D"


def _delivery_sk(delivery_key: DeliveryKey) -> str:
    return f"{delivery_key.webhook_id}#{delivery_key.occurred_at_ms:013d}#{delivery_key.delivery_id}"


def _delivery_key(site_id: int, sort_key: str) -> DeliveryKey:
    webhook_id, at, delivery_id = sort_key.split("#")
    return DeliveryKey(site_id, webhook_id, int(at), delivery_id)


def _item_key(delivery_key: DeliveryKey) -> dict[str, Any]:
    return key(_deliveries_pk(delivery_key.site_id), _delivery_sk(delivery_key))


def _optional_int(item: dict[str, Any], name: str) -> int | None:
    return int(item[name]["N"]) if name in item else None


def _delivery(site_id: int, item: dict[str, Any]) -> Delivery:
    return Delivery(
        key=_delivery_key(site_id, item["sk"]["S"]),
        type=cast("TransitionType", item["type"]["S"]),
        ghost_vid=item["vid"]["S"],
        body=item["body"]["S"],
        status=cast("DeliveryStatus", item["status"]["S"]),
        attempts=int(item["attempts"]["N"]),
        created_at_ms=int(item["created_at"]["N"]),
        next_attempt_at_ms=int(item["next_at"]["N"]),
        lease_until_ms=int(item["lease"]["N"]),
        last_attempt_at_ms=_optional_int(item, "last_at"),
        last_status=_optional_int(item, "last_status"),
        last_error=item["last_error"]["S"] if "last_error" in item else None,
        finished_at_ms=_optional_int(item, "done_at"),
    )


def put_delivery(delivery: Delivery) -> bool:
    """Stores a new pending delivery; False when it is already stored (its id is derived, never random)."""
    item = {
        **_item_key(delivery.key),
        "v": n(FORMAT),
        "type": s(delivery.type),
        "vid": s(delivery.ghost_vid),
        "body": s(delivery.body),
        "status": s(delivery.status),
        "attempts": n(delivery.attempts),
        "created_at": n(delivery.created_at_ms),
        "next_at": n(delivery.next_attempt_at_ms),
        "lease": n(delivery.lease_until_ms),
        "expires_at": n(delivery.created_at_ms // 1000 + DELIVERY_RETENTION_DAYS * 86_400),
    }
    try:
        dynamodb().put_item(TableName=alerts_table(), Item=item, ConditionExpression=_NOT_STORED)
    except ClientError as error:
        if _conditional_failure(error):
            return False
        raise
    return True


def get_delivery(delivery_key: DeliveryKey) -> Delivery | None:
    item = (
        dynamodb()
        .get_item(TableName=alerts_table(), Key=_item_key(delivery_key), ConsistentRead=True)
        .get("Item")
    )
    return None if item is None else _delivery(delivery_key.site_id, item)


def claim(delivery: Delivery, now_ms: int, lease_until_ms: int) -> Delivery | None:
    """Takes the next attempt of a pending, due delivery that no other sender holds (counting it);
    None when it is not pending, not due, or another sender got there first."""
    try:
        response = dynamodb().update_item(
            TableName=alerts_table(),
            Key=_item_key(delivery.key),
            UpdateExpression="SET lease = :lease, attempts = attempts + :one, last_at = :now",
            ConditionExpression=(
                "#status = :pending AND next_at <= :now AND lease < :now AND attempts = :seen"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":lease": n(lease_until_ms),
                ":one": n(1),
                ":now": n(now_ms),
                ":pending": s("pending"),
                ":seen": n(delivery.attempts),
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if _conditional_failure(error):
            return None
        raise
    return _delivery(delivery.key.site_id, response["Attributes"])


def finish_attempt(
    claimed: Delivery,
    status: DeliveryStatus,
    next_attempt_at_ms: int,
    *,
    http_status: int | None,
    error: str | None,
    now_ms: int,
) -> bool:
    """Records an attempt's result while the claim is still this sender's (False if it was lost)."""
    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":status": s(status),
        ":next": n(next_attempt_at_ms),
        ":released": n(0),
        ":mine": n(claimed.lease_until_ms),
        ":pending": s("pending"),
    }
    sets = ["#status = :status", "next_at = :next", "lease = :released"]
    removes = []
    for name, value in (("last_status", http_status), ("done_at", now_ms if status != "pending" else None)):
        if value is None:
            removes.append(name)
        else:
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = n(value)
    if error is None:
        removes.append("last_error")
    else:
        sets.append("last_error = :last_error")
        values[":last_error"] = s(error[:500])
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    try:
        dynamodb().update_item(
            TableName=alerts_table(),
            Key=_item_key(claimed.key),
            UpdateExpression=expression,
            ConditionExpression="lease = :mine AND #status = :pending",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as failure:
        if _conditional_failure(failure):
            return False
        raise
    return True


def deliveries(site_id: int, webhook_id: str | None = None, limit: int = 50) -> list[Delivery]:
    """The site's (or one webhook's) deliveries, newest event first, at most `limit`."""
    request: dict[str, Any] = {
        "TableName": alerts_table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": s(_deliveries_pk(site_id))},
        "ScanIndexForward": False,
    }
    if webhook_id is not None:
        request["KeyConditionExpression"] += " AND begins_with(sk, :hook)"
        request["ExpressionAttributeValues"][":hook"] = s(f"{webhook_id}#")
        request["Limit"] = limit
        items = []
        for item in query_all(request):
            items.append(item)
            if len(items) == limit:
                break
        return [_delivery(site_id, item) for item in items]
    found = [_delivery(site_id, item) for item in query_all(request)]
    found.sort(key=lambda d: (d.key.occurred_at_ms, d.delivery_id), reverse=True)
    return found[:limit]
