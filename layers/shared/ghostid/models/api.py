"""Request parameters and response bodies of the read API, field for field as the product document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from ghostid.timeutil import TimeRange


def _decimal_digits(value: Any) -> Any:
    """Query parameters arrive as text: a site id is plain ASCII digits (no sign, space, `_`, `.` or `e`),
    so `siteId=4_0` or `siteId=+4` is a 400, not site 40 or 4."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a positive whole number")
    return value


SiteId = Annotated[int, Field(ge=1, le=2**53 - 1), BeforeValidator(_decimal_digits)]
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class SiteQuery(BaseModel):
    """Query parameters of a read route: every route names a site; an unknown parameter is a 400."""

    model_config = ConfigDict(extra="forbid")

    site_id: SiteId = Field(alias="siteId")


class StatsQuery(SiteQuery):
    time_range: TimeRange = Field(default="7d", alias="timeRange")


class SessionQuery(SiteQuery):
    session_id: SessionId


class Overview(BaseModel):
    unique_visitors: int
    sessions: int
    pageviews: int
    total_events: int
    identified_visitors: int
    hot_leads: int


class TopPage(BaseModel):
    page: str
    views: int


class CountryVisitors(BaseModel):
    country: str
    visitors: int


class StatsResponse(BaseModel):
    overview: Overview
    top_pages: list[TopPage]
    countries: list[CountryVisitors]
    time_range: TimeRange


class TimelineItem(BaseModel):
    type: Literal["pageview", "custom_event"]
    event_name: str
    page: str
    page_title: str
    timestamp: str
    time_on_previous_page: int
    props: dict[str, Any]


class SessionResponse(BaseModel):
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
    duration_seconds: int
    event_count: int
    pageview_count: int
    entry_page: str | None
    exit_page: str | None
    referrer: str | None
    pages: list[str]
    timeline: list[TimelineItem]
