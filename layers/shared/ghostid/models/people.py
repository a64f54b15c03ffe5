"""Query parameters and response bodies of the people routes (PRODUCT §12)."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field, model_validator

from ghostid.models.api import (
    Count,
    Cursor,
    Day,
    Flag,
    RangeQuery,
    SiteQuery,
    VisitorId,
    check_day_order,
    cursor_field,
    limit_field,
)


class LeadsQuery(RangeQuery):
    status: Literal["hot", "identified", "all"] = Field(
        default="hot", description="status must be hot, identified or all (default hot)."
    )
    sort: Literal["last_seen", "score"] = Field(
        default="last_seen", description="sort must be last_seen or score (default last_seen)."
    )
    limit: Count = limit_field(default=50, most=200)
    cursor: Cursor | None = cursor_field()


class VisitorQuery(SiteQuery):
    ghost_vid: VisitorId = Field(
        description="The visitor id in the path must be 1 to 128 printable characters."
    )
    cursor: Cursor | None = cursor_field()


class SessionsQuery(RangeQuery):
    ghost_vid: VisitorId | None = Field(
        default=None, description="ghost_vid must be 1 to 128 printable characters."
    )
    identified: Flag | None = Field(default=None, description="identified must be true or false.")
    hot: Flag | None = Field(default=None, description="hot must be true or false.")
    country: str | None = Field(
        default=None, min_length=1, max_length=256, description="country must be a country name."
    )
    limit: Count = limit_field(default=50, most=200)
    cursor: Cursor | None = cursor_field()


class ExportQuery(SiteQuery):
    from_day: Day = Field(
        alias="from", description="from is required: a date YYYY-MM-DD in the site's time zone."
    )
    to_day: Day = Field(alias="to", description="to is required: a date YYYY-MM-DD in the site's time zone.")
    cursor: Cursor | None = cursor_field("the Next-Cursor")

    @model_validator(mode="after")
    def _days_in_order(self) -> ExportQuery:
        check_day_order(self.from_day, self.to_day)
        return self


# --- responses ----------------------------------------------------------------------------------------


class ScoreParts(BaseModel):
    """What the lead score is made of (PRODUCT §4), in points that add up to `score`: the high-intent
    pageviews times their weight, the custom events times theirs, and the identified bonus (or 0)."""

    high_intent_pageviews: int = Field(ge=0)
    custom_events: int = Field(ge=0)
    identified: int = Field(ge=0)


Sessions = TypeVar("Sessions")


class _LeadFields(BaseModel, Generic[Sessions]):
    """A visitor as of now. `sessions` is how many it has in a lead row, its session summaries in a profile;
    both keep the field's place, so a profile is the lead row's fields (in their order) plus its own."""

    ghost_vid: str
    identified_user_id: str | None
    score: int = Field(ge=0)
    score_parts: ScoreParts
    hot: bool
    hot_since: str | None
    first_seen: str
    last_seen: str
    sessions: Sessions
    country: str | None
    last_session_id: str
    last_pages: list[str] = Field(max_length=5)


class LeadRow(_LeadFields[int]):
    """A row of `GET /api/leads` (and the `lead` of a webhook delivery)."""


class LeadsResponse(BaseModel):
    leads: list[LeadRow]
    next_cursor: str | None


class SessionSummaryBody(BaseModel):
    """A session without `pages` and `timeline` (PRODUCT §12): `SessionResponse`'s other fields, in order."""

    session_id: str
    ghost_vid: str
    identified_user_id: str | None
    country: str | None
    city: str | None
    device_type: str | None
    browser: str | None
    os: str | None
    started_at: str
    ended_at: str
    duration_seconds: int = Field(ge=0)
    event_count: int = Field(ge=1)
    pageview_count: int = Field(ge=0)
    entry_page: str | None
    exit_page: str | None
    referrer: str | None


class SessionsResponse(BaseModel):
    sessions: list[SessionSummaryBody]
    next_cursor: str | None


class VisitorResponse(_LeadFields[list[SessionSummaryBody]]):
    """`GET /api/visitors/{ghost_vid}`: the lead row, with `sessions` a page of summaries (newest first) and
    the count in `session_count`, plus every user id (latest first), totals, countries and devices."""

    user_ids: list[str]
    pageviews: int = Field(ge=0)
    events: int = Field(ge=0)
    countries: list[str]
    devices: list[str]
    session_count: int = Field(ge=1)
    next_cursor: str | None
