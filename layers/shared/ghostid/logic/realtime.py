"""GET /api/realtime (PRODUCT §11), from the site's realtime item (one GetItem, whatever the site's size).

`minutes` are the 30 whole minutes ending with the current one, oldest first; `visitors_now` and
`top_pages` look at the last 5 of them; `pageviews_last_30m` adds up all 30.
"""

from __future__ import annotations

from collections import defaultdict

from ghostid.dal import realtime as live_dal
from ghostid.logic.live import MINUTE_MS, WINDOW_MINUTES, minute_of
from ghostid.logic.stats import top
from ghostid.models.api import MinuteBody, PageVisitors, RealtimeResponse
from ghostid.timeutil import format_timestamp

NOW_MINUTES = 5
TOP_PAGES = 10


def site_realtime(site_id: int, now_ms: int) -> RealtimeResponse:
    live, _ = live_dal.get_live(site_id)
    current = minute_of(now_ms)
    minutes = [current - (WINDOW_MINUTES - 1 - i) * MINUTE_MS for i in range(WINDOW_MINUTES)]
    bodies = []
    for minute in minutes:
        events = live.minutes.get(minute)
        if events is not None:
            counts = (sum(e[2] for e in events.values()), len({e[1] for e in events.values()}))
        else:
            counts = live.counts.get(minute, (0, 0))
        bodies.append(MinuteBody(start=format_timestamp(minute), pageviews=counts[0], visitors=counts[1]))
    recent = [e for m in minutes[-NOW_MINUTES:] for e in live.minutes.get(m, {}).values()]
    pages: dict[str, set[int]] = defaultdict(set)
    for _, visitor, pageview, page in recent:
        if pageview:
            pages[page].add(visitor)
    return RealtimeResponse(
        visitors_now=len({e[1] for e in recent}),
        pageviews_last_30m=sum(b.pageviews for b in bodies),
        minutes=bodies,
        top_pages=[
            PageVisitors(page=p, visitors=v)
            for p, v in top(((p, len(v)) for p, v in pages.items()), TOP_PAGES)
        ],
    )
