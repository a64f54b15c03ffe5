"""The rollup dimensions and metrics, declared once (PRODUCT §11).

Everything else is derived from this table: what a session cell records, what a rollup node keeps,
which families a node is stored in, the breakdown route's accepted dimensions and row fields, and the
response model. Adding a dimension is one entry here plus, for a new kind of value, one extractor in
`ghostid.logic.cells`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Metric = Literal["visitors", "sessions", "pageviews", "events"]
Scope = Literal["event", "session"]
Counted = Literal["all", "pageview", "custom_event"]
COUNT_METRICS: tuple[Metric, ...] = ("sessions", "pageviews", "events")

UNKNOWN = "Unknown"
NONE = "(none)"
DIRECT = "Direct / None"


@dataclass(frozen=True)
class Dimension:
    """One breakdown dimension.

    - `scope`: `event` values come from each event; `session` values are the session's, and every event
      of the session counts under it.
    - `metrics`: the row's metrics, in order; rows rank by the first one (most first, ties by value).
    - `counts`: which events count (pages count pageviews, event names count custom events).
    - `missing`: the value of an event or session that has none.
    """

    name: str
    scope: Scope
    metrics: tuple[Metric, ...]
    missing: str
    counts: Counted = "all"

    @property
    def has_visitors(self) -> bool:
        return "visitors" in self.metrics

    @property
    def count_metrics(self) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m != "visitors")


_ALL: tuple[Metric, ...] = ("visitors", "sessions", "pageviews", "events")
_SESSIONS: tuple[Metric, ...] = ("sessions", "pageviews", "events")

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("page", "event", ("pageviews",), UNKNOWN, counts="pageview"),
    Dimension("event_name", "event", ("visitors", "events"), UNKNOWN, counts="custom_event"),
    Dimension("entry_page", "session", _SESSIONS, NONE),
    Dimension("exit_page", "session", _SESSIONS, NONE),
    Dimension("source", "session", _ALL, DIRECT),
    Dimension("referrer", "session", _SESSIONS, DIRECT),
    Dimension("utm_source", "session", _ALL, NONE),
    Dimension("utm_medium", "session", _ALL, NONE),
    Dimension("utm_campaign", "session", _SESSIONS, NONE),
    Dimension("utm_term", "session", _SESSIONS, NONE),
    Dimension("utm_content", "session", _SESSIONS, NONE),
    Dimension("country", "event", _ALL, UNKNOWN),
    Dimension("device_type", "event", _ALL, UNKNOWN),
    Dimension("browser", "event", _ALL, UNKNOWN),
    Dimension("os", "event", _ALL, UNKNOWN),
    Dimension("city", "event", _SESSIONS, UNKNOWN),
)
BY_NAME = {d.name: d for d in DIMENSIONS}
DimensionName = Literal[
    "page",
    "event_name",
    "entry_page",
    "exit_page",
    "source",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "country",
    "device_type",
    "browser",
    "os",
    "city",
]
SESSION_DIMENSIONS = tuple(d for d in DIMENSIONS if d.scope == "session")
EVENT_DIMENSIONS = tuple(d for d in DIMENSIONS if d.scope == "event")

# What GET /api/stats reads of a node: the overview family and two dimensions.
OVERVIEW = "o"
STATS_FAMILIES = (OVERVIEW, "page", "country")
FAMILIES = (OVERVIEW, *(d.name for d in DIMENSIONS))
