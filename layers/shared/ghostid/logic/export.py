"""GET /api/export (PRODUCT §12): a site's stored events in a range, oldest first, as NDJSON pages.

The index by time is the site's cells: each local day partition lists the sessions active in each hour, so
a page reads the sessions of the hours it covers (one Query each, in parallel) and keeps their events of
those hours. No scan of the events table.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ghostid.dal import cells as cells_dal
from ghostid.dal import events as events_dal
from ghostid.dal import state as state_dal
from ghostid.logic import cursor
from ghostid.logic.periods import custom
from ghostid.logic.stats import site_tree
from ghostid.models.events import StoredEvent
from ghostid.models.people import ExportQuery
from ghostid.timeutil import HOUR_MS

MAX_EVENTS = 10_000
MAX_BYTES = 5_000_000
# Each hour costs two Queries even when nothing happened in it: a part looks at no more than a week of
# hours, so a long, sparse range is a few parts with cursors rather than one response that outlives the
# function's timeout (400 days would be 19,200 Queries).
MAX_HOURS = 7 * 24
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="export")


@dataclass(frozen=True)
class ExportPage:
    body: str
    events: int
    next_cursor: str | None


def export_page(query: ExportQuery, now_ms: int) -> ExportPage:
    state = state_dal.get_state(query.site_id, consistent=False)
    tree = site_tree(query.site_id, state, now_ms)
    period = custom(tree.zone, now_ms, query.from_day, query.to_day)
    scope = {"from": query.from_day.isoformat(), "to": query.to_day.isoformat()}
    hour, skip = (
        cursor.decode("export", query.site_id, scope, query.cursor) if query.cursor else (period.start, 0)
    )
    lines: list[str] = []
    size = 0
    end = min(period.end, tree.now + HOUR_MS)
    last = min(end, hour + MAX_HOURS * HOUR_MS)
    while hour < last:
        events = _hour_events(query.site_id, tree, hour)
        for number, event in enumerate(events[skip:], start=skip):
            line = json.dumps(export_shape(event), separators=(",", ":"), ensure_ascii=False)
            if len(lines) == MAX_EVENTS or size + len(line) + 1 > MAX_BYTES:
                position = [hour, number]
                return ExportPage(
                    "".join(lines), len(lines), cursor.encode("export", query.site_id, scope, position)
                )
            lines.append(line + "\n")
            size += len(line) + 1
        hour, skip = hour + HOUR_MS, 0
    more = cursor.encode("export", query.site_id, scope, [hour, 0]) if hour < end else None
    return ExportPage("".join(lines), len(lines), more)


def _hour_events(site_id: int, tree: object, hour: int) -> list[StoredEvent]:
    from ghostid.logic.tree import Tree

    assert isinstance(tree, Tree)
    sessions = sorted(
        {cell.session_id for cell in cells_dal.hour_cells(site_id, tree.zone, hour, consistent=False)}
    )
    found = _pool.map(lambda sid: list(events_dal.query_session_items(site_id, sid)), sessions)
    events = [events_dal.item_to_event(item) for items in found for item in items]
    inside = [e for e in events if hour <= e.ts < hour + HOUR_MS]
    return sorted(inside, key=lambda e: (e.ts, e.event_id, e.session_id))


def export_shape(event: StoredEvent) -> dict[str, object]:
    """The import format (PRODUCT §7), with the event's id."""
    data = event.model_dump(exclude={"site_id"}, exclude_none=True)
    if event.type == "pageview":
        data.pop("event_name", None)
    if not data.get("props"):
        data.pop("props", None)
    if not data.get("page_title"):
        data.pop("page_title", None)
    return data
