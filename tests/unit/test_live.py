"""The realtime item (logic/live.py, dal/realtime.py): late events count in their own minute, replays never
count twice (through the consumer too, across a crash between its writes), and the items read back what
was written (and items of the earlier layouts)."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from ghostid.dal import realtime as live_dal
from ghostid.dal.packing import pack
from ghostid.logic import consumer, live
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


def stored_counts(minutes_ago: int) -> tuple[int, int]:
    minute = site_realtime(4, NOW).model_dump(mode="json")["minutes"][29 - minutes_ago]
    return minute["pageviews"], minute["visitors"]


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
def test_the_items_read_back_what_was_written() -> None:
    """The route's item holds the live minutes, the older minutes' counts and the quiet ones' events; each
    busy minute's events are in an item of their own."""
    state = live_dal.Live()
    events = [("gs_1", event(n, n % 30, f"gv_{n % 7}")) for n in range(200)]
    events += [("gs_2", event(1000 + n, 7 + n % 3, f"gv_{n}")) for n in range(60)]
    live.add_events(state, events, NOW)
    live_dal.put_live_unconditionally(4, state)
    read, _ = live_dal.get_live(4)
    busy = state.busy()
    assert busy.keys() == {live.minute_of(NOW) - m * MINUTE for m in (7, 8, 9)}
    assert (read.minutes, read.counts) == (state.minutes, state.counts)
    assert read.frozen == {m: e for m, e in state.frozen.items() if m not in busy} and len(read.frozen) == 21
    assert all(live_dal.get_minute(4, m).events == events for m, events in busy.items())


@pytest.mark.usefixtures("aws")
def test_an_item_of_the_first_layout_is_read_with_its_older_minutes_counts() -> None:
    from ghostid.dal.client import dynamodb
    from ghostid.settings import rollups_table

    minute = NOW - NOW % MINUTE
    old = pack([[[minute, [[7, 9, 1, "/p"]]]], [[minute - 10 * MINUTE, 5, 3]]], [])
    item: dict[str, Any] = {"pk": {"S": "4#R"}, "sk": {"S": "rt"}, "b": {"B": old}, "n": {"N": "3"}}
    dynamodb().put_item(TableName=rollups_table(), Item=item)
    state, version = live_dal.get_live(4)
    assert (version, list(state.minutes), state.counts) == (3, [minute], {minute - 10 * MINUTE: (5, 3)})


# --- through the consumer: the route's item and the minute items it keeps ------------------------------


def fold(events: list[tuple[str, EventFacts]], now: int = NOW) -> None:
    consumer.fold_batch(4, [], events, now)


def test_a_late_event_replayed_and_retried_after_a_crash_counts_once(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Minute 12 ago is busy (its events go to their own item), minute 20 ago quiet (kept in the route's)."""
    busy = [(f"gs_{n}", event(n, 12, f"gv_{n % 10}")) for n in range(live_dal.INLINE_EVENTS + 4)]
    fold(busy, NOW - 12 * MINUTE)  # live then, older now
    late = [("gs_x", event(100, 12, "gv_b")), ("gs_y", event(101, 20, "gv_c", kind="custom_event"))]
    crashes = iter([True])

    def put_live_once_crashing(*args: Any) -> bool:
        if next(crashes, False):
            raise RuntimeError("the Lambda died after writing the minute items")
        return original(*args)

    original = live_dal.put_live
    monkeypatch.setattr(live_dal, "put_live", put_live_once_crashing)
    with pytest.raises(RuntimeError, match="died after"):
        fold(late)
    fold(late)  # the retry: the events are in their minute's item already
    fold(late + busy[:3])  # a replay
    assert (stored_counts(12), stored_counts(20)) == ((len(busy) + 1, 11), (0, 1))
    minute = live.minute_of(NOW)
    assert len(live_dal.get_minute(4, minute - 12 * MINUTE).events) == len(busy) + 1
    assert get_state().frozen.keys() == {minute - 20 * MINUTE}


def test_a_second_layout_item_moves_its_busy_minutes_out_on_the_next_fold(aws: None) -> None:
    from ghostid.dal.client import dynamodb
    from ghostid.settings import rollups_table

    quiet, busy = (NOW - NOW % MINUTE - m * MINUTE for m in (8, 10))
    hashed = live.event_hash("gs_1", "e1") & live.HASH_32
    many = [hashed, *list(range(1, live_dal.INLINE_EVENTS + 1))]
    blobs = [b"".join(struct.pack("<IIB", h, 9, 1) for h in many), struct.pack("<IIB", 5, 9, 0)]
    old = pack([[], [[busy, 0], [quiet, 1]], 2], blobs)
    item: dict[str, Any] = {"pk": {"S": "4#R"}, "sk": {"S": "rt"}, "b": {"B": old}, "n": {"N": "3"}}
    dynamodb().put_item(TableName=rollups_table(), Item=item)
    assert (stored_counts(10), stored_counts(8)) == ((len(many), 1), (0, 1))
    fold([("gs_1", event(1, 10))])  # a replay of one of its events
    assert (stored_counts(10), stored_counts(8)) == ((len(many), 1), (0, 1))
    assert get_state().frozen.keys() == {quiet}
    assert set(live_dal.get_minute(4, busy).events) == set(many)


def get_state() -> live_dal.Live:
    return live_dal.get_live(4, consistent=True)[0]


def test_a_fold_freezing_a_minute_a_crashed_fold_stored_keeps_what_it_stored(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = [(f"gs_{n}", event(n, 12, f"gv_{n % 10}")) for n in range(live_dal.INLINE_EVENTS + 4)]
    fold(busy, NOW - 12 * MINUTE)
    late = [("gs_x", event(100, 12, "gv_b"))]
    original = live_dal.put_live
    monkeypatch.setattr(live_dal, "put_live", lambda *args: (_ for _ in ()).throw(RuntimeError("died")))
    with pytest.raises(RuntimeError, match="died"):
        fold(late)  # its minute's item is written, the route's is not
    monkeypatch.setattr(live_dal, "put_live", original)
    fold([("gs_z", event(200, 0, "gv_z"))])  # another batch freezes the minute first
    assert stored_counts(12) == (len(busy) + 1, 11)
    fold(late)  # the retry
    assert stored_counts(12) == (len(busy) + 1, 11)


def test_a_quiet_minute_freezes_without_reading_a_minute_item(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fold([("gs_1", event(1, 12)), ("gs_2", event(2, 12, "gv_b"))], NOW - 12 * MINUTE)
    read: list[int] = []
    original = live_dal.get_minute

    def get_minute(site_id: int, minute: int) -> live_dal.StoredMinute:
        read.append(minute)
        return original(site_id, minute)

    monkeypatch.setattr(live_dal, "get_minute", get_minute)
    fold([("gs_3", event(3, 0, "gv_c"))])
    assert (read, stored_counts(12)) == ([], (2, 2))
    fold([("gs_4", event(4, 20, "gv_d"))])  # stored late, in a minute the route's item has no events of
    assert (len(read), stored_counts(20)) == (1, (1, 1))


def test_a_fold_whose_clock_is_behind_leaves_a_later_minutes_item_alone(aws: None) -> None:
    """Slots are reused every half hour: minute 36 ago (for a fold seven minutes behind, still in its half
    hour) shares its slot with minute 6 ago, which stays as stored."""
    recent = [(f"gs_{n}", event(n, 6, f"gv_{n}")) for n in range(live_dal.INLINE_EVENTS + 4)]
    fold(recent, NOW - 6 * MINUTE)
    fold([])  # minute 6 ago freezes into its item
    minute = live.minute_of(NOW) - 6 * MINUTE
    assert len(live_dal.get_minute(4, minute).events) == len(recent)
    old = [(f"gs_o{n}", event(500 + n, 36, f"gv_o{n}")) for n in range(live_dal.INLINE_EVENTS + 4)]
    fold(old, NOW - 7 * MINUTE)
    assert len(live_dal.get_minute(4, minute).events) == len(recent)
    assert stored_counts(6) == (len(recent), len(recent))


def test_an_event_in_a_minute_a_fold_with_a_later_clock_froze_counts_there(aws: None) -> None:
    fold([("gs_1", event(1, 6)), ("gs_2", event(2, 6, "gv_b"))], NOW - 6 * MINUTE)
    fold([])  # frozen (a quiet minute: kept in the route's item)
    fold([("gs_3", event(3, 6, "gv_c"))], NOW - MINUTE)  # this fold's clock still has it live
    assert stored_counts(6) == (3, 3)
