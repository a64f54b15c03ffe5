"""The rollup fold, pure: a session's events → its per-hour cells → deltas for the bucket counters.

A *cell* is what one session contributes to one hour for one visitor. Cells are recomputed from the
stored events of the session (never from the stream records themselves), stored beside the rollups,
and a bucket counter only ever moves by `new cell - stored cell`, in the same transaction that
replaces the stored cell. Replaying, overlapping or interrupting batches therefore changes nothing:
a cell already applied yields a zero delta, whatever order the events arrived in.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ghostid.models.sites import LeadRules
from ghostid.settings import PAGE_SHARDS
from ghostid.timeutil import Granularity, bucket_key, day_of_hour, hour_index

UNKNOWN_COUNTRY = "Unknown"


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What the rollups need of one stored event."""

    event_id: str
    ts: int
    type: str
    page: str
    ghost_vid: str
    user_id: str | None
    country: str


@dataclass(slots=True)
class Cell:
    """One session's contribution to one hour, for one visitor."""

    hour: int
    visitor: str
    pageviews: int = 0
    events: int = 0
    first: int = 0
    high_intent: int = 0
    custom: int = 0
    pages: dict[str, int] = field(default_factory=dict)
    countries: set[str] = field(default_factory=set)
    identity: tuple[str, str] | None = None  # (sortable key, user id) of the latest event with a user_id

    @property
    def key(self) -> str:
        return f"{self.hour}#{self.visitor}"

    def encode(self) -> str:
        return json.dumps(
            [self.pageviews, self.events, self.first, self.high_intent, self.custom, self.pages,
             sorted(self.countries), list(self.identity) if self.identity else None],
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def decode(cls, key: str, data: str) -> Cell:
        hour, visitor = key.split("#", 1)
        pv, ev, first, hi, cu, pages, countries, identity = json.loads(data)
        return cls(int(hour), visitor, pv, ev, first, hi, cu, pages, set(countries),
                   (identity[0], identity[1]) if identity else None)


def identity_key(ts: int, event_id: str) -> str:
    """Sorts like (timestamp, event_id): the latest user_id wins, whatever the arrival order."""
    return f"{ts:015d}|{event_id}"


def session_cells(events: Iterable[EventFacts], rules: LeadRules) -> dict[str, Cell]:
    """All cells of one session, from its complete set of stored events."""
    ordered = sorted(events, key=lambda e: (e.ts, e.event_id))
    cells: dict[str, Cell] = {}
    for event in ordered:
        hour = hour_index(event.ts)
        key = f"{hour}#{event.ghost_vid}"
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Cell(hour, event.ghost_vid)
        cell.events += 1
        cell.countries.add(event.country)
        if event.type == "pageview":
            cell.pageviews += 1
            cell.pages[event.page] = cell.pages.get(event.page, 0) + 1
            if rules.is_high_intent(event.page):
                cell.high_intent += 1
        else:
            cell.custom += 1
        if event.user_id:
            candidate = (identity_key(event.ts, event.event_id), event.user_id)
            if cell.identity is None or candidate[0] > cell.identity[0]:
                cell.identity = candidate
    if ordered:
        first = ordered[0]
        cells[f"{hour_index(first.ts)}#{first.ghost_vid}"].first = 1
    return cells


def never_decrease(old: Cell | None, new: Cell) -> Cell:
    """Events are only ever added; a recount that is lower (TTL expiry of old events) must not subtract."""
    if old is None:
        return new
    pages = dict(old.pages)
    for page, views in new.pages.items():
        pages[page] = max(views, pages.get(page, 0))
    identity = max(filter(None, (old.identity, new.identity)), default=None)
    return Cell(
        new.hour, new.visitor, max(old.pageviews, new.pageviews), max(old.events, new.events), new.first,
        max(old.high_intent, new.high_intent), max(old.custom, new.custom), pages,
        old.countries | new.countries, identity,
    )


def page_shard(granularity: Granularity, page: str) -> int:
    return zlib.crc32(page.encode()) % PAGE_SHARDS[granularity]


@dataclass
class Deltas:
    """What applying a set of cell changes adds to the rollup items (all additive, so order-free)."""

    counters: dict[tuple[Granularity, int], Counter[str]] = field(default_factory=dict)
    pages: dict[tuple[Granularity, int, int], Counter[str]] = field(default_factory=dict)
    visitors: dict[str, Counter[str]] = field(default_factory=dict)
    visitor_hours: dict[str, set[int]] = field(default_factory=dict)

    def add_cell_change(self, old: Cell | None, new: Cell) -> None:
        buckets: tuple[tuple[Granularity, int], ...] = (("H", new.hour), ("D", day_of_hour(new.hour)))
        base = old or Cell(new.hour, new.visitor)
        changes = {
            "pv": new.pageviews - base.pageviews,
            "ev": new.events - base.events,
            "se": new.first - base.first,
        }
        for bucket in buckets:
            counter = self.counters.setdefault(bucket, Counter())
            for name, change in changes.items():
                if change:
                    counter[name] += change
        for page, views in new.pages.items():
            change = views - base.pages.get(page, 0)
            if change:
                for granularity, index in buckets:
                    shard = (granularity, index, page_shard(granularity, page))
                    self.pages.setdefault(shard, Counter())[page] += change
        visitor = self.visitors.setdefault(new.visitor, Counter())
        for name, change in (("hi", new.high_intent - base.high_intent), ("cu", new.custom - base.custom)):
            if change:
                visitor[name] += change
        self.visitor_hours.setdefault(new.visitor, set()).add(new.hour)

    def compact(self) -> Deltas:
        """Drops items that would not change (zero deltas)."""
        return Deltas(
            {k: c for k, c in self.counters.items() if any(c.values())},
            {k: c for k, c in self.pages.items() if any(c.values())},
            self.visitors,
            self.visitor_hours,
        )


def bucket_partition(site_id: int, granularity: Granularity) -> str:
    return f"{site_id}#{granularity}"


def counters_sort_key(granularity: Granularity, index: int) -> str:
    return f"{bucket_key(granularity, index)}#c"


def pages_sort_key(granularity: Granularity, index: int, shard: int) -> str:
    return f"{bucket_key(granularity, index)}#p#{shard:02d}"


def sketch_sort_key(granularity: Granularity, index: int, kind: str) -> str:
    """kind: `u#v` visitors, `u#i` identified, `u#h` hot leads, `g#<country>` visitors from a country."""
    return f"{bucket_key(granularity, index)}#{kind}"
