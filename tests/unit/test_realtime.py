"""GET /api/realtime in-process, fed events/realtime_get.json: the last half hour's shape and headers,
and the error matrix of its one parameter (tests/support/surface.py)."""

from __future__ import annotations

import pytest
from ghostid import timeutil

from tests.support import surface
from tests.support.scenario import NOW_MS

pytestmark = pytest.mark.usefixtures("aws")
ROUTE = surface.route("GET /api/realtime")
MINUTE_MS = 60_000


def test_shipped_event_file(now: None) -> None:
    """The tiny site's hot visitor was active 2 to 4 minutes ago: it is on the site now."""
    surface.member_site()
    body = surface.expect_json_answer(surface.call(ROUTE), ROUTE)
    starts = [timeutil.parse_timestamp(minute["start"]) for minute in body["minutes"]]
    current = NOW_MS - NOW_MS % MINUTE_MS
    assert starts == [current - (29 - i) * MINUTE_MS for i in range(30)]
    assert body["visitors_now"] == 1
    assert body["pageviews_last_30m"] == sum(minute["pageviews"] for minute in body["minutes"]) == 2
    assert [page["page"] for page in body["top_pages"]] == ["/", "/pricing"]


def test_a_site_without_traffic_answers_zeros(now: None) -> None:
    surface.member_site(traffic=False)
    body = surface.expect_json_answer(surface.call(ROUTE), ROUTE)
    assert (body["visitors_now"], body["pageviews_last_30m"], body["top_pages"]) == (0, 0, [])
    assert len(body["minutes"]) == 30


def test_every_parameter_wrong_in_each_way_is_a_400_naming_it(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.refused(ROUTE, surface.parameter_cases(ROUTE)) == []


def test_cookie_then_parameters_then_membership(now: None) -> None:
    surface.member_site(traffic=False)
    assert surface.order_of_checks(ROUTE) == []
