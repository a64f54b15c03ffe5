"""Request parameters and response bodies of the read API (PRODUCT §5, §6, §10–§12).

A parameter's `description` is the message a caller gets when it is missing or wrong (`ghostid.http`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from ghostid.logic.periods import PRESETS, Compare, Preset
from ghostid.models.dimensions import DIMENSIONS, DimensionName, Metric

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _decimal_digits(value: Any) -> Any:
    """Query parameters arrive as text: a site id is plain ASCII digits (no sign, space, `_`, `.` or `e`),
    so `siteId=4_0` or `siteId=+4` is a 400, not site 40 or 4."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a positive whole number")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and not _DATE.match(value):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


def _boolean(value: Any) -> Any:
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"
    return value


SiteId = Annotated[int, Field(ge=1, le=2**53 - 1), BeforeValidator(_decimal_digits)]
Count = Annotated[int, BeforeValidator(_decimal_digits)]
Day = Annotated[date, BeforeValidator(_iso_date)]
Flag = Annotated[bool, BeforeValidator(_boolean)]
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
VisitorId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
RangeName = Literal[Preset, "custom"]
RANGE_NAMES: tuple[str, ...] = (*PRESETS, "custom")
RANGE_HELP = (
    "timeRange must be one of 24h, today, yesterday, 7d, 30d, month, last_month, 12mo (default 7d), or "
    "custom with from and to (YYYY-MM-DD, both included, in the site's time zone)."
)


class SiteQuery(BaseModel):
    """Query parameters of a read route: every route names a site; an unknown parameter is a 400."""

    model_config = ConfigDict(extra="forbid")

    site_id: SiteId = Field(
        alias="siteId", description="siteId is required and must be a positive whole number, e.g. siteId=4."
    )


def check_day_order(first: date | None, last: date | None) -> None:
    """`from` after `to` is wrong whatever the site: refused with the other parameters, before membership."""
    if first is not None and last is not None and first > last:
        raise ValueError("from must be on or before to (both YYYY-MM-DD, in the site's time zone).")


class RangeQuery(SiteQuery):
    """A preset (`timeRange`) or local dates (`from` and `to`, with `timeRange` absent or `custom`)."""

    time_range: RangeName | None = Field(default=None, alias="timeRange", description=RANGE_HELP)
    from_day: Day | None = Field(default=None, alias="from", description="from must be a date YYYY-MM-DD.")
    to_day: Day | None = Field(default=None, alias="to", description="to must be a date YYYY-MM-DD.")

    @model_validator(mode="after")
    def _one_range(self) -> RangeQuery:
        dated = self.from_day is not None or self.to_day is not None
        if dated and (self.from_day is None or self.to_day is None):
            raise ValueError("from and to go together: give both (YYYY-MM-DD), or use timeRange.")
        if dated and self.time_range not in (None, "custom"):
            raise ValueError(
                "Give either timeRange or from and to, not both (timeRange=custom may go with them)."
            )
        if self.time_range == "custom" and not dated:
            raise ValueError("timeRange=custom needs from and to (YYYY-MM-DD).")
        check_day_order(self.from_day, self.to_day)
        return self

    @property
    def preset(self) -> Preset | None:
        if self.from_day is not None:
            return None
        if self.time_range is None or self.time_range == "custom":
            return "7d"
        return self.time_range


def limit_field(default: int, most: int) -> Any:
    """A page size parameter: 1 to `most`, `default` when absent."""
    return Field(
        default=default,
        ge=1,
        le=most,
        description=f"limit must be a whole number from 1 to {most} (default {default}).",
    )


def cursor_field(returned: str = "a next_cursor") -> Any:
    """A keyset position: only what the route itself returned (signed, `ghostid.logic.cursor`)."""
    return Field(default=None, description=f"cursor must be {returned} this route returned.")


class StatsQuery(RangeQuery):
    compare: Compare | None = Field(default=None, description="compare must be previous or year.")
    limit: Count = limit_field(default=10, most=100)


class TimeseriesQuery(RangeQuery):
    interval: Literal["hour", "day", "week", "month"] = Field(
        default="day",
        description="interval must be hour (ranges up to 7 days), day, week or month (default day).",
    )
    compare: Compare | None = Field(default=None, description="compare must be previous or year.")


_DIMENSION_LIST = f"{', '.join(d.name for d in DIMENSIONS[:-1])} or {DIMENSIONS[-1].name}"


class BreakdownQuery(RangeQuery):
    dimension: DimensionName = Field(description=f"dimension must be one of {_DIMENSION_LIST}.")
    limit: Count = limit_field(default=10, most=1000)
    cursor: Cursor | None = cursor_field()


class SessionQuery(SiteQuery):
    session_id: SessionId = Field(
        description="The session id in the path must be 1 to 128 printable characters, e.g. gs_123."
    )


# --- responses ----------------------------------------------------------------------------------------


def _range_name(value: str) -> str:
    if value not in RANGE_NAMES:
        raise ValueError(f"time_range must be one of {', '.join(RANGE_NAMES)}")
    return value


# A range's name in an answer: the preset, or `custom` (a period's name is plain text in the logic).
RangeLabel = Annotated[
    str, AfterValidator(_range_name), WithJsonSchema({"type": "string", "enum": list(RANGE_NAMES)})
]


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


class PeriodBody(BaseModel):
    start: str
    end: str
    timezone: str


class Change(BaseModel):
    """Percent change of each overview metric against the compared period; null when that was 0."""

    unique_visitors: float | None
    sessions: float | None
    pageviews: float | None
    total_events: float | None
    identified_visitors: float | None
    hot_leads: float | None


class Comparison(BaseModel):
    period: PeriodBody
    overview: Overview
    change: Change


def _absent(value: object) -> bool:
    return value is None


# An optional part of an answer (`comparison`): left out when absent, never sent as null (so the schema
# says "not required", not "nullable").
OMITTED_WHEN_ABSENT = Field(default=None, exclude_if=_absent)


class StatsResponse(BaseModel):
    overview: Overview
    top_pages: list[TopPage]
    countries: list[CountryVisitors]
    time_range: RangeLabel
    period: PeriodBody
    comparison: Comparison | SkipJsonSchema[None] = OMITTED_WHEN_ABSENT


class Point(BaseModel):
    start: str
    label: str
    unique_visitors: int
    sessions: int
    pageviews: int
    total_events: int
    identified_visitors: int
    hot_leads: int


class SeriesComparison(BaseModel):
    period: PeriodBody
    points: list[Point]


class TimeseriesResponse(BaseModel):
    interval: Literal["hour", "day", "week", "month"]
    time_range: RangeLabel
    period: PeriodBody
    points: list[Point]
    comparison: SeriesComparison | SkipJsonSchema[None] = OMITTED_WHEN_ABSENT


class BreakdownRow(BaseModel):
    """A value's row: the value and exactly its dimension's metrics (`models.dimensions`), in their order."""

    model_config = ConfigDict(extra="forbid")

    value: str


class BreakdownResponse(BaseModel):
    """A breakdown's answer. Its concrete shape is `BREAKDOWN_RESPONSES[dimension]`, whose rows carry that
    dimension's metrics; the API reference documents it as one of `breakdown_variants()`."""

    dimension: DimensionName
    time_range: RangeLabel
    period: PeriodBody
    rows: list[BreakdownRow]
    next_cursor: str | None


def _camel(metrics: tuple[Metric, ...]) -> str:
    return "".join(metric.capitalize() for metric in metrics)


def _breakdown_variant(metrics: tuple[Metric, ...]) -> type[BreakdownResponse]:
    """The answer of the dimensions whose rows have `metrics`: `dimension` is one of them, rows have
    `value` and those metrics, all required (e.g. `PageviewsBreakdown` with `PageviewsRow`)."""
    names = tuple(d.name for d in DIMENSIONS if d.metrics == metrics)
    counts: dict[str, Any] = {metric: (int, Field(ge=0)) for metric in metrics}
    row: Any = create_model(f"{_camel(metrics)}Row", __base__=BreakdownRow, __module__=__name__, **counts)
    one_of_names: Any = Literal[names]
    return create_model(
        f"{_camel(metrics)}Breakdown",
        __base__=BreakdownResponse,
        __module__=__name__,
        __doc__=f"The answer for dimension {', '.join(names)}: rows of value and {', '.join(metrics)}.",
        dimension=(one_of_names, ...),
        rows=(list[row], ...),
    )


_VARIANTS = {metrics: _breakdown_variant(metrics) for metrics in dict.fromkeys(d.metrics for d in DIMENSIONS)}
BREAKDOWN_RESPONSES: dict[str, type[BreakdownResponse]] = {d.name: _VARIANTS[d.metrics] for d in DIMENSIONS}


def breakdown_variants() -> tuple[type[BreakdownResponse], ...]:
    """Every shape a breakdown answer can have, one per set of row metrics, in the order of DIMENSIONS."""
    return tuple(_VARIANTS.values())


class MinuteBody(BaseModel):
    start: str
    pageviews: int
    visitors: int


class PageVisitors(BaseModel):
    page: str
    visitors: int


class RealtimeResponse(BaseModel):
    visitors_now: int
    pageviews_last_30m: int
    minutes: list[MinuteBody]
    top_pages: list[PageVisitors]


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
