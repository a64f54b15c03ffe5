"""Random test traffic with the edge cases the definitions care about (relative to a fixed `now`)."""

from __future__ import annotations

import calendar
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PAGES = [
    "/",
    "/features",
    "/pricing",
    "/pricing-old",
    "/blog",
    "/blog/a",
    "/demo",
    "/demo/book",
    "/docs",
    "/contact",
    "/signup",
    "/about",
    "/trial/start",
]
COUNTRIES = ["United States", "Canada", "Germany", "France", "Japan", None]


def iso(moment: datetime, offset_hours: int = 0) -> str:
    if offset_hours:
        shifted = moment.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=offset_hours)
        sign = "+" if offset_hours > 0 else "-"
        return (
            shifted.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{shifted.microsecond // 1000:03d}{sign}{abs(offset_hours):02d}:00"
        )
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def generate(now: datetime, seed: int, visitors: int = 60, days: int = 35) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Moments on and around every window edge, plus random ones.
    edges = [
        hour - timedelta(hours=23),
        hour - timedelta(hours=23, milliseconds=1),
        day - timedelta(days=6),
        day - timedelta(days=6, milliseconds=1),
        day - timedelta(days=29),
        day - timedelta(days=29, seconds=1),
        hour,
        now - timedelta(seconds=5),
        day,
    ]
    for v in range(visitors):
        vid = f"gv_{v:04d}_{rng.getrandbits(16):04x}"
        country = rng.choice(COUNTRIES)
        for s in range(rng.randint(1, 3)):
            sid = f"gs_{v}_{s}"
            start = (
                rng.choice(edges)
                if rng.random() < 0.3
                else now - timedelta(seconds=rng.uniform(0, days * 86400))
            )
            moment = start
            tied = False  # this event has the same timestamp as the previous one
            for i in range(rng.randint(1, 7)):
                if moment > now:
                    break
                kind = "custom_event" if rng.random() < 0.2 else "pageview"
                event: dict[str, Any] = {
                    "session_id": sid,
                    "ghost_vid": vid,
                    "type": kind,
                    "page": rng.choice(PAGES),
                    "timestamp": iso(moment, rng.choice([0, 0, 0, 2, -5])),
                    "event_id": f"e{v}_{s}_{i}",
                    "page_title": rng.choice(["", "Title"]),
                    "country": country,
                    "city": None,
                }
                if kind == "custom_event":
                    event["event_name"] = rng.choice(["cta_clicked", "signup_started"])
                    event["props"] = {"section": "hero", "n": rng.randint(1, 3)}
                if rng.random() < 0.06:
                    event["user_id"] = f"user{v}_{i}@example.com"
                step = rng.choice([0, 1, 30, 600, 4000, 20000])  # ties, seconds, across hours/days
                if rng.random() < 0.1 and not tied and step:
                    event.pop("event_id")  # derived from content; its timestamp is unique in its session
                if i == 0 and rng.random() < 0.3:
                    event["referrer"] = "https://google.com"
                events.append({k: val for k, val in event.items() if val is not None})
                moment += timedelta(seconds=step, milliseconds=rng.randint(0, 999) if step else 0)
                tied = step == 0
    return events


# ---------------------------------------------------------------------------------------------------
# Edge-case traffic for the reporting and people routes (issue 9 item 7, issue 10). Every generator is
# deterministic from its seed, relative to `now`, and writes no event after `now`. Every event has an
# `event_id`, so the reference gives the same answers on these lists as on the stored events.

UNICODE_PAGES = ["/über-uns", "/preise/€", "/日本語/ページ", "/café", "/pricing?plan=pro#faq"]
PAGE_POOL = [*PAGES, *UNICODE_PAGES, "https://example.com/demo/book?x=1"]
COUNTRY_POOL = ["United States", "Germany", "India", "Nepal", "Côte d'Ivoire", "Türkiye", "Curaçao", None]
CITY_POOL = ["São Paulo", "Zürich", "München", "Kraków", "東京", "Москва", "Austin", None]
DEVICES = ["desktop", "mobile", "tablet", None]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge", "Samsung Internet", None]
SYSTEMS = ["macOS", "Windows", "iOS", "Android", "Linux", None]
REFERRERS = [
    "https://www.google.com/",
    "https://google.com/search",
    "https://m.facebook.com/story.php",
    "https://news.ycombinator.com/item?id=1",
    "https://WWW.Bing.com/search?q=x",
    "http://m.example.org:8080/x",
    "https://www.bücher.de/",
    "https://t.co/abc",
    "",
    None,
    None,
]
UTM_POOL = {
    "utm_source": ["newsletter", "google", "linkedin", "Ünïcode-quelle", ""],
    "utm_medium": ["email", "cpc", "social"],
    "utm_campaign": ["été-2026", "🚀 launch", "black friday", "spring_sale"],
    "utm_term": ["analytics", "visitor id", "naïve term"],
    "utm_content": ["hero", "footer-link", "バナー"],
}
EVENT_NAMES = ["cta_clicked", "signup_started", "démo_requested", "video ▶ played"]
OTHER_OFFSETS = [0, 0, 5 * 60 + 45, 5 * 60 + 30, -4 * 60, 9 * 60]  # minutes east of UTC


def written(moment: datetime, offset_minutes: int) -> str:
    """`moment` (UTC) as ISO 8601 in a fixed offset, to the millisecond: `...T01:59:59.999-05:00`."""
    if offset_minutes == 0:
        return iso(moment.astimezone(UTC))
    local = moment.astimezone(UTC) + timedelta(minutes=offset_minutes)
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // 1000:03d}{sign}{hours:02d}:{minutes:02d}"
    )


def offset_minutes(moment: datetime, timezone: str) -> int:
    offset = moment.astimezone(ZoneInfo(timezone)).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def dst_changes(timezone: str, start: datetime, end: datetime) -> list[datetime]:
    """The instants in [start, end) at which the zone's UTC offset changes (DST), to the second."""
    zone = ZoneInfo(timezone)
    changes = []
    moment = start
    while moment < end:
        step = min(timedelta(hours=1), end - moment)
        if moment.astimezone(zone).utcoffset() != (moment + step).astimezone(zone).utcoffset():
            low, high = moment, moment + step  # the offset differs between low and high: bisect
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                same = middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            changes.append(high.replace(microsecond=0))
        moment += step
    return changes


def local_midnight(day: date, timezone: str) -> datetime:
    """The first instant of a local day (fold=0 also lands right in a DST gap at midnight)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def edge_moments(now: datetime, timezone: str, days: int) -> list[datetime]:
    """Moments on and next to every local boundary a read route cuts at, within the `days` before now:
    DST changes (both sides of the skipped and repeated hours), local midnights (hence month, year and
    ISO-week starts), the `24h` window's start, the current hour and minute."""
    zone = ZoneInfo(timezone)
    earliest = now - timedelta(days=days)
    ms = timedelta(milliseconds=1)
    moments: list[datetime] = []
    for change in dst_changes(timezone, earliest, now):
        for minutes in (-61, -60, -30, 0, 30, 59, 60, 61, 120):
            moments.append(change + timedelta(minutes=minutes))
        moments += [change - ms, change + ms, change + timedelta(hours=1) - ms]
    today = now.astimezone(zone).date()
    for back in range(days + 1):
        midnight = local_midnight(today - timedelta(days=back), timezone)
        moments += [midnight, midnight - ms]
    hour = now.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    moments += [hour, hour - timedelta(hours=23), hour - timedelta(hours=23) - ms, now - timedelta(seconds=5)]
    moments += [now.replace(second=0, microsecond=0) - timedelta(minutes=m) for m in (0, 4, 5, 29, 30)]
    return sorted({m for m in moments if earliest <= m <= now})


class Writer:
    """Builds events with random but reproducible ids, values and timestamp notations."""

    def __init__(self, seed: int, timezone: str = "UTC", prefix: str = "t") -> None:
        self.rng = random.Random(seed)
        self.timezone = timezone
        self.prefix = f"{prefix}{seed}"
        self.events: list[dict[str, Any]] = []

    def new_id(self, kind: str) -> str:
        return f"{kind}_{self.prefix}_{self.rng.getrandbits(40):010x}"

    def stamp(self, moment: datetime) -> str:
        """The time in UTC, in the site's own offset at that moment, or in some other zone's offset."""
        choice = self.rng.random()
        if choice < 0.4:
            return written(moment, offset_minutes(moment, self.timezone))
        return written(moment, self.rng.choice(OTHER_OFFSETS))

    def event(
        self, vid: str, sid: str, moment: datetime, kind: str = "pageview", **fields: Any
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "session_id": sid,
            "ghost_vid": vid,
            "type": kind,
            "page": fields.pop("page", None) or self.rng.choice(PAGE_POOL),
            "timestamp": self.stamp(moment),
            "event_id": self.new_id("ev"),
        }
        if kind == "custom_event":
            event["event_name"] = fields.pop("event_name", None) or self.rng.choice(EVENT_NAMES)
        event.update({k: v for k, v in fields.items() if v is not None})
        self.events.append(event)
        return event

    def context(self) -> dict[str, Any]:
        """A session's own values: where it comes from and what it runs on (some of them unknown)."""
        return {
            "country": self.rng.choice(COUNTRY_POOL),
            "city": self.rng.choice(CITY_POOL),
            "device_type": self.rng.choice(DEVICES),
            "browser": self.rng.choice(BROWSERS),
            "os": self.rng.choice(SYSTEMS),
        }

    def utm(self) -> dict[str, str]:
        """Some of the five UTM properties (possibly none)."""
        return {k: self.rng.choice(v) for k, v in UTM_POOL.items() if self.rng.random() < 0.5}

    def session(
        self, vid: str, start: datetime, now: datetime, events: int, user_id: str | None = None
    ) -> str:
        """A session of `events` events from `start` (never after `now`), with steps from 0 (a tie in
        timestamps) to 50 minutes, so some cross a local midnight or a DST change. The first event carries
        the referrer and usually the UTM properties; sometimes only a later one has `utm_source`."""
        sid = self.new_id("gs")
        context = self.context()
        moment = start
        utm_on_later_event = self.rng.random() < 0.15
        for i in range(events):
            if moment > now:
                break
            kind = "custom_event" if self.rng.random() < 0.25 else "pageview"
            fields: dict[str, Any] = dict(context)
            if i == 0:
                fields["referrer"] = self.rng.choice(REFERRERS)
                fields["props"] = self.utm() if not utm_on_later_event else {}
            elif i == 1 and utm_on_later_event:
                fields["props"] = {"utm_source": self.rng.choice(["partner", "newsletter"])}
            elif kind == "custom_event":
                fields["props"] = {
                    "section": self.rng.choice(["hero", "pricing"]),
                    "n": self.rng.randint(1, 3),
                }
            if user_id and self.rng.random() < 0.5:
                fields["user_id"] = user_id
            if self.rng.random() < 0.3:
                fields["page_title"] = self.rng.choice(["Home", "Preise – Übersicht", ""])
            self.event(vid, sid, moment, kind, **{k: v for k, v in fields.items() if v not in (None, {})})
            step = self.rng.choice([0, 0.001, 1, 30, 300, 3000])
            moment += timedelta(seconds=step)
        return sid


def zoned(
    now: datetime, seed: int, timezone: str, visitors: int = 40, days: int = 40
) -> list[dict[str, Any]]:
    """Traffic of a site in `timezone` over the `days` before now: a short session on and next to every
    local boundary (`edge_moments`: DST changes of America/New_York or Europe/Berlin, Asia/Kolkata's and
    Asia/Kathmandu's :30 and :15/:45 UTC midnights, month and year ends, ISO-week starts), sessions that
    cross local midnight, and `visitors` random visitors; every breakdown value kind (unicode, missing,
    UTM, `www.`/`m.` referrers), identities and scores among them. Choose `now` and `days` so that the
    changes you need fall inside (`dst_changes` lists them)."""
    writer = Writer(seed, timezone, "z")
    zone = ZoneInfo(timezone)
    for n, moment in enumerate(edge_moments(now, timezone, days)):
        vid = f"gv_edge{n:04d}_{writer.rng.getrandbits(16):04x}"
        writer.session(vid, moment, now, writer.rng.randint(1, 3))
    for v in range(visitors):
        vid = f"gv_{v:04d}_{writer.rng.getrandbits(32):08x}"
        user = f"user{v}@example.com" if writer.rng.random() < 0.3 else None
        for _ in range(writer.rng.randint(1, 3)):
            if writer.rng.random() < 0.3:  # starts a few minutes before a local midnight
                day = (now - timedelta(days=writer.rng.randint(1, days))).astimezone(zone).date()
                start = local_midnight(day, timezone) - timedelta(minutes=writer.rng.randint(1, 10))
            else:
                start = now - timedelta(seconds=writer.rng.uniform(0, days * 86400))
            writer.session(vid, start, now, writer.rng.randint(1, 8), user)
    return writer.events


def leap_day(now: datetime, seed: int, timezone: str = "UTC", visitors: int = 12) -> list[dict[str, Any]]:
    """Traffic on the local days around the latest 29 February on or before today (26 February to
    2 March) and around the same dates a year earlier, for `compare=year` (29 February maps to
    28 February). `now` must fall within the 400 days after such a 29 February."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    year = next(
        y for y in range(today.year, today.year - 5, -1) if calendar.isleap(y) and date(y, 2, 29) <= today
    )
    if (today - date(year, 2, 29)).days > 400:
        raise ValueError(f"no 29 February within the 400 days before {today}")
    writer = Writer(seed, timezone, "l")
    days = [date(y, m, d) for y in (year - 1, year) for m, d in ((2, 26), (2, 27), (2, 28), (3, 1), (3, 2))]
    days.insert(days.index(date(year, 3, 1)), date(year, 2, 29))
    ms = timedelta(milliseconds=1)
    for n, day in enumerate(days):
        midnight = local_midnight(day, timezone)
        for k, moment in enumerate([midnight, midnight - ms, midnight + timedelta(hours=12)]):
            if moment <= now:
                writer.session(f"gv_leap{n:02d}_{k}", moment, now, writer.rng.randint(1, 3))
        for v in range(visitors):
            start = midnight + timedelta(seconds=writer.rng.uniform(0, 86400))
            if start <= now and writer.rng.random() < 0.5:
                writer.session(f"gv_leapr_{v:03d}", start, now, writer.rng.randint(1, 4))
    return writer.events


def dimensions(
    now: datetime, seed: int, timezone: str = "UTC", visitors: int = 40, days: int = 7
) -> list[dict[str, Any]]:
    """Traffic whose breakdown values cover every case: unicode pages, cities, campaign names and event
    names; missing country, city, device, browser and OS (`Unknown`); sessions without UTM (`(none)`) and
    without a referrer (`Direct / None`); `utm_source` only on a session's second event (a `source` but
    no `utm_source`); referrers with `www.`, `m.`, upper case, a port and a query; a session of custom
    events only (no entry or exit page); ties in first metrics, so rows order by value."""
    writer = Writer(seed, timezone, "d")
    for v in range(visitors):
        vid = f"gv_dim{v:03d}_{writer.rng.getrandbits(24):06x}"
        for _ in range(writer.rng.randint(1, 3)):
            start = now - timedelta(seconds=writer.rng.uniform(60, days * 86400))
            writer.session(vid, start, now, writer.rng.randint(1, 6))
    start = now - timedelta(hours=2)
    for n, referrer in enumerate(
        ["https://www.example.net/a", "https://m.example.net/b", "https://EXAMPLE.net/"]
    ):
        sid = f"gs_dim_ref{n}"
        writer.event(
            f"gv_dim_ref{n}", sid, start, page="/", referrer=referrer, props={"utm_campaign": "été-2026"}
        )
        writer.event(f"gv_dim_ref{n}", sid, start + timedelta(seconds=5), page="/über-uns")
    writer.event("gv_dim_custom", "gs_dim_custom", start, "custom_event", event_name="video ▶ played")
    writer.event("gv_dim_custom", "gs_dim_custom", start, "custom_event", event_name="démo_requested")
    for n, value in enumerate(["b-value", "a-value"]):  # one session each: a tie ordered by value
        writer.event(
            f"gv_dim_tie{n}", f"gs_dim_tie{n}", start, page=f"/tie/{value}", city=value, browser=value
        )
    return writer.events


def people(now: datetime, seed: int, timezone: str = "UTC", visitors: int = 20) -> list[dict[str, Any]]:
    """Visitors whose identity and lead status the definitions decide in subtle ways, in shuffled
    arrival order: a user_id that changes; an anonymous session of a visitor that identifies days later
    (identity and hot status reach back); scores that reach the threshold in event order on an event that
    arrives first or last; the identified bonus on the crossing event; two user_ids on events with one
    timestamp (event_id decides); a session across local midnight; a last session with more than five
    distinct pages; then `visitors` random visitors with scores near the threshold."""
    writer = Writer(seed, timezone, "p")
    rng = writer.rng
    day = timedelta(days=1)
    midnight = local_midnight(now.astimezone(ZoneInfo(timezone)).date(), timezone)

    def at(vid: str, sid: str, moment: datetime, kind: str = "pageview", **fields: Any) -> None:
        writer.event(vid, sid, moment, kind, **fields)

    # An identity that changes, then an event without one.
    at("gv_change", "gs_change_1", now - 5 * day, user_id="old@example.com", page="/")
    at("gv_change", "gs_change_2", now - 2 * day, user_id="new@example.com", page="/pricing")
    at("gv_change", "gs_change_2", now - 2 * day + timedelta(minutes=1), page="/docs")
    # Anonymous for days, identifies later: the old session shows who it was; it is hot (20+10+5).
    at("gv_late_id", "gs_anon", now - 20 * day, page="/demo", country="Germany")
    at("gv_late_id", "gs_anon", now - 20 * day + timedelta(seconds=30), page="/features")
    at("gv_late_id", "gs_known", now - day, "custom_event", user_id="late@example.com", page="/")
    # Reaches 30 on its third pageview of a high-intent page (the output's arrival order is shuffled).
    for k, page in enumerate(["/pricing", "/demo/book", "/contact", "/blog"]):
        at("gv_hot_late", "gs_hot_late", now - 3 * day + timedelta(minutes=k), page=page)
    # The identified bonus comes with the crossing event (10 + 20 = 30 on the second event).
    at("gv_bonus", "gs_bonus", now - 4 * day, page="/signup")
    at("gv_bonus", "gs_bonus", now - 4 * day + timedelta(seconds=1), page="/", user_id="bonus@example.com")
    at("gv_bonus", "gs_bonus", now - 4 * day + timedelta(seconds=2), page="/trial")
    # Two user_ids at one timestamp: the larger event_id is the later one.
    tie = now - 6 * day
    for user, event_id in (("zed@example.com", "ev_tie_b"), ("amy@example.com", "ev_tie_a")):
        at("gv_tie", "gs_tie", tie, user_id=user, event_id=event_id, page="/pricing")
    # A session across local midnight, five minutes either side.
    for k in range(4):
        at("gv_midnight", "gs_midnight", midnight - 2 * day - timedelta(minutes=5) + k * timedelta(minutes=3))
    # A last session with seven pages, some viewed twice.
    for k, page in enumerate(["/a", "/b", "/c", "/a", "/d", "/e", "/f", "/g", "/c"]):
        at("gv_many_pages", "gs_many_pages", now - timedelta(hours=3) + timedelta(minutes=k), page=page)
    # Random visitors near the threshold: a few high-intent pageviews and custom events, maybe an id.
    for v in range(visitors):
        vid = f"gv_near{v:03d}_{rng.getrandbits(24):06x}"
        their_id = f"near{v}@example.com" if rng.random() < 0.4 else None
        for _ in range(rng.randint(1, 3)):
            sid = writer.new_id("gs")
            start = now - timedelta(seconds=rng.uniform(0, 10 * 86400))
            for k in range(rng.randint(1, 4)):
                kind = "custom_event" if rng.random() < 0.3 else "pageview"
                page = rng.choice(["/pricing", "/demo", "/", "/blog", "/contact/sales"])
                moment = min(now, start + timedelta(seconds=rng.choice([0, 0, 1, 90]) * k))
                at(vid, sid, moment, kind, page=page, user_id=their_id if rng.random() < 0.3 else None)
    return shuffled(writer.events, seed)


def shuffled(events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The same events in another arrival order."""
    copy = list(events)
    random.Random(seed).shuffle(copy)
    return copy
