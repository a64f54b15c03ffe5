"""The rollup model's values: what a session contributes (cells, summary, lead parts), what a node of the
time tree holds, and what the consumer knows of a visitor. Storage encodings live in `ghostid.dal`."""

from __future__ import annotations

from dataclasses import dataclass, field

from ghostid.distinct import Distinct

Row = list[int]  # [sessions, pageviews, events] under one dimension value


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What the rollups need of one stored event."""

    event_id: str
    ts: int
    type: str
    page: str
    ghost_vid: str
    event_name: str = ""
    user_id: str | None = None
    country: str | None = None
    city: str | None = None
    device_type: str | None = None
    browser: str | None = None
    os: str | None = None
    referrer: str | None = None
    utm: tuple[tuple[str, str], ...] = ()

    @property
    def order(self) -> tuple[int, str]:
        return (self.ts, self.event_id)


@dataclass(slots=True)
class Cell:
    """What one session contributes to one local hour: counters and, per dimension, the rows of the values
    its events there have (a session dimension has the session's one value)."""

    hour: int  # the local hour's start, epoch ms
    session_id: str
    visitor: str
    first: bool = False  # the session's first event is in this hour
    pageviews: int = 0
    events: int = 0
    rows: dict[str, dict[str, Row]] = field(default_factory=dict)
    n: int = 0  # events of the whole session when computed (later computations hold more)


@dataclass(slots=True)
class SessionSummary:
    """A session without its timeline (PRODUCT §12 `GET /api/sessions`), kept on the session's first cell."""

    session_id: str
    ghost_vid: str
    started_at: int
    ended_at: int
    event_count: int
    pageview_count: int
    entry_page: str | None
    exit_page: str | None
    referrer: str | None
    country: str | None
    city: str | None
    device_type: str | None
    browser: str | None
    os: str | None
    identified_user_id: str | None = None  # the visitor's, as of now: kept current by the consumer
    hot: bool = False
    identified: bool = False


@dataclass(slots=True)
class ScoringEvent:
    ts: int
    event_id: str
    kind: str  # "hi" high-intent pageview, "cu" custom event, "id" first event with a user_id


@dataclass(slots=True)
class SessionParts:
    """What a visitor's profile and lead score need of one of its sessions."""

    session_id: str
    n: int
    start: int
    end: int
    end_event: str  # event id of the session's latest event (ties of `end` between sessions)
    pageviews: int
    events: int
    high_intent: int
    custom: int
    hours: list[int]
    scoring: list[ScoringEvent]  # the earliest few, in event order (enough to find hot_since)
    identity: tuple[int, str, str] | None  # (ts, event_id, user_id) of its latest event with a user_id
    identified_at: int | None  # time of its first event with a user_id
    # Every value it sent -> the (time, event id) of its latest event with it: user_ids, countries, devices.
    user_ids: dict[str, tuple[int, str]]
    countries: dict[str, tuple[int, str]]
    devices: dict[str, tuple[int, str]]
    last_country: str | None
    last_pages: list[str]  # up to 5 distinct pageview pages, most recently viewed first


@dataclass
class Aggregate:
    """A node of the time tree (an hour, a day, a week, a month, or a prefix): the overview counters, the
    visitors, and per dimension and value the count metrics and (where the dimension has them) visitors."""

    pageviews: int = 0
    events: int = 0
    sessions: int = 0
    visitors: Distinct = field(default_factory=Distinct)
    rows: dict[str, dict[str, Row]] = field(default_factory=dict)
    row_visitors: dict[str, dict[str, Distinct]] = field(default_factory=dict)
    # (dimension, value) whose visitors are another aggregate's, merged with `borrow`: copied before
    # anything is added to them (`sketch_to_add`).
    borrowed: set[tuple[str, str]] = field(default_factory=set, repr=False, compare=False)

    def merge(self, other: Aggregate, borrow: bool = False) -> None:
        """Adds `other` in. With `borrow`, a value's visitors seen first in `other` are shared, not copied
        (copying a sketch costs more than merging it): for an `other` nothing adds to afterwards, such as
        nodes read to answer one call."""
        self.pageviews += other.pageviews
        self.events += other.events
        self.sessions += other.sessions
        self.visitors.merge(other.visitors)
        for dim, values in other.rows.items():
            mine = self.rows.get(dim)
            if mine is None:  # the first node of a range: a copy, without a lookup per value
                self.rows[dim] = {value: row.copy() for value, row in values.items()}
                continue
            get = mine.get
            for value, row in values.items():
                current = get(value)
                if current is None:
                    mine[value] = row.copy()
                else:  # this aggregate's own copy: added to in place (a Row's three counts, unrolled)
                    current[0] += row[0]
                    current[1] += row[1]
                    current[2] += row[2]
        for dim, sketches in other.row_visitors.items():
            mine_sketches = self.row_visitors.setdefault(dim, {})
            for value, sketch in sketches.items():
                if value in mine_sketches:
                    self.sketch_to_add(dim, value).merge(sketch)
                elif borrow:
                    mine_sketches[value] = sketch
                    self.borrowed.add((dim, value))
                else:
                    mine_sketches[value] = Distinct.from_bytes(sketch.to_bytes())

    def sketch_to_add(self, dim: str, value: str) -> Distinct:
        """This aggregate's own visitors of a value (created, or copied from a borrowed one)."""
        sketches = self.row_visitors.setdefault(dim, {})
        current = sketches.get(value)
        if current is None:
            current = sketches[value] = Distinct()
        elif self.borrowed and (dim, value) in self.borrowed:
            self.borrowed.discard((dim, value))
            current = sketches[value] = Distinct.union_of(current)
        return current


@dataclass
class Presence:
    """Identified visitors and hot leads of one period (reach-back keeps them current)."""

    identified: Distinct = field(default_factory=Distinct)
    hot: Distinct = field(default_factory=Distinct)
