"""Attempts one queued webhook delivery: signed POST, result recorded, the next attempt scheduled.

A queue message only names a delivery; the delivery's stored state decides. Before a POST the sender
*claims* the attempt with a conditional update (the delivery is pending, due, not leased, and its
attempt count is the one just read), so a duplicate message, a redelivered one or a second sender never
POSTs an id that is delivered, failed or being attempted. A claim is a lease (LEASE_MS): a sender that
dies mid-attempt leaves the delivery to the message's next receipt. An id may still reach a receiver
twice if a sender dies after the receiver answered but before the answer was recorded; receivers
deduplicate by `id` (README).

Failed attempts (any non-2xx, a timeout of 5 s, a refused connection, an address that is no longer
public) are retried on `RetrySchedule` for 24 hours from the delivery's creation, always with the same id
and body, then the delivery is kept as `failed`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ghostid import settings, timeutil
from ghostid.dal import alerts as alerts_dal
from ghostid.dal import queue
from ghostid.dal import secrets as secrets_dal
from ghostid.logic import webhook_targets
from ghostid.models.alerts import FINAL_STATUSES, AttemptOutcome, Delivery

LEASE_MS = 60_000  # longer than one attempt (5 s), shorter than the queue's visibility timeout
SIGNATURE_HEADER = "Ghost-Signature"
USER_AGENT = "GhostID-Webhooks/1"


@dataclass(frozen=True)
class RetrySchedule:
    """Attempt n+1 comes `delays_s[n-1]` seconds after attempt n (the last delay repeats), never later
    than `budget_s` after the delivery was created; once that moment has passed, a failure is final."""

    delays_s: tuple[int, ...] = (10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800)
    budget_s: int = 24 * 3600

    def next_attempt_ms(self, created_at_ms: int, attempts: int, now_ms: int) -> int | None:
        deadline = created_at_ms + self.budget_s * 1000
        if now_ms >= deadline:
            return None
        delay_s = self.delays_s[min(attempts, len(self.delays_s)) - 1]
        return min(now_ms + delay_s * 1000, deadline)


DEFAULT_SCHEDULE = RetrySchedule()

Result = Literal["delivered", "retry", "failed", "cancelled", "not due", "not mine", "gone"]


@dataclass(frozen=True)
class MessageResult:
    result: Result
    retry_in_s: int | None = None  # when the message should come back; None: delete it


def signature(secret: str, timestamp_s: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the Stripe scheme)."""
    digest = hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp_s},v1={digest}"


def _seconds_until(moment_ms: int, now_ms: int) -> int:
    return max(0, math.ceil((moment_ms - now_ms) / 1000))


def handle_message(
    body: str,
    clock: Callable[[], int] | None = None,
    schedule: RetrySchedule | None = None,
) -> MessageResult:
    """Works on the delivery a queue message names; ValueError if the message names none. `clock` and
    `schedule` default to the wall clock and DEFAULT_SCHEDULE (tests compress time with their own)."""
    clock = clock or timeutil.now_ms
    schedule = schedule or DEFAULT_SCHEDULE
    delivery = alerts_dal.get_delivery(queue.decode(body))
    now = clock()
    if delivery is None or delivery.status in FINAL_STATUSES:
        return MessageResult("gone")
    if delivery.next_attempt_at_ms > now:  # an early copy of the message: back when it is due
        return MessageResult("not due", _seconds_until(delivery.next_attempt_at_ms, now))
    claimed = alerts_dal.claim(delivery, now, now + LEASE_MS)
    if claimed is None:  # attempted or being attempted by another receipt, whose message carries it on
        return MessageResult("not mine")
    found = alerts_dal.webhook_with_secret(claimed.key.site_id, claimed.webhook_id)
    if found is None:
        _finish(claimed, "cancelled", AttemptOutcome(None, "the webhook was removed"), clock())
        return MessageResult("cancelled")
    webhook, sealed = found
    outcome = _attempt(claimed, webhook.url, sealed, now)
    after = clock()
    if outcome.succeeded:
        _finish(claimed, "delivered", outcome, after)
        return MessageResult("delivered")
    next_at = schedule.next_attempt_ms(claimed.created_at_ms, claimed.attempts, after)
    if next_at is None:
        _finish(claimed, "failed", outcome, after)
        return MessageResult("failed")
    _finish(claimed, "pending", outcome, after, next_at)
    return MessageResult("retry", _seconds_until(next_at, after))


def _attempt(claimed: Delivery, url: str, sealed: bytes, now_ms: int) -> AttemptOutcome:
    try:
        target = webhook_targets.check(url, settings.webhook_targets())  # again: DNS may have changed
    except webhook_targets.UnsafeTarget as unsafe:
        return AttemptOutcome(None, f"not sent: {unsafe}")
    try:
        secret = secrets_dal.unseal(sealed, claimed.key.site_id, claimed.webhook_id)
    except secrets_dal.SecretUnavailable as error:
        return AttemptOutcome(None, f"not sent: {error}")
    body = claimed.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(secret, now_ms // 1000, body),
    }
    return webhook_targets.post(target, body, headers)


def _finish(
    claimed: Delivery,
    status: Literal["pending", "delivered", "failed", "cancelled"],
    outcome: AttemptOutcome,
    now_ms: int,
    next_at_ms: int | None = None,
) -> None:
    alerts_dal.finish_attempt(
        claimed,
        status,
        next_at_ms if next_at_ms is not None else now_ms,
        http_status=outcome.status,
        error=outcome.error,
        now_ms=now_ms,
    )
