"""ghostid.logic.tree's planner on a big site: which stored pieces cover a preset. The numbers themselves are
checked against the reference in tests/integration/test_reporting.py; this pins the shape of the plan that
keeps a late change cheap (the last complete day and hour stay out of the prefixes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ghostid.dal import tree as tree_dal
from ghostid.dal.client import batch_get
from ghostid.dal.state import SiteState
from ghostid.dal.tree import NodeRef
from ghostid.logic.periods import Preset, preset
from ghostid.logic.tree import Span, Tree, plan
from ghostid.models.rollups import Aggregate
from ghostid.settings import rollups_table
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


# --- reading nodes: a prefix's payload continued past one item ------------------------------------------


def source_aggregate(values: int) -> Aggregate:
    aggregate = Aggregate()
    aggregate.rows["source"] = {f"site-{i}.example": [i, i, i] for i in range(values)}
    return aggregate


@pytest.mark.usefixtures("aws")
def test_a_prefix_continued_in_a_second_item_is_read_in_one_request(
    calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = NodeRef("P", "30d")
    big = source_aggregate(3_000)
    monkeypatch.setattr(tree_dal, "ITEM_LIMIT", len(tree_dal.encode_family(big, "source")) // 2 + 1)
    items = tree_dal.node_items(4, ref, big, ["source"])
    assert [item["sk"]["S"] for item in items] == ["source#30d", "source#30d#1"]
    tree_dal.put_nodes(items)
    calls.clear()
    read = tree_dal.read_tree(4, [(ref, ["source"])])
    assert calls == ["BatchGetItem"]
    assert read.nodes[ref].aggregate.rows["source"] == big.rows["source"]


@pytest.mark.usefixtures("aws")
def test_a_prefix_that_shrank_to_one_item_empties_its_old_continuation() -> None:
    ref = NodeRef("P", "30d")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tree_dal, "ITEM_LIMIT", 1_000)
        tree_dal.put_nodes(tree_dal.node_items(4, ref, source_aggregate(3_000), ["source"]))
    small = source_aggregate(3)
    tree_dal.put_nodes(tree_dal.node_items(4, ref, small, ["source"]))
    found = batch_get(rollups_table(), [("4#N#P", "source#30d#1")])
    assert found[("4#N#P", "source#30d#1")].keys() == {"pk", "sk"}
    assert (
        tree_dal.read_tree(4, [(ref, ["source"])]).nodes[ref].aggregate.rows["source"] == small.rows["source"]
    )
