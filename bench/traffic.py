"""Synthetic traffic for the bench's big sites: streaming, deterministic, sessions in order of their start.

A site's sessions start as a Poisson process at a steady rate over the span (so an ingest measurement that
continues past "now" sees the same rate). Each session belongs to a new visitor or to one seen before;
a visitor's country, city, device and intent follow from its number (a hash), so nothing per visitor is
kept but one byte (whether it identified itself). Within a session events are seconds to minutes apart
(log-normal). Pages: an evergreen core (home, pricing, docs...) and a window of fresh pages that moves
every day, so a site has `pages` distinct pages over the month but about `pages_per_day` on any one day.

`sessions()` yields `(session_id, [EventFacts])` for the bulk loader; `import_events()` turns one session
into events in the import shape (README, "Import format") for the peers and for the events table.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from ghostid.models.rollups import EventFacts
from ghostid.timeutil import DAY_MS, format_timestamp

CORE_PAGES = 200
CORE_SHARE = 0.5  # of pageviews, on the evergreen core
HIGH_INTENT = ("/pricing", "/demo", "/contact", "/signup", "/trial")
MAX_SESSION_MS = 3 * 3_600_000  # far inside the bulk loader's 6 hours
CUSTOM_EVENTS = (
    "cta_clicked",
    "video_played",
    "newsletter_subscribed",
    "pdf_downloaded",
    "chat_opened",
    "plan_compared",
    "form_started",
    "search",
    "share",
    "copy_code",
)
DEVICES = (  # (device type, browser, OS, weight)
    ("desktop", "Chrome", "Windows", 26),
    ("desktop", "Chrome", "macOS", 14),
    ("desktop", "Safari", "macOS", 9),
    ("desktop", "Edge", "Windows", 7),
    ("desktop", "Firefox", "Windows", 3),
    ("desktop", "Firefox", "Linux", 2),
    ("desktop", "Chrome", "Linux", 2),
    ("mobile", "Mobile Safari", "iOS", 17),
    ("mobile", "Chrome Mobile", "Android", 12),
    ("mobile", "Samsung Internet", "Android", 3),
    ("mobile", "Firefox Mobile", "Android", 1),
    ("tablet", "Mobile Safari", "iPadOS", 3),
    ("tablet", "Chrome", "Android", 1),
)
SEARCH_AND_SOCIAL = (
    "google.com",
    "bing.com",
    "duckduckgo.com",
    "news.ycombinator.com",
    "linkedin.com",
    "twitter.com",
    "facebook.com",
    "reddit.com",
    "github.com",
    "youtube.com",
)
UTM_SOURCES = ("newsletter", "google", "linkedin", "twitter", "facebook", "partner", "bing", "reddit")
UTM_MEDIUMS = ("email", "cpc", "social", "referral", "display")


@dataclass(frozen=True)
class Shape:
    """What a site's month looks like. `events` and `visitors` are targets (met within a few percent)."""

    events: int
    visitors: int
    days: int = 30
    countries: int = 100
    cities_per_country: int = 8
    pages: int = 20_000
    pages_per_day: int = 2_000
    referrer_hosts: int = 500
    campaigns: int = 200
    direct_share: float = 0.4
    campaign_share: float = 0.12
    custom_event_share: float = 0.1
    identifying_share: float = 0.05  # visitors who sign up or book a demo when they reach such a page
    prospect_share: float = 0.05  # visitors who read high-intent pages (most hot leads are among them)
    seed: int = 1

    @property
    def events_per_session(self) -> float:
        return 3.6

    @property
    def sessions(self) -> int:
        return max(1, round(self.events / self.events_per_session))

    @property
    def events_per_ms(self) -> float:
        return self.events / (self.days * DAY_MS)


@dataclass
class _Tables:
    """Cumulative weights for the draws (bisect on a uniform number)."""

    shape: Shape
    countries: list[str] = field(default_factory=list)
    country_weights: list[float] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    host_weights: list[float] = field(default_factory=list)
    campaign_weights: list[float] = field(default_factory=list)
    device_weights: list[float] = field(default_factory=list)
    core: list[str] = field(default_factory=list)
    core_weights: list[float] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        shape = self.shape
        self.countries = [f"Country {n:03d}" for n in range(shape.countries)]
        self.country_weights = _zipf(shape.countries, 1.1)
        self.hosts = [*SEARCH_AND_SOCIAL, *(f"site{n}.example" for n in range(shape.referrer_hosts))]
        self.hosts = self.hosts[: shape.referrer_hosts]
        self.host_weights = _zipf(len(self.hosts), 1.2)
        self.campaign_weights = _zipf(shape.campaigns, 1.0)
        self.device_weights = list(accumulate(float(d[3]) for d in DEVICES))
        core_count = min(CORE_PAGES, shape.pages // 2)
        named = ["/", *HIGH_INTENT, "/features", "/blog", "/docs", "/about", "/customers", "/careers"]
        self.core = (named + [f"/docs/topic-{n}" for n in range(core_count)])[:core_count]
        weights = _zipf(core_count, 1.0, cumulative=False)
        for number, page in enumerate(self.core):  # high-intent pages are rare for most visitors
            if page in HIGH_INTENT:
                weights[number] = weights[-1]
        self.core_weights = list(accumulate(weights))
        self.fresh = [f"/blog/{n:05d}-post" for n in range(shape.pages - core_count)]


def _zipf(count: int, exponent: float, cumulative: bool = True) -> list[float]:
    weights = [1.0 / (rank + 1) ** exponent for rank in range(count)]
    return list(accumulate(weights)) if cumulative else weights


def _pick(rng: random.Random, weights: list[float]) -> int:
    return min(bisect(weights, rng.random() * weights[-1]), len(weights) - 1)


@dataclass(frozen=True)
class _Visitor:
    number: int
    ghost_vid: str
    country: str
    city: str
    device: tuple[str, str, str]
    identifying: bool
    prospect: bool


def _visitor(number: int, tables: _Tables, seed: int) -> _Visitor:
    """Everything about a visitor that never changes, from its number alone (uniform draws from a hash)."""
    digest = hashlib.blake2b(
        number.to_bytes(8, "little"), digest_size=20, key=seed.to_bytes(8, "little")
    ).digest()
    draws = [int.from_bytes(digest[i : i + 4], "little") / 4_294_967_296 for i in range(0, 20, 4)]
    country = min(
        bisect(tables.country_weights, draws[0] * tables.country_weights[-1]), len(tables.countries) - 1
    )
    city = int(draws[1] ** 2 * tables.shape.cities_per_country)
    device = DEVICES[
        min(bisect(tables.device_weights, draws[2] * tables.device_weights[-1]), len(DEVICES) - 1)
    ]
    unknown_country = draws[3] < 0.03
    flags = draws[4]
    return _Visitor(
        number=number,
        ghost_vid=f"gv_{digest[:6].hex()}{number:x}",
        country="" if unknown_country else tables.countries[country],
        city="" if unknown_country else f"City {country:03d}-{city}",
        device=device[:3],
        identifying=flags < tables.shape.identifying_share,
        prospect=tables.shape.identifying_share
        <= flags
        < tables.shape.identifying_share + tables.shape.prospect_share,
    )


class Traffic:
    """A site's traffic from `end_ms - shape.days` on, up to `stop_ms` (which may lie past `end_ms`:
    the same steady rate continues, for ingest measurements)."""

    def __init__(self, shape: Shape, end_ms: int, stop_ms: int | None = None) -> None:
        self.shape = shape
        self.start_ms = end_ms - shape.days * DAY_MS
        self.end_ms = end_ms
        self.stop_ms = stop_ms if stop_ms is not None else end_ms
        self._tables = _Tables(shape)
        # 1 + floor(Exp(rate)) events: its mean is 1 + 1 / (e^rate - 1)
        self._extra_rate = math.log(1 + 1 / (shape.events_per_session - 1))

    def sessions(self) -> Iterator[tuple[str, list[EventFacts]]]:
        """Every session that starts before `stop_ms`, in order of its start, with its events before
        `stop_ms`. Deterministic: the same shape and times give the same sessions."""
        shape, tables = self.shape, self._tables
        rng = random.Random(shape.seed)
        rate = shape.sessions / (shape.days * DAY_MS)  # session starts per ms
        new_share = min(1.0, shape.visitors / shape.sessions)
        identified = bytearray()
        moment = float(self.start_ms)
        number = 0
        while True:
            moment += rng.expovariate(rate)
            if moment >= self.stop_ms:
                return
            if not identified or rng.random() < new_share:
                visitor_number = len(identified)
                identified.append(0)
            else:
                visitor_number = int(rng.random() * len(identified))
            visitor = _visitor(visitor_number, tables, shape.seed)
            session_id = f"gs_{shape.seed}_{number:x}"
            number += 1
            facts = self._session(rng, session_id, visitor, int(moment), identified)
            if facts:
                yield session_id, facts

    def _session(
        self, rng: random.Random, session_id: str, visitor: _Visitor, start: int, identified: bytearray
    ) -> list[EventFacts]:
        shape, tables = self.shape, self._tables
        device_type, browser, os_name = visitor.device
        referrer = None
        if rng.random() >= shape.direct_share:
            host = tables.hosts[_pick(rng, tables.host_weights)]
            referrer = (
                f"https://{host}/" if rng.random() < 0.7 else f"https://www.{host}/r/{rng.randrange(50)}"
            )
        utm: tuple[tuple[str, str], ...] = ()
        if rng.random() < shape.campaign_share:
            utm = _campaign(_pick(rng, tables.campaign_weights))
        count = 1 + min(59, int(rng.expovariate(self._extra_rate)))
        user_id = f"user{visitor.number:x}@example.com" if identified[visitor.number] else None
        facts: list[EventFacts] = []
        moment = start
        for step in range(count):
            if moment >= self.stop_ms or moment - start > MAX_SESSION_MS:
                break
            event_id = f"e{session_id[3:]}.{step}"
            custom = step > 0 and rng.random() < shape.custom_event_share
            page = self._page(rng, visitor, moment, entry=step == 0)
            name = ""
            if custom:
                name = CUSTOM_EVENTS[min(int(rng.expovariate(0.5)), len(CUSTOM_EVENTS) - 1)]
                page = facts[-1].page
            elif visitor.identifying and user_id is None and page in ("/signup", "/demo", "/trial"):
                user_id = f"user{visitor.number:x}@example.com"
                identified[visitor.number] = 1
                custom, name = True, "identify"
            facts.append(
                EventFacts(
                    event_id=event_id,
                    ts=moment,
                    type="custom_event" if custom else "pageview",
                    page=page,
                    ghost_vid=visitor.ghost_vid,
                    event_name=name,
                    user_id=user_id,
                    country=visitor.country or None,
                    city=visitor.city or None,
                    device_type=device_type,
                    browser=browser,
                    os=os_name,
                    referrer=referrer if step == 0 else None,
                    utm=utm if step == 0 else (),
                )
            )
            moment += min(1_200_000, int(rng.lognormvariate(math.log(25_000), 1.0)))
        return facts

    def _page(self, rng: random.Random, visitor: _Visitor, moment: int, entry: bool) -> str:
        tables, shape = self._tables, self.shape
        if visitor.prospect and not entry and rng.random() < 0.3:
            return HIGH_INTENT[int(rng.random() * len(HIGH_INTENT))]
        if visitor.identifying and not entry and rng.random() < 0.08:
            return ("/signup", "/demo", "/trial")[int(rng.random() * 3)]
        if rng.random() < CORE_SHARE or not tables.fresh:
            return tables.core[_pick(rng, tables.core_weights)]
        window = max(1, shape.pages_per_day - len(tables.core))
        day = (moment - self.start_ms) // DAY_MS
        stride = max(0.0, (len(tables.fresh) - window) / max(1, shape.days - 1))
        first = int(day * stride)
        return tables.fresh[(first + int(rng.random() * window)) % len(tables.fresh)]


def _campaign(number: int) -> tuple[tuple[str, str], ...]:
    """A campaign's UTM properties (in the order the rollups read them)."""
    found = [
        ("utm_source", UTM_SOURCES[number % len(UTM_SOURCES)]),
        ("utm_medium", UTM_MEDIUMS[number % len(UTM_MEDIUMS)]),
        ("utm_campaign", f"campaign-{number:03d}"),
    ]
    if number % 3 == 0:
        found.append(("utm_term", f"term {number % 17}"))
    if number % 4 == 0:
        found.append(("utm_content", f"ad-{number % 7}"))
    return tuple(found)


def import_event(session_id: str, facts: EventFacts) -> dict[str, Any]:
    """One event in the import shape (what `ghostid import` and the peers read)."""
    event: dict[str, Any] = {
        "session_id": session_id,
        "ghost_vid": facts.ghost_vid,
        "event_id": facts.event_id,
        "type": facts.type,
        "page": facts.page,
        "timestamp": format_timestamp(facts.ts),
    }
    if facts.event_name:
        event["event_name"] = facts.event_name
    if facts.utm:
        event["props"] = dict(facts.utm)
    for name in ("referrer", "user_id", "country", "city", "device_type", "browser", "os"):
        value = getattr(facts, name)
        if value is not None:
            event[name] = value
    return event


def import_events(sessions: Iterator[tuple[str, list[EventFacts]]]) -> Iterator[dict[str, Any]]:
    for session_id, facts in sessions:
        for event in facts:
            yield import_event(session_id, event)
