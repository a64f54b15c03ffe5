"""An independent, brute-force recomputation of both endpoints from raw events (PRODUCT §3–6).

Deliberately shares no code with the product: it reads the definitions, not the implementation.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

HIGH_INTENT = ("/pricing", "/demo", "/contact", "/signup", "/trial")


def when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def clean_page(page: str) -> str:
    if page.startswith(("http://", "https://")):
        page = "/" + page.split("://", 1)[1].partition("/")[2]
    return page.split("#")[0].split("?")[0]


def window(time_range: str, now: datetime) -> tuple[datetime, datetime]:
    if time_range == "24h":
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return end - timedelta(hours=24), end
    days = {"7d": 7, "30d": 30}[time_range]
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return end - timedelta(days=days), end


def order(event: dict[str, Any]) -> tuple[datetime, str]:
    return when(event), event.get("event_id") or ""


def visitor_status(events: list[dict[str, Any]], threshold: int = 30) -> dict[str, dict[str, Any]]:
    status: dict[str, dict[str, Any]] = defaultdict(lambda: {"score": 0, "user": None, "user_at": None})
    for event in events:
        s = status[event["ghost_vid"]]
        page = clean_page(event["page"])
        if event["type"] == "pageview" and any(page == p or page.startswith(p + "/") for p in HIGH_INTENT):
            s["score"] += 10
        if event["type"] == "custom_event":
            s["score"] += 5
        if event.get("user_id") and (s["user_at"] is None or order(event) > s["user_at"]):
            s["user"], s["user_at"] = event["user_id"], order(event)
    for s in status.values():
        if s["user"]:
            s["score"] += 20
        s["hot"] = s["score"] >= threshold
    return status


def stats(events: list[dict[str, Any]], time_range: str, now: datetime) -> dict[str, Any]:
    start, end = window(time_range, now)
    inside = [e for e in events if start <= when(e) < end]
    status = visitor_status(events)
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_session[event["session_id"]].append(event)
    sessions = sum(1 for evs in by_session.values() if start <= when(min(evs, key=order)) < end)
    visitors = {e["ghost_vid"] for e in inside}
    pages = Counter(clean_page(e["page"]) for e in inside if e["type"] == "pageview")
    countries: dict[str, set[str]] = defaultdict(set)
    for event in inside:
        countries[event.get("country") or "Unknown"].add(event["ghost_vid"])
    return {
        "overview": {
            "unique_visitors": len(visitors),
            "sessions": sessions,
            "pageviews": sum(1 for e in inside if e["type"] == "pageview"),
            "total_events": len(inside),
            "identified_visitors": sum(1 for v in visitors if status[v]["user"]),
            "hot_leads": sum(1 for v in visitors if status[v]["hot"]),
        },
        "top_pages": [
            {"page": p, "views": n} for p, n in sorted(pages.items(), key=lambda x: (-x[1], x[0]))[:10]
        ],
        "countries": [
            {"country": c, "visitors": len(v)}
            for c, v in sorted(countries.items(), key=lambda x: (-len(x[1]), x[0]))
        ][:10],
        "time_range": time_range,
    }


def session(events: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
    mine = sorted((e for e in events if e["session_id"] == session_id), key=order)
    first, last = mine[0], mine[-1]
    views = [e for e in mine if e["type"] == "pageview"]
    status = visitor_status(events)
    timeline, previous = [], when(first)
    for event in mine:
        timeline.append(
            {
                "type": event["type"],
                "event_name": event.get("event_name", "") if event["type"] == "custom_event" else "",
                "page": clean_page(event["page"]),
                "page_title": event.get("page_title") or "",
                "timestamp": iso(when(event)),
                "time_on_previous_page": int((when(event) - previous).total_seconds() // 1),
                "props": event.get("props") or {},
            }
        )
        previous = when(event)
    pages: list[str] = []
    for event in views:
        if clean_page(event["page"]) not in pages:
            pages.append(clean_page(event["page"]))
    return {
        "session_id": session_id,
        "ghost_vid": first["ghost_vid"],
        "identified_user_id": status[first["ghost_vid"]]["user"],
        **{k: first.get(k) for k in ("country", "city", "device_type", "browser", "os", "referrer")},
        "started_at": iso(when(first)),
        "ended_at": iso(when(last)),
        "duration_seconds": int((when(last) - when(first)).total_seconds() // 1),
        "event_count": len(mine),
        "pageview_count": len(views),
        "entry_page": clean_page(views[0]["page"]) if views else None,
        "exit_page": clean_page(views[-1]["page"]) if views else None,
        "pages": pages,
        "timeline": timeline,
    }
