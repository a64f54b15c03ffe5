"""The realtime item (logic/live.py, dal/realtime.py): late events count in their own minute, replays never
count twice, and the item reads back what was written (and an item of the first layout without failing)."""

from __future__ import annotations

from typing import Any

import pytest
from ghostid.dal import realtime as live_dal
from ghostid.dal.packing import pack
from ghostid.logic import live
from ghostid.logic.realtime import site_realtime
from ghostid.models.rollups import EventFacts

NOW = 1_773_160_000_000 - 1_773_160_000_000 % 60_000 + 30_000  # half past a minute
MINUTE = 60_000


def event(number: int, minutes_ago: float, visitor: str = "gv_a", kind: str = "pageview") -> EventFacts:
    return EventFacts(
        event_id=f"e{number}", ts=int(NOW - minutes_ago * MINUTE), type=kind, page="/p", ghost_vid=visitor
    )


def counts(state: live_dal.Live, minutes_ago: int) -> tuple[int, int]:
    """(pageviews, visitors) of the minute `minutes_ago` before the current one, as the route reads them."""
    body = site_realtime_of(state)
    minute = body["minutes"][29 - minutes_ago]
    return minute["pageviews"], minute["visitors"]


def site_realtime_of(state: live_dal.Live) -> dict[str, Any]:
    live_dal.put_live_unconditionally(4, state)
    return site_realtime(4, NOW).model_dump(mode="json")


@pytest.mark.usefixtures("aws")
def test_an_event_stored_twenty_minutes_late_counts_in_its_minute_once() -> None:
    state = live_dal.Live()
    late = [
        ("gs_1", event(1, 20)),
        ("gs_1", event(2, 20, "gv_b")),
        ("gs_1", event(3, 20, kind="custom_event")),
    ]
    assert live.add_events(state, late, NOW)
    assert not live.add_events(state, late, NOW)  # the same records again
    assert counts(state, 20) == (2, 2)
    assert site_realtime_of(state)["pageviews_last_30m"] == 2


@pytest.mark.usefixtures("aws")
def test_an_event_counted_live_and_replayed_after_its_minute_froze_counts_once() -> None:
    state = live_dal.Live()
    fresh = [("gs_1", event(1, 10)), ("gs_2", event(2, 10, "gv_b"))]
    live.add_events(state, fresh, NOW - 10 * MINUTE)  # folded when it happened
    live.add_events(state, [], NOW)  # ten minutes later its minute is frozen
    assert live.add_events(state, fresh, NOW) is False  # a redelivery of the old batch
    assert counts(state, 10) == (2, 2)


@pytest.mark.usefixtures("aws")
def test_events_older_than_the_half_hour_are_left_out() -> None:
    state = live_dal.Live()
    assert not live.add_events(state, [("gs_1", event(1, 31))], NOW)
    assert site_realtime_of(state)["pageviews_last_30m"] == 0


@pytest.mark.usefixtures("aws")
def test_the_item_reads_back_what_was_written() -> None:
    state = live_dal.Live()
    live.add_events(state, [("gs_1", event(n, n % 30, f"gv_{n % 7}")) for n in range(200)], NOW)
    live_dal.put_live_unconditionally(4, state)
    assert live_dal.get_live(4)[0] == state


@pytest.mark.usefixtures("aws")
def test_an_item_of_the_first_layout_is_read_without_its_frozen_minutes() -> None:
    from ghostid.dal.client import dynamodb
    from ghostid.settings import rollups_table

    minute = NOW - NOW % MINUTE
    old = pack([[[minute, [[7, 9, 1, "/p"]]]], [[minute - 10 * MINUTE, 5, 3]]], [])
    item: dict[str, Any] = {"pk": {"S": "4#R"}, "sk": {"S": "rt"}, "b": {"B": old}, "n": {"N": "3"}}
    dynamodb().put_item(TableName=rollups_table(), Item=item)
    state, version = live_dal.get_live(4)
    assert (version, list(state.minutes), state.frozen) == (3, [minute], {})
