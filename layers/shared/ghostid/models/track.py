"""The collector's request and response (POST /api/track): one event, or `{"events": [...]}` with up to 50.

Only what a browser knows is accepted here; the server adds the time, place and device itself, so
fields such as `timestamp`, `country` or `browser` are rejected as unknown.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ghostid.models.api import SiteId
from ghostid.models.events import Id
from ghostid.models.inputs import (
    EventId,
    EventName,
    EventRules,
    EventType,
    Page,
    PageTitle,
    Props,
    Referrer,
    UserId,
)

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 50
MAX_OFFSET_MS = 3_600_000  # events queued in the browser may be up to an hour old


class TrackEvent(EventRules):
    """One event as a tracker sends it (field rules and normalisation: ghostid/models/inputs.py)."""

    model_config = ConfigDict(extra="forbid")

    site_id: int = Field(ge=1, le=2**53 - 1)
    ghost_vid: Id
    session_id: Id
    type: EventType
    event_name: EventName = ""
    page: Page
    page_title: PageTitle = ""
    referrer: Referrer = None
    props: Props = Field(default_factory=dict)
    user_id: UserId = None
    event_id: EventId = None
    offset_ms: int = Field(default=0, ge=-MAX_OFFSET_MS, le=0)

    @field_validator("site_id", "offset_ms", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        return value


class TrackBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[TrackEvent], Field(min_length=1, max_length=MAX_BATCH)]


class TrackQuery(BaseModel):
    """The collector's query: an optional `siteId` (an unknown parameter is a 400)."""

    model_config = ConfigDict(extra="forbid")

    site_id: SiteId | None = Field(default=None, alias="siteId")


class TrackResponse(BaseModel):
    """202: how many events arrived, how many were new, and whether all were dropped (as a bot's)."""

    received: int
    stored: int
    duplicates: int
    dropped: Literal["bot"] | None = None
