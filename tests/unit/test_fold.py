"""The pure fold: cells from events, deltas, and item sizes at the scale the issue names."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from ghostid.dal.codec import item_size
from ghostid.dal.rollups import _cell_action, _delta_actions, pack_transactions
from ghostid.logic import sketches
from ghostid.logic.fold import MAX_CELL_PAGES, Cell, Deltas, EventFacts, never_decrease, session_cells
from ghostid.models.rollups import CellChange, StoredCell
from ghostid.models.sites import LeadRules

H = 3_600_000
RULES = LeadRules()
LIMIT = 400 * 1024
LARGE_SITE_SHARDS = {"H": 16, "D": 64}  # PAGE_SHARDS="16,64", for sites past ~10,000 pages a day


@pytest.fixture(autouse=True)
def table_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from ghostid import settings

    monkeypatch.setenv("ROLLUPS_TABLE", "RollupsTable")
    settings.clear_cache()


def fact(
    ts: int,
    eid: str,
    kind: str = "pageview",
    page: str = "/",
    vid: str = "gv_1",
    user: str | None = None,
    country: str = "Canada",
) -> EventFacts:
    return EventFacts(eid, ts, kind, page, vid, user, country)


def item_after(action: dict[str, Any]) -> dict[str, Any]:
    """The item an ADD-only update leaves behind when it creates the item."""
    update = action["Update"]
    item = dict(update["Key"])
    for placeholder, name in update["ExpressionAttributeNames"].items():
        item[name] = update["ExpressionAttributeValues"][":" + placeholder[1:]]
    return item


def test_cells_split_by_hour_and_flag_the_first_event() -> None:
    events = [
        fact(10 * H + 5, "b"),
        fact(10 * H + 5, "a", "custom_event"),
        fact(11 * H, "c", page="/pricing"),
    ]
    cells = session_cells(reversed(events), RULES)
    assert sorted(cells) == ["10#gv_1", "11#gv_1"]
    first, second = cells["10#gv_1"], cells["11#gv_1"]
    assert (first.events, first.pageviews, first.custom, first.first) == (2, 1, 1, 1)
    assert (second.pageviews, second.high_intent, second.first) == (1, 1, 0)


def test_latest_user_id_wins_by_time_then_event_id() -> None:
    cells = session_cells(
        [fact(H, "z", user="old"), fact(2 * H - 1, "a", user="new"), fact(2 * H - 1, "0", user="x")], RULES
    )
    assert cells["1#gv_1"].identity is not None
    assert cells["1#gv_1"].identity[1] == "new"


def test_high_intent_pages_match_themselves_and_below_only() -> None:
    assert RULES.is_high_intent("/demo/book")
    assert RULES.is_high_intent("/pricing")
    assert not RULES.is_high_intent("/pricing-old")
    assert not RULES.is_high_intent("/blog/pricing")


def test_cell_round_trips_through_its_encoding() -> None:
    cell = session_cells([fact(H, "a", page="/ü"), fact(H + 1, "b", user="u")], RULES)["1#gv_1"]
    decoded = Cell.decode(cell.key, cell.encode())
    assert decoded == cell


def test_deltas_of_a_growing_session_sum_to_its_full_contribution() -> None:
    rng = random.Random(1)
    events = [
        fact(
            rng.randint(0, 5 * H),
            f"e{i}",
            rng.choice(["pageview", "custom_event"]),
            rng.choice(["/", "/a", "/pricing"]),
        )
        for i in range(60)
    ]
    stored: dict[str, Cell] = {}
    applied = Deltas()
    for size in (5, 20, 21, 60, 60):  # events arrive in any order; recompute from what is stored so far
        for key, cell in session_cells(rng.sample(events[:size], size), RULES).items():
            merged = never_decrease(stored.get(key), cell)
            applied.add_cell_change(stored.get(key), merged)
            stored[key] = merged
    totals = Counter[str]()
    for counter in (c for (granularity, _), c in applied.counters.items() if granularity == "D"):
        totals.update(counter)
    assert totals["ev"] == 60
    assert totals["se"] == 1
    assert totals["pv"] == sum(1 for e in events if e.type == "pageview")
    views = Counter[str]()
    for (granularity, _, _), pages in applied.pages.items():
        if granularity == "H":
            views.update(pages)
    assert views == Counter(e.page for e in events if e.type == "pageview")


def test_never_decrease_ignores_lost_events_but_moves_the_first_flag() -> None:
    old = session_cells([fact(H, "a"), fact(H + 1, "b")], RULES)["1#gv_1"]
    shrunk = session_cells([fact(H + 1, "b")], RULES)["1#gv_1"]
    merged = never_decrease(old, shrunk)
    assert (merged.events, merged.pageviews) == (2, 2)


def test_largest_items_stay_far_below_400_kb_for_a_huge_site() -> None:
    """A day of a site with 100,000 distinct pages and 1,000,000 visitors, on the fold itself."""
    rng = random.Random(7)
    pages = [f"/docs/{rng.getrandbits(64):016x}/{n}/section-{rng.randint(0, 999)}" for n in range(100_000)]
    day = Deltas(page_shards=LARGE_SITE_SHARDS)
    for n, page in enumerate(pages):  # every page viewed, by sessions spread over the 24 hours
        cell = session_cells([fact((n % 24) * H, f"e{n}", page=page, vid=f"gv_{n}")], RULES)
        for new in cell.values():
            new.pageviews = new.events = new.pages[next(iter(new.pages))] = rng.randint(1, 10_000_000)
            day.add_cell_change(None, new)
    largest = max(item_size(item_after(action)) for action in _delta_actions(4, day))
    assert largest < 100 * 1024, largest  # names and values of the fullest page shard (an upper bound)

    visitors = sketches.of(f"gv_{n:07d}_{n * 7919:08x}" for n in range(1_000_000))
    assert len(visitors) < 9 * 1024
    assert abs(sketches.union_estimate([visitors]) - 1_000_000) / 1_000_000 < 0.02

    crawler = session_cells([fact(H + n, f"c{n}", page=p) for n, p in enumerate(pages[:20_000])], RULES)
    crawler_cell = next(iter(crawler.values()))
    assert len(crawler_cell.pages) == MAX_CELL_PAGES
    put = _cell_action(4, CellChange("gs_crawler", None, crawler_cell))["Put"]["Item"]
    assert item_size(put) < 100 * 1024


def test_transactions_never_exceed_100_items() -> None:
    rng = random.Random(3)
    changes = []
    for s in range(40):
        events = [
            fact(rng.randint(0, 48 * H), f"e{s}_{i}", page=f"/p{rng.randint(0, 500)}", vid=f"v{s}")
            for i in range(50)
        ]
        changes += [CellChange(f"gs_{s}", None, c) for c in session_cells(events, RULES).values()]
    groups = pack_transactions(4, changes)
    assert sum(len(g) for g in groups) == len(changes)
    for group in groups:
        deltas = Deltas()
        for change in group:
            deltas.add_cell_change(None, change.new)
        assert len(group) + len(_delta_actions(4, deltas.compact())) <= 100


def test_stored_cell_versions_guard_the_replace() -> None:
    cell = session_cells([fact(H, "a")], RULES)["1#gv_1"]
    first = _cell_action(4, CellChange("gs", None, cell))["Put"]
    again = _cell_action(4, CellChange("gs", StoredCell("gs", cell, 3), cell))["Put"]
    assert first["ConditionExpression"] == "attribute_not_exists(pk)"
    assert again["ExpressionAttributeValues"] == {":v": {"N": "3"}}
    assert again["Item"]["v"] == {"N": "4"}


def test_default_page_shards_hold_ten_thousand_pages_a_day() -> None:
    day = Deltas()
    for n in range(10_000):
        page = f"/blog/{n:05d}-a-fairly-long-article-slug-about-analytics"
        for cell in session_cells([fact((n % 24) * H, f"e{n}", page=page, vid=f"gv_{n}")], RULES).values():
            cell.pageviews = cell.events = cell.pages[next(iter(cell.pages))] = 1_000_000
            day.add_cell_change(None, cell)
    assert max(item_size(item_after(action)) for action in _delta_actions(4, day)) < 150 * 1024
