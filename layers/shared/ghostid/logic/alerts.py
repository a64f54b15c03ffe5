"""Lead alerts (PRODUCT §12): webhooks, and recording each transition once with one delivery per webhook.

`record_transitions` is called by the stream consumer for every transition it detects, as often as the
stream's retries, replays, bisected batches, concurrent consumers and rebuilds make it. Each step is
idempotent, so any number of calls, interrupted anywhere, end in the same state:

1. the transition is stored with a conditional put; the first writer fixes its lead row and the webhooks
   it goes to (those of the site that match its type, none if its event is over 24 hours old);
2. one delivery per webhook is stored with a conditional put; its id is derived from the transition and
   the webhook, so it is the same id whoever stores it;
3. one queue message per delivery is sent (a duplicate message is harmless: the sender checks the
   delivery's state before every POST);
4. the transition is marked queued; until then every call repeats steps 2 and 3, so a crash anywhere
   before it still ends with each delivery stored and queued.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence

from ghostid import settings
from ghostid.dal import alerts as alerts_dal
from ghostid.dal import queue
from ghostid.dal import secrets as secrets_dal
from ghostid.errors import InvalidParameter, NotFound
from ghostid.logic import webhook_targets
from ghostid.models.alerts import (
    TRANSITION_TYPES,
    Delivery,
    DeliveryKey,
    Transition,
    TransitionRecord,
    TransitionType,
    Webhook,
)
from ghostid.timeutil import HOUR_MS, format_timestamp

SEND_WINDOW_MS = 24 * HOUR_MS  # a transition whose event is older when it is recorded is not sent
MAX_WEBHOOKS = 10
SECRET_PREFIX = "whsec_"


# ------------------------------------------------------------------ transitions


def delivery_id(site_id: int, ghost_vid: str, kind: TransitionType, webhook_id: str) -> str:
    """One id per transition and webhook, whoever computes it."""
    digest = hashlib.sha256(f"{site_id}\n{ghost_vid}\n{kind}\n{webhook_id}".encode()).hexdigest()
    return f"dlv_{digest[:32]}"


def record_transitions(transitions: Sequence[Transition], now_ms: int) -> int:
    """Records each (site, visitor, type) once and queues one delivery per matching webhook; returns how
    many transitions were recorded for the first time by this call. Safe to repeat, and to interrupt."""
    hooks: dict[int, list[Webhook]] = {}
    new = 0
    for transition in transitions:
        _check(transition)
        matching = []
        if now_ms - transition.occurred_at_ms <= SEND_WINDOW_MS:
            if transition.site_id not in hooks:
                hooks[transition.site_id] = alerts_dal.webhooks(transition.site_id)
            matching = [h.webhook_id for h in hooks[transition.site_id] if transition.type in h.events]
        record, created = alerts_dal.record_transition(_first_record(transition, matching, now_ms))
        new += created
        if not record.queued:
            _queue_deliveries(record, now_ms)
    return new


def _check(transition: Transition) -> None:
    if transition.type not in TRANSITION_TYPES:
        raise ValueError(f"transition type {transition.type!r} is not one of {', '.join(TRANSITION_TYPES)}")
    if not transition.ghost_vid:
        raise ValueError("a transition needs the visitor's ghost_vid")


def _first_record(transition: Transition, webhook_ids: Iterable[str], now_ms: int) -> TransitionRecord:
    ids = tuple(webhook_ids)
    return TransitionRecord(
        site_id=transition.site_id,
        ghost_vid=transition.ghost_vid,
        type=transition.type,
        occurred_at_ms=transition.occurred_at_ms,
        lead_json=json.dumps(transition.lead, separators=(",", ":")),
        webhook_ids=ids,
        recorded_at_ms=now_ms,
        queued=not ids,
    )


def delivery_body(record: TransitionRecord, the_delivery_id: str) -> str:
    """`{"id", "type", "site_id", "occurred_at", "lead"}`: the same bytes on every attempt."""
    head = json.dumps(
        {
            "id": the_delivery_id,
            "type": record.type,
            "site_id": record.site_id,
            "occurred_at": format_timestamp(record.occurred_at_ms),
        },
        separators=(",", ":"),
    )
    return f'{head[:-1]},"lead":{record.lead_json}}}'


def _queue_deliveries(record: TransitionRecord, now_ms: int) -> None:
    keys = []
    for webhook_id in record.webhook_ids:
        the_id = delivery_id(record.site_id, record.ghost_vid, record.type, webhook_id)
        key = DeliveryKey(record.site_id, webhook_id, record.occurred_at_ms, the_id)
        alerts_dal.put_delivery(
            Delivery(
                key=key,
                type=record.type,
                ghost_vid=record.ghost_vid,
                body=delivery_body(record, the_id),
                status="pending",
                attempts=0,
                created_at_ms=now_ms,
                next_attempt_at_ms=now_ms,
            )
        )
        keys.append(key)
    queue.send(keys)
    alerts_dal.mark_queued(record)


# ------------------------------------------------------------------ webhooks


def add_webhook(
    site_id: int,
    url: str,
    events: Sequence[str],
    now_ms: int,
    resolver: webhook_targets.Resolver | None = None,
) -> tuple[Webhook, str]:
    """A new webhook and its signing secret (returned once: only its encrypted form is stored)."""
    chosen = tuple(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in TRANSITION_TYPES]
    if unknown or not chosen:
        raise InvalidParameter(
            f"events must be one or more of {', '.join(TRANSITION_TYPES)} (got {events!r})."
        )
    try:
        webhook_targets.check(url, settings.webhook_targets(), resolver)
    except webhook_targets.UnsafeTarget as unsafe:
        raise InvalidParameter(f"This URL cannot receive webhooks: {unsafe}.") from None
    if len(alerts_dal.webhooks(site_id)) >= MAX_WEBHOOKS:
        raise InvalidParameter(f"Site {site_id} has {MAX_WEBHOOKS} webhooks, the most it may have.")
    webhook = Webhook(
        site_id=site_id,
        webhook_id=f"wh_{secrets.token_hex(8)}",
        url=url,
        events=tuple(e for e in TRANSITION_TYPES if e in chosen),
        created_at_ms=now_ms,
    )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    alerts_dal.put_webhook(webhook, secrets_dal.seal(secret, site_id, webhook.webhook_id))
    return webhook, secret


def list_webhooks(site_id: int) -> list[Webhook]:
    return alerts_dal.webhooks(site_id)


def remove_webhook(site_id: int, webhook_id: str) -> None:
    """Deletes the webhook and its secret; its pending deliveries end as cancelled."""
    if not alerts_dal.delete_webhook(site_id, webhook_id):
        raise NotFound(f"Site {site_id} has no webhook {webhook_id}.")


def list_deliveries(site_id: int, webhook_id: str | None = None, limit: int = 50) -> list[Delivery]:
    return alerts_dal.deliveries(site_id, webhook_id, limit)
