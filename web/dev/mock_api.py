"""A stand-in API for developing and testing the dashboard before every route exists.

Stdlib only. Serves ``web/dist`` at ``/`` (index.html for any other non-API path) and the routes the
dashboard reads, in exactly the shapes of PRODUCT.md §10-§13, with made-up but self-consistent
numbers (the same URL always gives the same answer; realtime changes on every call). Not part of the
production bundle or of the deployed stack.

    python web/dev/mock_api.py [--port 3200]     # then sign in as demo@ghostid.local / demo-password

Test hooks (never in the real API): ``POST /__mock/fail {"path": "/api/stats", "status": 500,
"times": 1}`` makes the next matching requests fail; ``POST /__mock/expire`` revokes every session;
``POST /__mock/reset`` undoes both.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import json
import mimetypes
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

DIST = Path(__file__).resolve().parents[1] / "dist"
USER = "demo@ghostid.local"
PASSWORD = "demo-password"
SITES = [
    {"site_id": 4, "domain": "demo.ghostid.local", "name": "Demo site", "timezone": "UTC"},
    {"site_id": 7, "domain": "shop.example.com", "name": "Example shop", "timezone": "Europe/Berlin"},
]
PRESETS = ("24h", "today", "yesterday", "7d", "30d", "month", "last_month", "12mo")
RETENTION_DAYS = 400
METRICS = ("unique_visitors", "sessions", "pageviews", "total_events", "identified_visitors", "hot_leads")
PAGES = ["/", "/pricing", "/features", "/blog", "/docs", "/demo", "/signup", "/about", "/contact"] + [
    f"/blog/post-{n:03d}" for n in range(1, 141)
]
VALUES: dict[str, list[str]] = {
    "page": PAGES,
    "entry_page": PAGES[:40],
    "exit_page": PAGES[:40],
    "source": [
        "Direct / None",
        "google.com",
        "linkedin.com",
        "news.ycombinator.com",
        "twitter.com",
        "duckduckgo.com",
    ],
    "referrer": ["Direct / None", "google.com", "linkedin.com", "news.ycombinator.com", "twitter.com"],
    "utm_source": ["(none)", "newsletter", "linkedin"],
    "utm_medium": ["(none)", "email", "social"],
    "utm_campaign": ["(none)", "spring-launch"],
    "utm_term": ["(none)"],
    "utm_content": ["(none)"],
    "country": [
        "United States",
        "Canada",
        "United Kingdom",
        "Germany",
        "France",
        "India",
        "Brazil",
        "Australia",
        "Netherlands",
        "Japan",
        "Spain",
        "Unknown",
    ],
    "city": ["New York", "Austin", "Toronto", "London", "Berlin", "Paris", "Unknown"],
    "device_type": ["desktop", "mobile", "tablet"],
    "browser": ["Chrome", "Safari", "Firefox", "Mobile Safari", "Chrome Mobile", "Edge"],
    "os": ["macOS", "Windows", "iOS", "Android", "Linux", "iPadOS"],
    "event_name": ["cta_clicked", "video_played", "signup_started", "newsletter_subscribed", "identify"],
}
ALL = ("visitors", "sessions", "pageviews", "events")
SESSION_ONLY = ("sessions", "pageviews", "events")
ROW_METRICS: dict[str, tuple[str, ...]] = {
    "page": ("pageviews",),
    "event_name": ("visitors", "events"),
    "entry_page": SESSION_ONLY,
    "exit_page": SESSION_ONLY,
    "source": ALL,
    "referrer": SESSION_ONLY,
    "utm_source": ALL,
    "utm_medium": ALL,
    "utm_campaign": SESSION_ONLY,
    "utm_term": SESSION_ONLY,
    "utm_content": SESSION_ONLY,
    "country": ALL,
    "city": SESSION_ONLY,
    "device_type": ALL,
    "browser": ALL,
    "os": ALL,
}
VISITORS_PER_SITE = 130


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad(message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", message)


def noise(*parts: object) -> float:
    """A stable number in [0, 1) from its arguments."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ------------------------------------------------------------------ ranges (§10)


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, in the site's zone
    end: datetime
    zone: ZoneInfo
    name: str

    def wire(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end), "timezone": self.zone.key}

    @property
    def days(self) -> int:
        return max(1, round((self.end - self.start).total_seconds() / 86400))


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def month_start(day: date, back: int = 0) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def period_for(query: dict[str, str], zone: ZoneInfo, now: datetime) -> Period:
    today = now.astimezone(zone).date()
    name = query.get("timeRange", "7d")
    if "from" in query or "to" in query:
        if "timeRange" in query and name != "custom":
            raise bad("Use either timeRange or from and to, not both.")
        try:
            first, last = date.fromisoformat(query["from"]), date.fromisoformat(query["to"])
        except (KeyError, ValueError) as exc:
            raise bad("from and to must both be dates (YYYY-MM-DD).") from exc
        if first > last or last > today or first < today - timedelta(days=RETENTION_DAYS - 1):
            raise bad("from must be on or before to, neither after today nor beyond the 400-day retention.")
        return Period(
            local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone), zone, "custom"
        )
    tomorrow = local_midnight(today + timedelta(days=1), zone)
    match name:
        case "24h":
            end = now.astimezone(zone).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            return Period(end - timedelta(hours=24), end, zone, name)
        case "today":
            return Period(local_midnight(today, zone), tomorrow, zone, name)
        case "yesterday":
            return Period(
                local_midnight(today - timedelta(days=1), zone), local_midnight(today, zone), zone, name
            )
        case "7d" | "30d":
            days = int(name[:-1])
            return Period(local_midnight(today - timedelta(days=days - 1), zone), tomorrow, zone, name)
        case "month":
            return Period(local_midnight(month_start(today), zone), tomorrow, zone, name)
        case "last_month":
            first = local_midnight(month_start(today, 1), zone)
            return Period(first, local_midnight(month_start(today), zone), zone, name)
        case "12mo":
            return Period(local_midnight(month_start(today, 11), zone), tomorrow, zone, name)
    raise bad(f"timeRange must be one of {', '.join(PRESETS)} (default 7d), or use from and to.")


def year_before(day: date) -> date:
    """The same date a year earlier; 29 February maps to 28 February."""
    return day.replace(year=day.year - 1, day=28 if (day.month, day.day) == (2, 29) else day.day)


def compared(period: Period, how: str) -> Period:
    zone = period.zone
    first, last = period.start.date(), (period.end - timedelta(microseconds=1)).date()
    if how == "year":
        if period.name == "24h":
            return Period(period.start - timedelta(days=365), period.end - timedelta(days=365), zone, "24h")
        end = local_midnight(year_before(last) + timedelta(days=1), zone)
        return Period(local_midnight(year_before(first), zone), end, zone, period.name)
    if period.name in ("month", "last_month"):
        prev_first = month_start(first, 1)
        days = (last - first).days + 1
        end_day = min(prev_first + timedelta(days=days), month_start(first))
        return Period(local_midnight(prev_first, zone), local_midnight(end_day, zone), zone, period.name)
    length = period.end - period.start
    return Period(period.start - length, period.start, zone, period.name)


# ------------------------------------------------------------------ numbers


def buckets(period: Period, interval: str) -> Iterator[tuple[datetime, datetime, str]]:
    """(start, end, label) of each local bucket covering the period, cut to it."""
    zone = period.zone
    cursor = period.start
    while cursor < period.end:
        local = cursor.astimezone(zone)
        if interval == "hour":
            nxt = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            label = local.strftime("%Y-%m-%dT%H:00")
        elif interval == "day":
            nxt = local_midnight(local.date() + timedelta(days=1), zone)
            label = local.strftime("%Y-%m-%d")
        elif interval == "week":
            nxt = local_midnight(local.date() + timedelta(days=7 - local.weekday()), zone)
            label = local.strftime("%Y-%m-%d")
        else:
            nxt = local_midnight(month_start(local.date(), -1), zone)
            label = local.strftime("%Y-%m-%d")
        end = min(nxt, period.end)
        yield cursor, end, label
        cursor = end


@functools.lru_cache(maxsize=100_000)
def hour_metrics(site: int, hour: datetime) -> dict[str, int]:
    base = int(4 + 30 * noise(site, hour.date()) * (1.6 if 8 <= hour.astimezone(UTC).hour <= 20 else 0.5))
    visitors = int(base * (0.6 + 0.8 * noise(site, hour, "v")))
    sessions = visitors + int(visitors * 0.2 * noise(site, hour, "s"))
    pageviews = sessions * 3 + int(10 * noise(site, hour, "p"))
    return {
        "unique_visitors": visitors,
        "sessions": sessions,
        "pageviews": pageviews,
        "total_events": pageviews + int(pageviews * 0.15),
        "identified_visitors": int(visitors * 0.12),
        "hot_leads": int(visitors * 0.05),
    }


@functools.lru_cache(maxsize=10_000)
def metrics_between(site: int, start: datetime, end: datetime) -> dict[str, int]:
    """Sums per hour; distinct counts are 70% of the hourly sum (visitors come back)."""
    total = dict.fromkeys(METRICS, 0)
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = 0
    while hour < end and hours < 24 * 400:
        if hour >= start:
            for k, v in hour_metrics(site, hour).items():
                total[k] += v
        hour += timedelta(hours=1)
        hours += 1
    if hours > 1:
        for k in ("unique_visitors", "identified_visitors", "hot_leads"):
            total[k] = int(total[k] * 0.7)
    return total


def change(current: int, previous: int) -> float | None:
    return None if previous == 0 else round((current - previous) / previous * 100, 1)


def rows_for(site: int, period: Period, dimension: str) -> list[dict[str, Any]]:
    scale = metrics_between(site, period.start, period.end)["pageviews"] or 1
    rows = []
    for rank, value in enumerate(VALUES[dimension]):
        share = (0.55**rank if rank < 10 else 0.002) * (0.7 + 0.6 * noise(site, dimension, value))
        pageviews = max(0, int(scale * share * 0.5))
        row: dict[str, Any] = {"value": value}
        for metric in ROW_METRICS[dimension]:
            row[metric] = {
                "visitors": pageviews // 3,
                "sessions": pageviews // 2,
                "pageviews": pageviews,
                "events": pageviews + pageviews // 7,
            }[metric]
        rows.append(row)
    first = ROW_METRICS[dimension][0]
    return sorted((r for r in rows if r[first] > 0), key=lambda r: (-r[first], r["value"]))


def paged(items: list[Any], query: dict[str, str], default: int, most: int) -> tuple[list[Any], str | None]:
    limit = int_param(query, "limit", default, 1, most)
    offset = 0
    if "cursor" in query:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(query["cursor"].encode()))["o"])
        except (ValueError, KeyError, TypeError) as exc:
            raise bad("cursor is not one this API gave out.") from exc
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    cursor = base64.urlsafe_b64encode(json.dumps({"o": offset + limit}).encode()).decode() if more else None
    return page, cursor


def int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise bad(f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


# ------------------------------------------------------------------ people (§12)


def visitor_ids(site: int) -> list[str]:
    return [
        f"gv_{int(noise(site, n, 'a') * 2**32):08x}_{int(noise(site, n, 'b') * 2**32):08x}"
        for n in range(VISITORS_PER_SITE)
    ]


def session_summary(site: int, vid: str, n: int, now: datetime) -> dict[str, Any]:
    started = now - timedelta(hours=2 + n * 19 + int(noise(vid, n) * 10))
    pageviews = 1 + int(noise(vid, n, "pv") * 7)
    events = pageviews + int(noise(vid, n, "ev") * 3)
    duration = 0 if pageviews == 1 and events == 1 else int(30 + noise(vid, n, "d") * 600)
    pages = [PAGES[int(noise(vid, n, i) * 9)] for i in range(pageviews)]
    country = VALUES["country"][int(noise(vid, "c") * 11)]
    device = int(noise(vid, "dev") * 3)
    return {
        "session_id": f"gs_{vid[3:11]}{n:04d}",
        "ghost_vid": vid,
        "identified_user_id": f"user{vid[3:8]}@example.com" if noise(vid, "id") < 0.35 else None,
        "country": None if country == "Unknown" else country,
        "city": None,
        "device_type": ["desktop", "mobile", "tablet"][device],
        "browser": ["Chrome", "Mobile Safari", "Safari"][device],
        "os": ["macOS", "iOS", "iPadOS"][device],
        "started_at": iso(started),
        "ended_at": iso(started + timedelta(seconds=duration)),
        "duration_seconds": duration,
        "event_count": events,
        "pageview_count": pageviews,
        "entry_page": pages[0],
        "exit_page": pages[-1],
        "referrer": None if noise(vid, n, "r") < 0.4 else "https://google.com",
    }


def session_count(vid: str) -> int:
    return 60 if vid.endswith(("0", "1")) else 1 + int(noise(vid, "n") * 5)


def lead_row(site: int, vid: str, now: datetime) -> dict[str, Any]:
    count = session_count(vid)
    last = session_summary(site, vid, 0, now)
    first = session_summary(site, vid, count - 1, now)
    parts = {  # points, as the real API answers: they add up to the score
        "high_intent_pageviews": int(noise(vid, "hi") * 5) * 10,
        "custom_events": int(noise(vid, "ce") * 4) * 5,
        "identified": 20 if last["identified_user_id"] is not None else 0,
    }
    score = sum(parts.values())
    return {
        "ghost_vid": vid,
        "identified_user_id": last["identified_user_id"],
        "score": score,
        "score_parts": parts,
        "hot": score >= 30,
        "hot_since": first["started_at"] if score >= 30 else None,
        "first_seen": first["started_at"],
        "last_seen": last["ended_at"],
        "sessions": count,
        "country": last["country"],
        "last_session_id": last["session_id"],
        "last_pages": list(dict.fromkeys([last["exit_page"], last["entry_page"]]))[:5],
    }


def timeline(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Pageviews evenly spread over the session, its custom events on the exit page at the end."""
    vid, count, views = summary["ghost_vid"], summary["event_count"], summary["pageview_count"]
    started = datetime.fromisoformat(summary["started_at"].replace("Z", "+00:00"))
    offsets = [summary["duration_seconds"] * i // max(1, count - 1) for i in range(count)]
    pages = [summary["entry_page"]] + [PAGES[int(noise(vid, "t", i) * 9)] for i in range(1, views)]
    pages[-1] = summary["exit_page"]
    items = []
    for i, offset in enumerate(offsets):
        is_pageview = i < views
        page = pages[i] if is_pageview else pages[-1]
        items.append(
            {
                "type": "pageview" if is_pageview else "custom_event",
                "event_name": "" if is_pageview else ["cta_clicked", "video_played"][i % 2],
                "page": page,
                "page_title": page.strip("/").title() or "Home",
                "timestamp": iso(started + timedelta(seconds=offset)),
                "time_on_previous_page": offset - offsets[i - 1] if i else 0,
                "props": {} if is_pageview else {"section": "hero"},
            }
        )
    return items


# ------------------------------------------------------------------ the server


@dataclass
class MockState:
    sessions: set[str] = field(default_factory=set)
    failures: list[dict[str, Any]] = field(default_factory=list)
    realtime_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The mock's "now" is its start (to the second), so the same URL gives the same answer.
    started: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def now(self) -> datetime:
        return self.started


class Handler(BaseHTTPRequestHandler):
    server: MockServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def route(self, method: str) -> None:
        url = urlsplit(self.path)
        if url.path.startswith("/__mock/") and method == "POST":
            self.control(url.path)
        elif not url.path.startswith("/api/"):
            self.static(url.path)
        else:
            self.answer(method, url.path, url.query)

    def answer(self, method: str, path: str, raw_query: str) -> None:
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        try:
            status, body, cookie = self.api(method, path, query)
        except ApiError as err:
            status, body, cookie = err.status, {"error": {"code": err.code, "message": err.message}}, None
        self.reply(status, body, cookie)

    def reply(self, status: int, body: Any, cookie: str | None = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        if cookie is not None:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def static(self, path: str) -> None:
        root = self.server.dist.resolve()
        file = (root / unquote(path).lstrip("/")).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            file = root / "index.html"
        if not file.is_file():
            self.reply(404, {"error": {"code": "not_found", "message": "Build the page first: make web."}})
            return
        data = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(file.name)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError as exc:
            raise bad("The body must be JSON.") from exc

    def control(self, path: str) -> None:
        state = self.server.state
        with state.lock:
            if path == "/__mock/fail":
                state.failures.append(self.body())
            elif path == "/__mock/expire":
                state.sessions.clear()
            elif path == "/__mock/reset":
                state.failures.clear()
                state.realtime_calls = 0
        self.reply(204, None)

    def user_cookie(self) -> str | None:
        for part in (self.headers.get("cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "session":
                return value
        return None

    def injected_failure(self, path: str) -> None:
        state = self.server.state
        with state.lock:
            for failure in state.failures:
                if path.startswith(failure.get("path", "")) and failure.get("times", 1) > 0:
                    failure["times"] = failure.get("times", 1) - 1
                    status = int(failure.get("status", 500))
                    codes = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 429: "rate_limited"}
                    message = f"Injected failure {status} (request mock-1)."
                    raise ApiError(status, codes.get(status, "internal"), message)

    def api(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any, str | None]:
        self.injected_failure(path)
        state = self.server.state
        if (method, path) == ("POST", "/api/auth/login"):
            body = self.body()
            if body.get("email") != USER or body.get("password") != PASSWORD:
                raise ApiError(401, "unauthenticated", "Wrong email or password.")
            token = secrets.token_urlsafe(24)
            state.sessions.add(token)
            cookie = f"session={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400"
            return 200, {"user_id": USER, "sites": SITES}, cookie
        if self.user_cookie() not in state.sessions:
            raise ApiError(401, "unauthenticated", "Sign in first: no valid session cookie.")
        if (method, path) == ("POST", "/api/auth/logout"):
            state.sessions.discard(self.user_cookie() or "")
            return 204, None, "session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        if method != "GET":
            raise ApiError(405, "method_not_allowed", f"{path} does not take {method}.")
        if path == "/api/me":
            return 200, {"user_id": USER, "sites": SITES}, None
        site = self.site(query)
        zone = ZoneInfo(site["timezone"])
        now = state.now()
        handler = ROUTES.get(path.split("/")[2] if path.count("/") == 3 else path)
        if handler is None:
            raise ApiError(404, "not_found", f"No route for GET {path}.")
        return 200, handler(self, path, query, int(site["site_id"]), zone, now), None

    def site(self, query: dict[str, str]) -> dict[str, Any]:
        raw = query.get("siteId", "")
        if not raw.isdigit():
            raise bad("siteId is required: the number of a site.")
        found = next((s for s in SITES if s["site_id"] == int(raw)), None)
        if found is None:
            raise ApiError(403, "forbidden", "You are not a member of this site.")
        return found


def check_params(query: dict[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(query) - allowed - {"siteId"})
    if unknown:
        raise bad(f"Unknown parameter {unknown[0]}.")


RANGE = {"timeRange", "from", "to"}


def compare_of(query: dict[str, str]) -> str | None:
    how = query.get("compare")
    if how not in (None, "previous", "year"):
        raise bad("compare must be previous or year.")
    return how


def stats(h: Handler, path: str, q: dict[str, str], site: int, zone: ZoneInfo, now: datetime) -> Any:
    check_params(q, RANGE | {"compare", "limit"})
    period, how = period_for(q, zone, now), compare_of(q)
    limit = int_param(q, "limit", 10, 1, 100)
    overview = metrics_between(site, period.start, period.end)
    answer: dict[str, Any] = {
        "overview": overview,
        "top_pages": [{"page": r["value"], "views": r["pageviews"]} for r in rows_for(site, period, "page")][
            :limit
        ],
        "countries": [
            {"country": r["value"], "visitors": r["visitors"]} for r in rows_for(site, period, "country")
        ][:limit],
        "time_range": period.name,
        "period": period.wire(),
    }
    if how:
        before = compared(period, how)
        previous = metrics_between(site, before.start, before.end)
        answer["comparison"] = {
            "period": before.wire(),
            "overview": previous,
            "change": {m: change(overview[m], previous[m]) for m in METRICS},
        }
    return answer


def points(site: int, period: Period, interval: str) -> list[dict[str, Any]]:
    return [
        {"start": iso(s), "label": label, **metrics_between(site, s, e)}
        for s, e, label in buckets(period, interval)
    ]


def timeseries(h: Handler, path: str, q: dict[str, str], site: int, zone: ZoneInfo, now: datetime) -> Any:
    check_params(q, RANGE | {"compare", "interval"})
    period, how = period_for(q, zone, now), compare_of(q)
    interval = q.get("interval", "day")
    if interval not in ("hour", "day", "week", "month"):
        raise bad("interval must be hour, day, week or month.")
    if interval == "hour" and period.days > 7:
        raise bad("interval=hour is for ranges of up to 7 days.")
    answer: dict[str, Any] = {
        "interval": interval,
        "time_range": period.name,
        "period": period.wire(),
        "points": points(site, period, interval),
    }
    if how:
        before = compared(period, how)
        answer["comparison"] = {"period": before.wire(), "points": points(site, before, interval)}
    return answer


def breakdown(h: Handler, path: str, q: dict[str, str], site: int, zone: ZoneInfo, now: datetime) -> Any:
    check_params(q, RANGE | {"dimension", "limit", "cursor"})
    dimension = q.get("dimension", "")
    if dimension not in ROW_METRICS:
        raise bad(f"dimension must be one of {', '.join(ROW_METRICS)}.")
    period = period_for(q, zone, now)
    rows, cursor = paged(rows_for(site, period, dimension), q, 10, 1000)
    return {
        "dimension": dimension,
        "time_range": period.name,
        "period": period.wire(),
        "rows": rows,
        "next_cursor": cursor,
    }


def realtime(h: Handler, path: str, q: dict[str, str], site: int, zone: ZoneInfo, now: datetime) -> Any:
    check_params(q, set())
    with h.server.state.lock:
        h.server.state.realtime_calls += 1
        calls = h.server.state.realtime_calls
    minute = now.replace(second=0, microsecond=0)
    minutes = [
        {
            "start": iso(minute - timedelta(minutes=29 - i)),
            "pageviews": (i * 7 + calls) % 9,
            "visitors": (i + calls) % 4,
        }
        for i in range(30)
    ]
    return {
        "visitors_now": 2 + calls,
        "pageviews_last_30m": sum(m["pageviews"] for m in minutes),
        "minutes": minutes,
        "top_pages": [{"page": p, "visitors": 3 - i} for i, p in enumerate(PAGES[:3])],
    }


def leads(h: Handler, path: str, q: dict[str, str], site: int, zone: ZoneInfo, now: datetime) -> Any:
    check_params(q, RANGE | {"status", "sort", "limit", "cursor"})
    period = period_for(q, zone, now)
    status, sort = q.get("status", "hot"), q.get("sort", "last_seen")
    if status not in ("hot", "identified", "all") or sort not in ("last_seen", "score"):
        raise bad("status must be hot, identified or all; sort last_seen or score.")
    rows = [lead_row(site, vid, now) for vid in visitor_ids(site)]
    rows = [r for r in rows if iso(period.start) <= r["last_seen"]]
    if status == "hot":
        rows = [r for r in rows if r["hot"]]
    elif status == "identified":
        rows = [r for r in rows if r["identified_user_id"]]
    rows.sort(key=lambda r: r["ghost_vid"])
    rows.sort(key=lambda r: r["last_seen"], reverse=True)
    if sort == "score":
        rows.sort(key=lambda r: -r["score"])
    page, cursor = paged(rows, q, 50, 200)
    return {"leads": page, "next_cursor": cursor}


def visitor(h: Handler, path: str, q: dict[str, str], site: int, zone: ZoneInfo, now: datetime) -> Any:
    check_params(q, {"cursor"})
    vid = unquote(path.rsplit("/", 1)[1])
    if vid not in visitor_ids(site):
        raise ApiError(404, "not_found", "No visitor with that id on this site.")
    row = lead_row(site, vid, now)
    sessions = [session_summary(site, vid, n, now) for n in range(row["sessions"])]
    page, cursor = paged(sessions, q, 50, 50)
    return {
        **row,
        "user_ids": [row["identified_user_id"]] if row["identified_user_id"] else [],
        "pageviews": sum(s["pageview_count"] for s in sessions),
        "events": sum(s["event_count"] for s in sessions),
        "countries": [row["country"] or "Unknown"],
        "devices": [sessions[0]["device_type"]],
        "sessions": page,
        "session_count": row["sessions"],
        "next_cursor": cursor,
    }


def find_session(site: int, session_id: str, now: datetime) -> dict[str, Any]:
    for vid in visitor_ids(site):
        if session_id.startswith(f"gs_{vid[3:11]}"):
            n = int(session_id[-4:]) if session_id[-4:].isdigit() else -1
            if 0 <= n < session_count(vid):
                return session_summary(site, vid, n, now)
    raise ApiError(404, "not_found", "No session with that id on this site.")


def session(h: Handler, path: str, q: dict[str, str], site: int, zone: ZoneInfo, now: datetime) -> Any:
    check_params(q, set())
    summary = find_session(site, unquote(path.rsplit("/", 1)[1]), now)
    items = timeline(summary)
    pages = list(dict.fromkeys(t["page"] for t in items if t["type"] == "pageview"))
    return {**summary, "pages": pages, "timeline": items}


def sessions(h: Handler, path: str, q: dict[str, str], site: int, zone: ZoneInfo, now: datetime) -> Any:
    check_params(q, RANGE | {"ghost_vid", "identified", "hot", "country", "limit", "cursor"})
    period = period_for(q, zone, now)
    found = [
        session_summary(site, vid, n, now)
        for vid in visitor_ids(site)
        for n in range(session_count(vid))
        if q.get("ghost_vid") in (None, vid)
    ]
    found = [s for s in found if iso(period.start) <= s["started_at"] < iso(period.end)]
    found.sort(key=lambda s: (s["started_at"], s["session_id"]), reverse=True)
    page, cursor = paged(found, q, 50, 200)
    return {"sessions": page, "next_cursor": cursor}


ROUTES: dict[str, Callable[[Handler, str, dict[str, str], int, ZoneInfo, datetime], Any]] = {
    "/api/stats": stats,
    "/api/timeseries": timeseries,
    "/api/breakdown": breakdown,
    "/api/realtime": realtime,
    "/api/leads": leads,
    "/api/sessions": sessions,
    "visitors": visitor,
    "session": session,
}


class MockServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], dist: Path = DIST) -> None:
        super().__init__(address, Handler)
        self.dist = dist
        self.state = MockState()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=3200)
    args = parser.parse_args()
    server = MockServer(("127.0.0.1", args.port))
    print(f"mock API and dashboard on {server.url}/  (sign in: {USER} / {PASSWORD})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
