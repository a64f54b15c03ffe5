"""Query parameters of the people routes (PRODUCT §12)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ghostid.models.api import Count, Cursor, Day, Flag, RangeQuery, SiteQuery, VisitorId


class LeadsQuery(RangeQuery):
    status: Literal["hot", "identified", "all"] = Field(
        default="hot", description="status must be hot, identified or all (default hot)."
    )
    sort: Literal["last_seen", "score"] = Field(
        default="last_seen", description="sort must be last_seen or score (default last_seen)."
    )
    limit: Count = Field(
        default=50, ge=1, le=200, description="limit must be a whole number from 1 to 200 (default 50)."
    )
    cursor: Cursor | None = Field(
        default=None, description="cursor must be a next_cursor this route returned."
    )


class VisitorQuery(SiteQuery):
    ghost_vid: VisitorId = Field(
        description="The visitor id in the path must be 1 to 128 printable characters."
    )
    cursor: Cursor | None = Field(
        default=None, description="cursor must be a next_cursor this route returned."
    )


class SessionsQuery(RangeQuery):
    ghost_vid: VisitorId | None = Field(
        default=None, description="ghost_vid must be 1 to 128 printable characters."
    )
    identified: Flag | None = Field(default=None, description="identified must be true or false.")
    hot: Flag | None = Field(default=None, description="hot must be true or false.")
    country: str | None = Field(
        default=None, min_length=1, max_length=256, description="country must be a country name."
    )
    limit: Count = Field(
        default=50, ge=1, le=200, description="limit must be a whole number from 1 to 200 (default 50)."
    )
    cursor: Cursor | None = Field(
        default=None, description="cursor must be a next_cursor this route returned."
    )


class ExportQuery(SiteQuery):
    from_day: Day = Field(
        alias="from", description="from is required: a date YYYY-MM-DD in the site's time zone."
    )
    to_day: Day = Field(alias="to", description="to is required: a date YYYY-MM-DD in the site's time zone.")
    cursor: Cursor | None = Field(
        default=None, description="cursor must be the Next-Cursor this route returned."
    )
