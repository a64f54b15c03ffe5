"""The rollup fold, pure: a session's events → its per-hour cells → deltas for the bucket counters.

A *cell* is what one session contributes to one hour for one visitor. Cells are recomputed from the
stored events of the session (never from the stream records themselves), stored beside the rollups,
and a bucket counter only ever moves by `new cell - stored cell`, in the same transaction that
replaces the stored cell. Replaying, overlapping or interrupting batches therefore changes nothing:
a cell already applied yields a zero delta, whatever order the events arrived in.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from base64 import b64decode, b64encode
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ghostid.models.sites import LeadRules
from ghostid.settings import PAGE_SHARDS
from ghostid.timeutil import Granularity, bucket_key, day_of_hour, hour_index

UNKNOWN_COUNTRY = "Unknown"
# A cell keeps its page counts by 64-bit page hash (12 bytes a page). Past this many distinct pages in
# one session-hour (only crawlers get there) further pages still count as pageviews but not in top pages,
# so a cell item stays under ~120 KB whatever a client sends.
MAX_CELL_PAGES = 5_000
_PAGE_ENTRY = struct.Struct("<QI")


def page_hash(page: str) -> int:
    return int.from_bytes(hashlib.blake2b(page.encode(), digest_size=8).digest(), "little")


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
    pages: dict[int, int] = field(default_factory=dict)  # page hash -> pageviews
    countries: set[str] = field(default_factory=set)
    identity: tuple[str, str] | None = None  # (sortable key, user id) of the latest event with a user_id
    page_names: dict[int, str] = field(default_factory=dict, compare=False)  # known for recomputed cells

    @property
    def key(self) -> str:
        return f"{self.hour}#{self.visitor}"

    def encode(self) -> str:
        packed = b"".join(_PAGE_ENTRY.pack(h, c) for h, c in sorted(self.pages.items()))
        return json.dumps(
            [
                self.pageviews,
                self.events,
                self.first,
                self.high_intent,
                self.custom,
                b64encode(packed).decode(),
                sorted(self.countries),
                list(self.identity) if self.identity else None,
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def decode(cls, key: str, data: str) -> Cell:
        hour, visitor = key.split("#", 1)
        pv, ev, first, hi, cu, packed, countries, identity = json.loads(data)
        pages = dict(_PAGE_ENTRY.iter_unpack(b64decode(packed)))
        return cls(
            int(hour),
            visitor,
            pv,
            ev,
            first,
            hi,
            cu,
            pages,
            set(countries),
            (identity[0], identity[1]) if identity else None,
        )


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
            hashed = page_hash(event.page)
            if hashed in cell.pages or len(cell.pages) < MAX_CELL_PAGES:
                cell.pages[hashed] = cell.pages.get(hashed, 0) + 1
                cell.page_names[hashed] = event.page
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
    for hashed, views in new.pages.items():
        if hashed in pages or len(pages) < MAX_CELL_PAGES:
            pages[hashed] = max(views, pages.get(hashed, 0))
    identity = max(filter(None, (old.identity, new.identity)), default=None)
    return Cell(
        new.hour,
        new.visitor,
        max(old.pageviews, new.pageviews),
        max(old.events, new.events),
        new.first,
        max(old.high_intent, new.high_intent),
        max(old.custom, new.custom),
        pages,
        old.countries | new.countries,
        identity,
        new.page_names,
    )


def page_shard(granularity: Granularity, page: str, shards: dict[str, int] = PAGE_SHARDS) -> int:
    return zlib.crc32(page.encode()) % shards[granularity]


@dataclass
class Deltas:
    """What applying a set of cell changes adds to the rollup items (all additive, so order-free)."""

    counters: dict[tuple[Granularity, int], Counter[str]] = field(default_factory=dict)
    pages: dict[tuple[Granularity, int, int], Counter[str]] = field(default_factory=dict)
    page_shards: dict[str, int] = field(default_factory=lambda: dict(PAGE_SHARDS))

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
        for hashed, views in new.pages.items():
            change = views - base.pages.get(hashed, 0)
            page = new.page_names.get(hashed)
            if change and page is not None:
                for granularity, index in buckets:
                    shard = (granularity, index, page_shard(granularity, page, self.page_shards))
                    self.pages.setdefault(shard, Counter())[page] += change

    def compact(self) -> Deltas:
        """Drops items that would not change (zero deltas)."""
        return Deltas(
            {k: c for k, c in self.counters.items() if any(c.values())},
            {k: c for k, c in self.pages.items() if any(c.values())},
            self.page_shards,
        )


def bucket_partition(site_id: int, granularity: Granularity) -> str:
    return f"{site_id}#{granularity}"


def counters_sort_key(granularity: Granularity, index: int) -> str:
    return f"{bucket_key(granularity, index)}#c"


def pages_sort_key(granularity: Granularity, index: int, shard: int) -> str:
    return f"{bucket_key(granularity, index)}#p#{shard:02d}"
