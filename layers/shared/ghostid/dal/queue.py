"""The webhook delivery queue (SQS): one message per delivery to attempt, carrying where it is stored.

A message may arrive more than once; the sender checks the delivery's stored state before every POST.
A failed attempt is retried by hiding its message for the backoff (ChangeMessageVisibility) and leaving
it on the queue. Locally the same calls go to the local stack's SQS (`AWS_ENDPOINT_URL_SQS`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from ghostid.models.alerts import DeliveryKey
from ghostid.settings import webhook_queue_url

FORMAT = 1
BATCH = 10  # SendMessageBatch's limit
MAX_VISIBILITY_S = 12 * 3600  # SQS's limit for one ChangeMessageVisibility


@cache
def sqs() -> Any:
    """botocore's own session (as dal/client.py), created on first use."""
    import botocore.session
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=25)
    return botocore.session.get_session().create_client("sqs", config=config)


class QueueError(RuntimeError):
    """SQS did not take every message (the caller retries; a duplicate message is harmless)."""


def encode(delivery: DeliveryKey) -> str:
    return json.dumps(
        {
            "v": FORMAT,
            "site_id": delivery.site_id,
            "webhook_id": delivery.webhook_id,
            "at": delivery.occurred_at_ms,
            "delivery_id": delivery.delivery_id,
        },
        separators=(",", ":"),
    )


def decode(body: str) -> DeliveryKey:
    """The delivery a message names; ValueError for anything else."""
    try:
        data = json.loads(body)
        if data["v"] != FORMAT:
            raise ValueError(f"message format {data['v']!r} is not {FORMAT}")
        key = DeliveryKey(
            int(data["site_id"]), str(data["webhook_id"]), int(data["at"]), str(data["delivery_id"])
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a delivery message ({error!r})") from None
    if "#" in key.webhook_id or "#" in key.delivery_id:
        raise ValueError("not a delivery message (bad id)")
    return key


def send(deliveries: Sequence[DeliveryKey]) -> None:
    """Queues one message per delivery, visible at once."""
    for start in range(0, len(deliveries), BATCH):
        chunk = deliveries[start : start + BATCH]
        response = sqs().send_message_batch(
            QueueUrl=webhook_queue_url(),
            Entries=[{"Id": str(i), "MessageBody": encode(key)} for i, key in enumerate(chunk)],
        )
        if response.get("Failed"):
            codes = sorted({failure.get("Code", "?") for failure in response["Failed"]})
            raise QueueError(f"{len(response['Failed'])} of {len(chunk)} messages not queued: {codes}")


def hide(receipt_handle: str, seconds: int) -> None:
    """Makes a received message visible again after `seconds` (capped by SQS's 12 hours)."""
    sqs().change_message_visibility(
        QueueUrl=webhook_queue_url(),
        ReceiptHandle=receipt_handle,
        VisibilityTimeout=max(0, min(MAX_VISIBILITY_S, seconds)),
    )
