"""Lead alerts: transitions recorded once and queued for the site's webhooks (see the webhooks section of the
README). Until the alerts store lands, transitions are only logged."""

from __future__ import annotations

from collections.abc import Sequence

from ghostid.models.alerts import Transition
from ghostid.observability import logger


def record_transitions(transitions: Sequence[Transition], now_ms: int) -> int:
    for transition in transitions:
        logger.info("transition", extra={"site_id": transition.site_id, "type": transition.type})
    return len(transitions)
