"""Demo site 4 with a month of realistic traffic, created on the local stack's first start."""

from __future__ import annotations

import argparse
import itertools
import json
import random
import secrets
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ghostid.timeutil import DAY_MS, format_timestamp, now_ms

T = TypeVar("T")
DEMO_SITE = 4
DEMO_USER = "demo@ghostid.local"
DEMO_DOMAIN = "demo.ghostid.local"
# The demo page (/demo/ on the local stack) is served from the stack's own origin, on any port.
DEMO_LOCAL_ORIGINS = ("127.0.0.1", "localhost")

PAGES = [
    ("/", "Home", 30),
    ("/features", "Features", 12),
    ("/pricing", "Pricing", 10),
    ("/blog", "Blog", 8),
    ("/blog/cookieless-analytics", "Cookieless analytics", 6),
    ("/blog/lead-scoring-101", "Lead scoring 101", 5),
    ("/docs", "Docs", 6),
    ("/docs/install", "Install the tracker", 4),
    ("/about", "About", 3),
    ("/customers", "Customers", 3),
    ("/demo", "Book a demo", 3),
    ("/contact", "Contact", 2),
    ("/signup", "Sign up", 2),
    ("/trial", "Start a trial", 1),
    ("/careers", "Careers", 1),
]
COUNTRIES: list[tuple[str | None, list[str | None], int]] = [
    ("United States", ["New York", "Austin", "San Francisco", "Chicago"], 40),
    ("Canada", ["Toronto", "Vancouver", "Montreal"], 10),
    ("United Kingdom", ["London", "Manchester"], 10),
    ("Germany", ["Berlin", "Munich"], 8),
    ("France", ["Paris", "Lyon"], 6),
    ("India", ["Bengaluru", "Pune"], 7),
    ("Brazil", ["São Paulo"], 4),
    ("Australia", ["Sydney", "Melbourne"], 4),
    ("Netherlands", ["Amsterdam"], 3),
    ("Japan", ["Tokyo"], 3),
    (None, [None], 5),
]
DEVICES = [
    ("desktop", "Chrome", "macOS", 30),
    ("desktop", "Chrome", "Windows", 25),
    ("desktop", "Firefox", "Linux", 4),
    ("desktop", "Safari", "macOS", 10),
    ("mobile", "Mobile Safari", "iOS", 18),
    ("mobile", "Chrome Mobile", "Android", 10),
    ("tablet", "Mobile Safari", "iPadOS", 3),
]
REFERRERS = [
    (None, 35),
    ("https://www.google.com/", 26),
    ("https://google.com", 4),
    ("https://news.ycombinator.com/item", 8),
    ("https://www.linkedin.com/feed", 10),
    ("https://m.facebook.com/", 4),
    ("https://twitter.com", 7),
    ("https://duckduckgo.com", 5),
]
# A session's first event carries these (the tracker keeps a page's UTM parameters as properties).
CAMPAIGNS: list[tuple[dict[str, str] | None, int]] = [
    (None, 75),
    ({"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring-launch"}, 8),
    (
        {
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "brand",
            "utm_term": "visitor analytics",
            "utm_content": "ad-a",
        },
        7,
    ),
    ({"utm_source": "linkedin", "utm_medium": "social", "utm_campaign": "lead-scoring-webinar"}, 6),
    ({"utm_source": "partner", "utm_campaign": "café-crème"}, 4),
]
CUSTOM_EVENTS = [
    ("cta_clicked", {"section": "hero"}),
    ("cta_clicked", {"section": "pricing"}),
    ("video_played", {"video": "product-tour"}),
    ("signup_started", {"plan": "pro"}),
    ("newsletter_subscribed", {}),
]


def _pick(rng: random.Random, options: list[tuple[T, int]]) -> T:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


@dataclass
class _Visitor:
    ghost_vid: str
    country: str | None
    city: str | None
    device: tuple[str, str, str]
    user_id: str | None = None


def generate(
    days: int = 30, visitors: int = 900, seed: int = DEMO_SITE, end_ms: int | None = None
) -> Iterator[dict[str, Any]]:
    """Events (import shape) of `visitors` visitors over the `days` days ending at `end_ms`."""
    rng = random.Random(seed)
    end = end_ms or now_ms()
    pages = [((p, t), w) for p, t, w in PAGES]
    for number in range(visitors):
        country, cities = _pick(rng, [((name, towns), weight) for name, towns, weight in COUNTRIES])
        visitor = _Visitor(
            ghost_vid=f"gv_{rng.getrandbits(32):08x}_{rng.getrandbits(32):08x}",
            country=country,
            city=rng.choice(cities),
            device=_pick(rng, [((d, b, o), w) for d, b, o, w in DEVICES]),
        )
        first_visit = end - int(rng.random() * days * DAY_MS)
        visits = 1 + int(rng.expovariate(1.2))
        start = first_visit
        for visit in range(visits):
            if start >= end:
                break
            yield from _session(
                rng, visitor, f"gs_{number}_{visit}_{rng.getrandbits(24):06x}", start, end, pages
            )
            start += int(rng.uniform(0.3, 6) * DAY_MS)


def _session(
    rng: random.Random,
    visitor: _Visitor,
    session_id: str,
    start: int,
    end: int,
    pages: list[tuple[tuple[str, str], int]],
) -> Iterator[dict[str, Any]]:
    referrer = _pick(rng, REFERRERS)
    campaign = _pick(rng, CAMPAIGNS)
    moment = start
    for step in range(1 + int(rng.expovariate(0.35))):
        if moment >= end:
            return
        page, title = ("/", "Home") if step == 0 and rng.random() < 0.5 else _pick(rng, pages)
        first = step == 0
        utm = dict(campaign) if first and campaign else None
        yield _event(
            visitor, session_id, moment, "pageview", page, title, referrer if first else None, props=utm
        )
        if rng.random() < 0.15:
            name, props = rng.choice(CUSTOM_EVENTS)
            moment += rng.randint(2_000, 40_000)
            if moment < end:
                yield _event(visitor, session_id, moment, "custom_event", page, title, None, name, props)
        if page in ("/signup", "/trial", "/demo") and visitor.user_id is None and rng.random() < 0.6:
            visitor.user_id = f"user{rng.getrandbits(20):05x}@example.com"
            moment += rng.randint(5_000, 60_000)
            if moment < end:
                yield _event(visitor, session_id, moment, "custom_event", page, title, None, "identify", {})
        moment += int(rng.lognormvariate(3.5, 0.9) * 1000)


def _event(
    visitor: _Visitor,
    session_id: str,
    ts: int,
    kind: str,
    page: str,
    title: str,
    referrer: str | None,
    name: str = "",
    props: dict[str, Any] | None = None,
) -> dict[str, Any]:
    device_type, browser, os_name = visitor.device
    event = {
        "session_id": session_id,
        "ghost_vid": visitor.ghost_vid,
        "type": kind,
        "page": page,
        "page_title": title,
        "timestamp": format_timestamp(ts),
        "event_name": name,
        "props": props or {},
        "referrer": referrer,
        "user_id": visitor.user_id,
        "country": visitor.country,
        "city": visitor.city,
        "device_type": device_type,
        "browser": browser,
        "os": os_name,
    }
    return {k: v for k, v in event.items() if v is not None}


def seed_demo(token_file: Path) -> str:
    """Creates site 4, its demo member and a login session; imports the traffic. Returns the cookie token."""
    from ghostid.dal import sites as sites_dal
    from ghostid.logic import auth
    from ghostid.logic.importer import import_events
    from ghostid.models.sites import Site

    sites_dal.put_site(
        Site(site_id=DEMO_SITE, domain=DEMO_DOMAIN, name="Ghost ID demo", extra_domains=DEMO_LOCAL_ORIGINS)
    )
    sites_dal.add_member(DEMO_SITE, DEMO_USER)
    import_events(DEMO_SITE, (json.dumps(e) for e in generate()))
    token = auth.create_login_session(DEMO_USER, hours=24 * 365)
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(token)
    return token


def allow_local_origins() -> None:
    """Lets the local demo page send events to site 4 (for stacks seeded before the collector existed)."""
    from ghostid.dal import sites as sites_dal

    site = sites_dal.get_site(DEMO_SITE)
    if site is not None and not set(DEMO_LOCAL_ORIGINS) <= set(site.extra_domains):
        extra = tuple(dict.fromkeys((*site.extra_domains, *DEMO_LOCAL_ORIGINS)))
        sites_dal.put_site(site.model_copy(update={"extra_domains": extra}))


def ensure_demo_user(password_file: Path) -> str:
    """The demo member as a user who can sign in; returns its password (made up on first start, kept in
    the state folder: a local stack only)."""
    from ghostid.dal import users as users_dal
    from ghostid.logic import users
    from ghostid.timeutil import now_ms

    if password_file.exists() and users_dal.get_user(DEMO_USER) is not None:
        return password_file.read_text().strip()
    password = secrets.token_urlsafe(12)
    if not users.set_password(DEMO_USER, password, now_ms()):
        users.create_user(DEMO_USER, password, now_ms())
    password_file.parent.mkdir(parents=True, exist_ok=True)
    password_file.touch(mode=0o600)
    password_file.write_text(password)
    return password


def demo_token(token_file: Path) -> str | None:
    """The demo's cookie token if the stack was seeded before (and the session still exists)."""
    return token_file.read_text().strip() if token_file.exists() else None


def main(argv: Sequence[str] | None = None) -> int:
    """Prints generated traffic as NDJSON in the import format (`ghostid import --site N FILE`)."""
    parser = argparse.ArgumentParser(prog="python -m ghostid_local.demo", description=main.__doc__)
    parser.add_argument("--events", type=int, help="stop after this many events")
    parser.add_argument("--visitors", type=int, help="default: 900, or enough for --events")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=DEMO_SITE)
    args = parser.parse_args(argv)
    visitors = args.visitors or (args.events // 4 + 1 if args.events else 900)
    for event in itertools.islice(generate(args.days, visitors, args.seed), args.events):
        sys.stdout.write(json.dumps(event) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
