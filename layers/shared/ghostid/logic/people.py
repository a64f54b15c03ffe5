"""The people behind the numbers (PRODUCT §12): lead lists, a visitor's profile, the sessions list.

- Hot leads and identified visitors come from the sparse lead-list indexes the consumer keeps (one Query a
  page); a range that ends now filters by `last_seen`, a past range by the visitor's active local days.
  `status=all` has no index (every visitor would be written to one on every event): it reads the range's
  cells and each visitor's sessions, so its cost grows with the visitors of the range.
- A visitor's profile: its partition (registry and head) and its sessions' first cells (two requests).
- Sessions: the range's day partitions of cells, first cells newest first (one Query a day touched).
Cursors are keyset positions, signed (`ghostid.logic.cursor`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from datetime import date
from itertools import groupby
from typing import Any, TypeVar

from ghostid.dal import cells as cells_dal
from ghostid.dal import state as state_dal
from ghostid.dal import visitors as visitors_dal
from ghostid.errors import NotFound
from ghostid.logic import cursor
from ghostid.logic import tree as tree_logic
from ghostid.logic.periods import Period
from ghostid.logic.stats import period_of, site_tree
from ghostid.logic.visitors import latest_first, lead_row, view
from ghostid.models.people import (
    LeadRow,
    LeadsQuery,
    LeadsResponse,
    SessionsQuery,
    SessionsResponse,
    SessionSummaryBody,
    VisitorQuery,
    VisitorResponse,
)
from ghostid.models.rollups import SessionSummary
from ghostid.models.sites import LeadRules
from ghostid.timeutil import format_timestamp, parse_timestamp

SESSIONS_PER_PROFILE = 50
T = TypeVar("T")


# --- leads ------------------------------------------------------------------------------------------------


def site_leads(query: LeadsQuery, rules: LeadRules | None, now_ms: int) -> LeadsResponse:
    state = state_dal.get_state(query.site_id, consistent=False)
    tree = site_tree(query.site_id, state, now_ms)
    period = period_of(query, tree)
    scope = query.model_dump(exclude={"cursor", "limit", "site_id"}, mode="json")
    after = cursor.decode("leads", query.site_id, scope, query.cursor) if query.cursor else None
    by_score = query.sort == "score"
    if query.status == "all":
        candidates = _all_leads(tree, period, rules or LeadRules(), by_score)
    else:
        first_page = _rows_read(query.limit)
        lists = _lists_of(query.status, state.lists_format)
        candidates = _listed(query.site_id, lists, query.status, by_score, period, now_ms, first_page, after)
    page: list[dict[str, Any]] = []
    for key, row in candidates:
        if after is not None and key <= after:
            continue  # keys run from the newest (smallest key) on: the cursor's and earlier were served
        page.append(row)
        if len(page) > query.limit:
            break
    more = len(page) > query.limit
    page = page[: query.limit]
    last = _lead_key(page[-1], by_score) if more else None
    return LeadsResponse(
        leads=[LeadRow.model_validate(row) for row in page],
        next_cursor=cursor.encode("leads", query.site_id, scope, last) if last is not None else None,
    )


def _lead_key(row: dict[str, Any], by_score: bool) -> list[Any]:
    """The walk's order as an ascending key: last_seen newest first (or score highest first, then
    last_seen newest first), ties by ghost_vid."""
    seen = -parse_timestamp(row["last_seen"])
    return [-row["score"], seen, row["ghost_vid"]] if by_score else [seen, row["ghost_vid"]]


def _lead_position(key: list[Any], by_score: bool) -> tuple[int, int]:
    """(score, last_seen) of the row a `_lead_key` belongs to (score 0 when the walk is by last_seen)."""
    return (-int(key[0]), -int(key[1])) if by_score else (0, -int(key[0]))


def _lists_of(status: str, lists_format: int) -> list[visitors_dal.LeadList]:
    """The lead lists a status reads: identified visitors are one list, but on a site whose lists predate
    the identified hot leads' entries (format 1) they are the hot list's identified rows and the rest."""
    if status == "hot":
        return ["H"]
    return ["I"] if lists_format >= visitors_dal.LISTS_FORMAT else ["H", "I"]


def _listed(
    site_id: int,
    lists: list[visitors_dal.LeadList],
    status: str,
    by_score: bool,
    period: Period,
    now_ms: int,
    first_page: int,
    after: list[Any] | None,
) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    start = _lead_position(after, by_score) if after is not None else None
    streams = [
        in_key_order(
            ((_lead_key(row, by_score), row, days) for row, days in rows),
            key=lambda item: item[0],
        )
        for rows in (_rows_of(site_id, name, lists, by_score, first_page, start) for name in lists)
    ]
    ends_now = period.end > now_ms
    wanted_days = {d.isoformat() for d in period.days} if not period.hourly else set()
    for key, row, days in heapq.merge(*streams, key=lambda item: item[0]):
        if status == "identified" and not row["identified_user_id"]:
            continue
        if not ends_now and not days & wanted_days:
            continue
        if ends_now and parse_timestamp(row["last_seen"]) < period.start:
            if not by_score:
                return  # newest first: every later row was last seen before the range
            continue
        yield key, row


def _rows_of(
    site_id: int,
    name: visitors_dal.LeadList,
    lists: list[visitors_dal.LeadList],
    by_score: bool,
    first_page: int,
    start: tuple[int, int] | None,
) -> Iterator[tuple[dict[str, Any], set[str]]]:
    """A list's rows; read beside the hot list, the identified list leaves out hot leads (their entries,
    written since, would repeat the hot list's rows)."""
    rows = visitors_dal.iter_leads(site_id, name, by_score, first_page, start)
    if name == "I" and "H" in lists:
        return ((row, days) for row, days in rows if not row["hot"])
    return rows


def _rows_read(limit: int) -> int:
    """Rows a page asks DynamoDB for first: the page, one to know there is more, and one that ends the last
    run of ties (`in_key_order` looks one row ahead)."""
    return limit + 2


def in_key_order(items: Iterator[T], key: Callable[[T], list[Any]]) -> Iterator[T]:
    """Items that come sorted by their key but the last part (a stored list orders rows that tie, as in the
    same millisecond, by id descending), in key order: ties sorted among themselves, so a page that ends
    inside a run of ties continues after the right one."""
    for _, run in groupby(items, key=lambda item: key(item)[:-1]):
        yield from sorted(run, key=key)


def _all_leads(
    tree: tree_logic.Tree, period: Period, rules: LeadRules, by_score: bool
) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Every visitor with an event in the range (from its cells), each computed from all its sessions."""
    visitors: set[str] = set()
    day = tree.zone.date_of(period.start)
    last = tree.zone.date_of(min(period.end, tree.now + 1) - 1)
    while day <= last:
        for cell in cells_dal.day_cells(tree.site_id, day.isoformat()):
            if period.start <= cell.hour < period.end:
                visitors.add(cell.visitor)
        day = date.fromordinal(day.toordinal() + 1)
    rows = []
    for visitor in visitors:
        index = visitors_dal.get_index(tree.site_id, visitor, consistent=False)
        found = cells_dal.first_cells(tree.site_id, tree.zone, index.sessions, consistent=False)
        if found:
            row = lead_row(view(visitor, {sid: pair[1] for sid, pair in found.items()}, rules))
            rows.append((_lead_key(row, by_score), row))
    yield from sorted(rows, key=lambda pair: pair[0])


# --- a visitor ----------------------------------------------------------------------------------------


def visitor_profile(query: VisitorQuery, rules: LeadRules, now_ms: int) -> VisitorResponse:
    scope = {"ghost_vid": query.ghost_vid}
    after = cursor.decode("visitor", query.site_id, scope, query.cursor) if query.cursor else None
    state = state_dal.get_state(query.site_id, consistent=False)
    tree = site_tree(query.site_id, state, now_ms)
    index = visitors_dal.get_index(query.site_id, query.ghost_vid, consistent=False)
    # No session whose first cell can be read (none registered, or the consumer is between registering a
    # session and writing its cell): nothing to show yet, rather than a crash on an empty profile.
    found = cells_dal.first_cells(query.site_id, tree.zone, index.sessions, consistent=False)
    if not found:
        raise NotFound(
            f"No visitor {query.ghost_vid!r} on site {query.site_id}: check the id and the siteId."
        )
    parts = {sid: pair[1] for sid, pair in found.items()}
    current = view(query.ghost_vid, parts, rules)
    summaries = sorted((pair[0] for pair in found.values()), key=lambda s: (-s.started_at, s.session_id))
    if after is not None:
        last_start, last_id = after
        summaries = [s for s in summaries if (-s.started_at, s.session_id) > (-last_start, last_id)]
    page = summaries[:SESSIONS_PER_PROFILE]
    more = len(summaries) > SESSIONS_PER_PROFILE
    next_cursor = (
        cursor.encode("visitor", query.site_id, scope, [page[-1].started_at, page[-1].session_id])
        if more
        else None
    )
    return VisitorResponse.model_validate(
        {
            **lead_row(current),
            "user_ids": current.user_ids,
            "pageviews": sum(p.pageviews for p in parts.values()),
            "events": sum(p.events for p in parts.values()),
            "countries": latest_first(p.countries for p in parts.values()),
            "devices": latest_first(p.devices for p in parts.values()),
            "sessions": [summary_body(s, current.identified_user_id) for s in page],
            "session_count": len(parts),
            "next_cursor": next_cursor,
        }
    )


# --- sessions -----------------------------------------------------------------------------------------


def site_sessions(query: SessionsQuery, now_ms: int) -> SessionsResponse:
    state = state_dal.get_state(query.site_id, consistent=False)
    tree = site_tree(query.site_id, state, now_ms)
    period = period_of(query, tree)
    scope = query.model_dump(exclude={"cursor", "limit", "site_id"}, mode="json")
    after = cursor.decode("sessions", query.site_id, scope, query.cursor) if query.cursor else None
    page: list[SessionSummary] = []
    for summary in _sessions_in(tree, period, query, after):
        page.append(summary)
        if len(page) > query.limit:
            break
    more = len(page) > query.limit
    page = page[: query.limit]
    last = [page[-1].started_at, page[-1].session_id] if more else None
    return SessionsResponse(
        sessions=[summary_body(s, s.identified_user_id) for s in page],
        next_cursor=cursor.encode("sessions", query.site_id, scope, last) if last else None,
    )


def _sessions_in(
    tree: tree_logic.Tree, period: Period, query: SessionsQuery, after: list[Any] | None
) -> Iterator[SessionSummary]:
    end = min(period.end, tree.now + 1)
    if after is not None:
        end = min(end, int(after[0]) + 1)
    day: date = tree.zone.date_of(end - 1)
    first_day = tree.zone.date_of(period.start)
    while day >= first_day:
        started = cells_dal.sessions_started(
            query.site_id,
            day.isoformat(),
            period.start,
            end,
            query.country,
            query.identified,
            query.hot,
            query.ghost_vid,
            first_page=_rows_read(query.limit),
        )
        for summary in in_key_order(started, key=lambda s: [-s.started_at, s.session_id]):
            if after is not None and (-summary.started_at, summary.session_id) <= (-int(after[0]), after[1]):
                continue
            yield summary
        day = date.fromordinal(day.toordinal() - 1)


def summary_body(summary: SessionSummary, identified_user_id: str | None) -> SessionSummaryBody:
    return SessionSummaryBody(
        session_id=summary.session_id,
        ghost_vid=summary.ghost_vid,
        identified_user_id=identified_user_id,
        country=summary.country,
        city=summary.city,
        device_type=summary.device_type,
        browser=summary.browser,
        os=summary.os,
        started_at=format_timestamp(summary.started_at),
        ended_at=format_timestamp(summary.ended_at),
        duration_seconds=(summary.ended_at - summary.started_at) // 1000,
        event_count=summary.event_count,
        pageview_count=summary.pageview_count,
        entry_page=summary.entry_page,
        exit_page=summary.exit_page,
        referrer=summary.referrer,
    )
