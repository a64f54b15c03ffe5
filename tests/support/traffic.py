"""Random test traffic with the edge cases the definitions care about (relative to a fixed `now`)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

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
