"""Lead alerts (PRODUCT §12): the transitions the stream consumer detects, webhooks, and deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TransitionType = Literal["lead.hot", "visitor.identified"]
TRANSITION_TYPES: tuple[TransitionType, ...] = ("lead.hot", "visitor.identified")
DeliveryStatus = Literal["pending", "delivered", "failed", "cancelled"]
FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset({"delivered", "failed", "cancelled"})


@dataclass(frozen=True)
class Transition:
    """A visitor first became a hot lead, or first identified (as of the event order of PRODUCT §4)."""

    site_id: int
    ghost_vid: str
    type: TransitionType
    occurred_at_ms: int  # timestamp of the event that caused it (event time)
    lead: dict[str, Any]  # the visitor's GET /api/leads row at detection (PRODUCT §12)


@dataclass(frozen=True)
class TransitionRecord:
    """A transition as first recorded: what every later call for it reuses, so its deliveries never change.

    `webhook_ids` are the site's webhooks that matched when it was recorded (none for a transition whose
    event was over 24 hours old then); `queued` is set once a delivery of each is stored and queued.
    """

    site_id: int
    ghost_vid: str
    type: TransitionType
    occurred_at_ms: int
    lead_json: str
    webhook_ids: tuple[str, ...]
    recorded_at_ms: int
    queued: bool


@dataclass(frozen=True)
class Webhook:
    site_id: int
    webhook_id: str
    url: str
    events: tuple[TransitionType, ...]
    created_at_ms: int


@dataclass(frozen=True)
class DeliveryKey:
    """Where a delivery is stored; what a queue message carries."""

    site_id: int
    webhook_id: str
    occurred_at_ms: int
    delivery_id: str


@dataclass(frozen=True)
class Delivery:
    key: DeliveryKey
    type: TransitionType
    ghost_vid: str
    body: str  # the exact JSON sent on every attempt
    status: DeliveryStatus
    attempts: int
    created_at_ms: int
    next_attempt_at_ms: int
    lease_until_ms: int = 0
    last_attempt_at_ms: int | None = None
    last_status: int | None = None
    last_error: str | None = None
    finished_at_ms: int | None = None

    @property
    def delivery_id(self) -> str:
        return self.key.delivery_id

    @property
    def webhook_id(self) -> str:
        return self.key.webhook_id


@dataclass(frozen=True)
class AttemptOutcome:
    """What one POST came to: `status` is the HTTP status when there was an answer."""

    status: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300
