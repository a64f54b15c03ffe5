"""GET /api/session/{id}: one session's timeline from its stored events (PRODUCT §6)."""

from __future__ import annotations

from collections.abc import Sequence

from ghostid.dal import events as events_dal
from ghostid.dal import visitors as visitors_dal
from ghostid.errors import NotFound
from ghostid.models.api import SessionResponse, TimelineItem
from ghostid.models.events import StoredEvent


def site_session(site_id: int, session_id: str) -> SessionResponse:
    """404 when the session has no events under this site (even if it exists under another one)."""
    events = [events_dal.item_to_event(item) for item in events_dal.query_session_items(site_id, session_id)]
    if not events:
        raise NotFound(f"No session {session_id!r} on site {site_id}: check the id and the siteId.")
    first = min(events, key=lambda e: (e.ts, e.event_id))
    head = visitors_dal.get_head(site_id, first.ghost_vid)
    identity = head.listed.get("identified_user_id") if head and head.listed else None
    return build_session(events, identity)


def build_session(events: Sequence[StoredEvent], identified_user_id: str | None) -> SessionResponse:
    """`events` must be non-empty; they are ordered by (timestamp, event_id), never by arrival."""
    ordered = sorted(events, key=lambda e: (e.ts, e.event_id))
    first, last = ordered[0], ordered[-1]
    pageviews = [e for e in ordered if e.type == "pageview"]
    timeline = []
    previous_ts = first.ts
    for event in ordered:
        timeline.append(
            TimelineItem(
                type=event.type,
                event_name=event.event_name,
                page=event.page,
                page_title=event.page_title,
                timestamp=event.timestamp,
                time_on_previous_page=(event.ts - previous_ts) // 1000,
                props=event.props,
            )
        )
        previous_ts = event.ts
    return SessionResponse(
        session_id=first.session_id,
        ghost_vid=first.ghost_vid,
        identified_user_id=identified_user_id,
        country=first.country,
        city=first.city,
        device_type=first.device_type,
        browser=first.browser,
        os=first.os,
        started_at=first.timestamp,
        ended_at=last.timestamp,
        duration_seconds=(last.ts - first.ts) // 1000,
        event_count=len(ordered),
        pageview_count=len(pageviews),
        entry_page=pageviews[0].page if pageviews else None,
        exit_page=pageviews[-1].page if pageviews else None,
        referrer=first.referrer,
        pages=list(dict.fromkeys(e.page for e in pageviews)),
        timeline=timeline,
    )
