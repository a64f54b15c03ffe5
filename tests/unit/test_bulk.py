"""The bulk loader (`logic.bulk.load_site`): a session it keeps is registered with its visitor, so the
visitor's profile finds it and the consumer folds a returning visitor with it (a visitor on no lead list
had no registry before: its profile was a 404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ghostid.dal import tree as tree_dal
from ghostid.dal import visitors as visitors_dal
from ghostid.logic.bulk import load_site
from ghostid.logic.people import visitor_profile
from ghostid.models.people import VisitorQuery
from ghostid.models.rollups import EventFacts
from ghostid.models.sites import LeadRules, Site
from ghostid.timeutil import DAY_MS, HOUR_MS, Zone

pytestmark = pytest.mark.usefixtures("aws")
SITE = 9
NOW = 1_773_163_812_345  # 2026-03-10T17:30:12.345Z
ZONE = Zone("UTC")


def session(visitor: str, number: int, start: int, pages: list[str]) -> tuple[str, list[EventFacts]]:
    facts = [
        EventFacts(
            event_id=f"e{number}.{i}", ts=start + i * 30_000, type="pageview", page=page, ghost_vid=visitor
        )
        for i, page in enumerate(pages)
    ]
    return f"gs_{number}", facts


def load(sessions: list[tuple[str, list[EventFacts]]], keep_days: int) -> None:
    site = Site(site_id=SITE, domain="example.com")
    keep = ZONE.date_of(NOW) - timedelta(days=keep_days)
    load_site(SITE, site, iter(sessions), NOW, tree_dal.put_nodes, keep_cells_from=keep)


def test_kept_sessions_are_registered_and_a_plain_visitor_has_a_profile() -> None:
    old = session("gv_plain", 1, NOW - 5 * DAY_MS, ["/", "/blog"])
    kept = session("gv_plain", 2, NOW - 2 * HOUR_MS, ["/", "/features", "/blog"])
    load([old, kept], keep_days=1)
    assert visitors_dal.get_index(SITE, "gv_plain").sessions == {"gs_2": kept[1][0].ts}
    profile = visitor_profile(VisitorQuery(siteId=SITE, ghost_vid="gv_plain"), LeadRules(), NOW)
    assert [s.session_id for s in profile.sessions] == ["gs_2"]
    assert profile.pageviews == 3


def test_a_lead_is_registered_once_with_every_session() -> None:
    old = session("gv_lead", 1, NOW - 5 * DAY_MS, ["/pricing", "/demo"])
    kept = session("gv_lead", 2, NOW - 2 * HOUR_MS, ["/pricing", "/contact"])
    load([old, kept], keep_days=1)
    index = visitors_dal.get_index(SITE, "gv_lead")
    assert index.sessions == {"gs_1": old[1][0].ts, "gs_2": kept[1][0].ts}
    assert index.head.listed is not None and index.head.listed["hot"]


def test_a_young_big_site_writes_each_prefix_once() -> None:
    """7d, 30d, month and 12mo cannot be prefixes before the site has been big that long; their plans still
    hold today's prefix, which must not be written again under their names (a BatchWriteItem with the
    same key twice is rejected)."""
    from collections import Counter

    from ghostid.logic.rebuild import rollup_items

    busy = [
        session(f"gv_{n}", n, NOW - 3 * DAY_MS + n * 5_000, ["/", "/blog"] * 3) for n in range(10_200 // 6)
    ]
    written: list[dict[str, object]] = []
    site = Site(site_id=SITE, domain="example.com")
    load_site(SITE, site, iter(busy), NOW, written.extend, keep_cells_from=ZONE.date_of(NOW))
    rebuilt = rollup_items(SITE, dict(busy), site, NOW)
    for items in (written, rebuilt.items):
        keys = Counter((item["pk"]["S"], item["sk"]["S"]) for item in items)  # type: ignore[index]
        assert [key for key, count in keys.items() if count > 1] == []
        assert any(pk.endswith("#N#P") and sk.endswith("#today") for pk, sk in keys)


def test_a_lead_whose_sessions_were_all_left_out_has_no_profile_rather_than_an_error() -> None:
    from ghostid.errors import NotFound

    load([session("gv_old_lead", 1, NOW - 5 * DAY_MS, ["/pricing", "/demo", "/contact"])], keep_days=1)
    assert visitors_dal.get_index(SITE, "gv_old_lead").head.listed is not None
    with pytest.raises(NotFound):
        visitor_profile(VisitorQuery(siteId=SITE, ghost_vid="gv_old_lead"), LeadRules(), NOW)
