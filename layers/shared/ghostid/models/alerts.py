"""A lead alert's trigger: a visitor first became a hot lead, or first identified (PRODUCT §12)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Transition:
    site_id: int
    ghost_vid: str
    type: Literal["lead.hot", "visitor.identified"]
    occurred_at_ms: int  # timestamp of the event that caused it (event time)
    lead: dict[str, Any]  # the visitor's GET /api/leads row at detection
