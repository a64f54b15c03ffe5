"""ghostid.logic.tree's planner on a big site: which stored pieces cover a preset. The numbers themselves are
checked against the reference in tests/integration/test_reporting.py; this pins the shape of the plan that
keeps a late change cheap (the last complete day and hour stay out of the prefixes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ghostid.dal.state import SiteState
from ghostid.dal.tree import NodeRef
from ghostid.logic.periods import Preset, preset
from ghostid.logic.tree import Span, Tree, plan
from ghostid.timeutil import HOUR_MS, Zone, day_key, hour_key

ZONE = Zone("Europe/Berlin")
NOW = int(datetime(2026, 3, 10, 17, 30, tzinfo=UTC).timestamp() * 1000)
TODAY = ZONE.date_of(NOW)


def big_tree(dirty: dict[str, int] | None = None) -> Tree:
    """A site big for over a year, sealed up to the current hour."""
    since = NOW - 400 * 24 * HOUR_MS
    state = SiteState(big=True, since=since, until=ZONE.hour_start(NOW), dirty=dirty or {})
    return Tree(4, ZONE, state, NOW)


def refs(spans: list[Span]) -> list[NodeRef | None]:
    return [span.ref for span in spans]


DAY_PRESETS: list[Preset] = ["7d", "30d", "month", "12mo"]


@pytest.mark.parametrize("name", DAY_PRESETS)
def test_a_day_preset_is_its_prefix_then_yesterday_then_today(name: Preset) -> None:
    period = preset(name, ZONE, NOW)
    spans = plan(big_tree(), period)
    yesterday = TODAY - timedelta(days=1)
    assert spans[0].ref == NodeRef("P", name)
    assert spans[0].anchor == f"{period.first_day}..{yesterday - timedelta(days=1)}"
    assert spans[1].ref == NodeRef("D", day_key(yesterday))
    assert spans[2].ref == NodeRef("P", "today")


def test_the_24h_prefix_leaves_out_the_last_complete_hour_and_the_current_one() -> None:
    current = ZONE.hour_start(NOW)
    spans = plan(big_tree(), preset("24h", ZONE, NOW))
    assert refs(spans) == [
        NodeRef("P", "24h"),
        NodeRef("H", hour_key(current - HOUR_MS)),
        NodeRef("H", hour_key(current)),
    ]
    assert spans[0].anchor == f"{current - 23 * HOUR_MS}..{current - HOUR_MS}"


def test_a_dirty_day_inside_the_prefix_sends_the_read_to_the_nodes() -> None:
    three_days_ago = TODAY - timedelta(days=3)
    spans = plan(big_tree(dirty={f"D:{three_days_ago}": 1}), preset("7d", ZONE, NOW))
    assert NodeRef("P", "7d") not in refs(spans)
    assert NodeRef("D", day_key(TODAY - timedelta(days=2))) in refs(spans)


def test_a_dirty_last_day_keeps_the_prefix() -> None:
    yesterday = TODAY - timedelta(days=1)
    spans = plan(big_tree(dirty={f"D:{yesterday}": 1}), preset("30d", ZONE, NOW))
    assert spans[0].ref == NodeRef("P", "30d")
    assert NodeRef("D", day_key(yesterday)) not in refs(spans)  # read from its hours instead
