"""The stream consumer against DynamoDB Local: every delivery schedule ends in the reference's numbers.

Records are delivered to the real rollup handler in-process (`tests/support/lambdas.py`); duplicates,
overlaps, reversed order, crashes between writes and two consumers at once all end where an in-order
delivery ends. Small sites keep day nodes and read today's cells; big sites (here: any site, with the
threshold lowered) keep hour, week and month nodes and the prefixes: both are run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from ghostid import timeutil
from ghostid.dal import cells as cells_dal
from ghostid.dal import tree as tree_dal
from ghostid.dal import visitors as visitors_dal
from ghostid.logic import consumer, sealing
from ghostid.models.sites import Site

from tests.support import lambdas, traffic
from tests.support.scenario import (
    NOW,
    NOW_MS,
    SITE,
    assert_matches_reference,
    import_traffic,
    stored_events,
    stored_items,
)

pytestmark = pytest.mark.integration


@pytest.fixture(params=["small", "big"])
def site(
    request: pytest.FixtureRequest, local_aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    from ghostid.dal import sites as sites_dal

    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    if request.param == "big":
        monkeypatch.setattr(sealing, "BIG_DAY_EVENTS", 1)
    consumer.clear_config_cache()
    sites_dal.put_site(Site(site_id=SITE, domain="example.com"))
    yield str(request.param)
    consumer.clear_config_cache()


def events_table() -> str:
    from ghostid.settings import events_table as name

    return name()


def records(items: list[dict[str, Any]], first: int = 1) -> list[dict[str, Any]]:
    return [lambdas.stream_record(item, sequence) for sequence, item in enumerate(items, start=first)]


def batches(recs: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [recs[i : i + size] for i in range(0, len(recs), size)]


def load(seed: int, visitors: int = 20) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import_traffic(traffic.generate(NOW, seed, visitors=visitors))
    items = stored_items(events_table())
    return items, stored_events(items)


def deliver_all(items: list[dict[str, Any]], size: int = 50) -> None:
    for batch in batches(records(items), size):
        assert lambdas.deliver(batch) == {"batchItemFailures": []}


def test_in_order_batches_match_reference(site: str) -> None:
    items, events = load(seed=1)
    deliver_all(items)
    assert_matches_reference(events)


def test_shuffled_duplicated_overlapping_deliveries_count_once(site: str) -> None:
    items, events = load(seed=2)
    rng = random.Random(2)
    recs = records(items)
    schedule = [r for r in recs for _ in range(rng.randint(1, 3))]
    rng.shuffle(schedule)
    start = 0
    while start < len(schedule):
        size = rng.randint(1, 80)
        lambdas.deliver(schedule[start : start + size])
        start += max(1, size - rng.randint(0, size // 2))  # the next batch overlaps this one
    assert_matches_reference(events)


def test_hours_turning_while_history_arrives(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock moves on between batches (hours and a day turn, sealing runs), while old events keep
    arriving out of order: late events mark sealed periods dirty and they are rebuilt."""
    items, _ = load(seed=3, visitors=25)
    rng = random.Random(3)
    order = records(items)
    rng.shuffle(order)
    clock = {"now": NOW_MS - 30 * 3_600_000}
    monkeypatch.setattr(timeutil, "now_ms", lambda: clock["now"])
    for batch in batches(order, 15):
        lambdas.deliver(batch)
        clock["now"] = min(NOW_MS, clock["now"] + 2_700_000)
    clock["now"] = NOW_MS
    lambdas.deliver(order[:3])  # one more batch at NOW: seals what the last turns left
    assert_matches_reference(stored_events(items))


@pytest.mark.parametrize("failing", ["put_cell", "put_presence", "register_sessions"])
def test_crash_between_writes_then_retry(site: str, failing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    items, events = load(seed=4)
    module = {"put_cell": cells_dal, "put_presence": tree_dal, "register_sessions": visitors_dal}[failing]
    real = getattr(module, failing)
    rng = random.Random(4)
    crashes = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if rng.random() < 0.15:
            crashes["n"] += 1
            raise ConnectionError("lost the connection between two writes")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, failing, flaky)
    for batch in batches(records(items), 15):
        for _ in range(200):  # Lambda retries the whole batch until it succeeds
            try:
                assert lambdas.deliver(batch) == {"batchItemFailures": []}
                break
            except ConnectionError:
                continue
        else:
            pytest.fail("a batch never got through")
    assert crashes["n"] > 3
    monkeypatch.setattr(module, failing, real)
    assert_matches_reference(events)


def test_poison_record_is_reported_and_does_not_block_the_rest(site: str) -> None:
    items, events = load(seed=6, visitors=8)
    recs = records(items)
    poison = lambdas.stream_record(
        {"pk": {"S": "4#gs_x"}, "sk": {"S": "bad"}, "type": {"S": "pageview"}}, 999_999
    )
    response = lambdas.deliver([*recs[:5], poison, *recs[5:]])
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert_matches_reference(events)


def test_ttl_removals_and_rewrites_never_move_rollups(site: str) -> None:
    items, events = load(seed=7, visitors=10)
    deliver_all(items)
    before = [i for i in stored_items(rollups()) if i["sk"]["S"] != "state"]
    removals = [lambdas.stream_record(i, 10_000 + n, "REMOVE") for n, i in enumerate(items)]
    rewrites = [lambdas.stream_record(i, 20_000 + n, "MODIFY") for n, i in enumerate(items)]
    assert lambdas.deliver(removals + rewrites) == {"batchItemFailures": []}
    assert [i for i in stored_items(rollups()) if i["sk"]["S"] != "state"] == before
    assert_matches_reference(events)


def rollups() -> str:
    from ghostid.settings import rollups_table

    return rollups_table()


def test_events_arriving_in_reverse_order_give_the_same_answer(site: str) -> None:
    items, events = load(seed=8, visitors=10)
    for record in reversed(records(items)):
        lambdas.deliver([record])
    assert_matches_reference(events)


def test_the_shipped_stream_event_folds_into_the_reference_numbers(site: str) -> None:
    """`events/rollup_stream.json` (what `sam local invoke RollupFunction -e` takes), stored and delivered."""
    batch = lambdas.event_file("rollup_stream.json")
    for record in batch["Records"]:
        boto3.client("dynamodb").put_item(TableName=events_table(), Item=record["dynamodb"]["NewImage"])
    assert lambdas.deliver(batch["Records"]) == {"batchItemFailures": []}
    assert lambdas.deliver(batch["Records"]) == {"batchItemFailures": []}  # a redelivery changes nothing
    assert_matches_reference(stored_events(stored_items(events_table())))


def test_a_redelivery_changes_no_rollup(site: str) -> None:
    """Folding current sessions again rewrites some items (cells, rebuilt nodes: a retry must redo what a
    crash may have cut short) with the same content, and changes nothing they count."""
    items, events = load(seed=10, visitors=12)
    deliver_all(items)
    seal_everything()
    before = {(i["pk"]["S"], i["sk"]["S"]): counted(i) for i in stored_items(rollups())}
    deliver_all(items)
    seal_everything()
    after = {(i["pk"]["S"], i["sk"]["S"]): counted(i) for i in stored_items(rollups())}
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert {sk for _, sk in changed} <= {"state"}
    assert_matches_reference(events)


def seal_everything() -> None:
    """Runs the sealer until nothing is dirty (a run rebuilds a bounded number of periods)."""
    from ghostid.dal import state as state_dal
    from ghostid.timeutil import Zone

    for _ in range(50):
        if not sealing.needs_sealing(state_dal.get_state(SITE), Zone("UTC"), NOW_MS):
            return
        sealing.seal(SITE, Zone("UTC"), NOW_MS)
    pytest.fail("dirty periods kept coming back")


def counted(item: dict[str, Any]) -> dict[str, Any]:
    """An item without the generation it was built at."""
    return {name: value for name, value in item.items() if name != "g"}


def test_session_ids_that_extend_each_other_keep_their_own_cells(site: str) -> None:
    start = NOW.replace(minute=0, second=0, microsecond=0)
    sessions = ["gs", "gs#1", "gs#1#7", "gs#17", "gs#1#"]
    import_traffic(
        [
            {
                "session_id": session,
                "ghost_vid": "gv_shared",
                "type": "pageview" if n % 3 else "custom_event",
                "event_name": "cta_clicked",
                "page": ["/", "/pricing", "/docs"][n % 3],
                "timestamp": (start - timedelta(hours=7 * s + n, minutes=n))
                .isoformat()
                .replace("+00:00", "Z"),
                "event_id": f"e{s}_{n}",
                "country": "Canada",
            }
            for s, session in enumerate(sessions)
            for n in range(s + 2)
        ]
    )
    items = stored_items(events_table())
    rng = random.Random(11)
    for _ in range(2):  # each session alone, in any order, twice
        for session in rng.sample(sessions, len(sessions)):
            lambdas.deliver(records([i for i in items if i["session_id"]["S"] == session]))
    assert_matches_reference(stored_events(items))


def test_a_visitor_made_hot_by_two_consumers_at_once_is_counted(
    site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each session alone scores 20 (< 30), both 40. Consumer B folds session 2 entirely between consumer
    A's cell writes and A's read of the visitor: A's read sees both sessions, so A makes it hot."""
    start = NOW.replace(minute=0, second=0, microsecond=0)
    import_traffic(
        [
            {
                "session_id": f"gs_{s}",
                "ghost_vid": "gv_two",
                "type": "pageview",
                "page": "/pricing",
                "timestamp": (start - timedelta(days=s - 1, hours=1, minutes=n))
                .isoformat()
                .replace("+00:00", "Z"),
                "event_id": f"e{s}_{n}",
            }
            for s in (1, 2)
            for n in (1, 2)
        ]
    )
    events = stored_events(stored_items(events_table()))
    real = visitors_dal.get_index
    nested = {"done": False}

    def b_first(site_id: int, visitor: str, consistent: bool = True) -> Any:
        if not nested["done"]:
            nested["done"] = True
            consumer.fold_batch(site_id, {"gs_2"}, [], NOW_MS)  # consumer B, all of it
        return real(site_id, visitor, consistent)

    monkeypatch.setattr(visitors_dal, "get_index", b_first)
    consumer.fold_batch(SITE, {"gs_1"}, [], NOW_MS)  # consumer A
    assert nested["done"]
    assert_matches_reference(events)  # one hot lead in every range


def test_a_day_changed_past_midnight_waits_for_the_next_hour_turn(
    local_aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big site's session going on past midnight changes yesterday's last hour batch after batch: the
    hour node is rebuilt each time, the day node once, at the next hour turn. Meanwhile the day is marked
    dirty (readers read its hours) and every answer equals the reference."""
    from ghostid.dal import sites as sites_dal
    from ghostid.dal import state as state_dal
    from ghostid.logic import stats
    from ghostid.models.api import StatsQuery
    from ghostid.timeutil import Zone

    from tests.support import reference

    monkeypatch.setattr(sealing, "BIG_DAY_EVENTS", 1)
    consumer.clear_config_cache()
    sites_dal.put_site(Site(site_id=SITE, domain="example.com"))
    midnight = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = (midnight - timedelta(days=1)).date()
    clock = {"now": 0}
    monkeypatch.setattr(timeutil, "now_ms", lambda: clock["now"])
    delivered: set[str] = set()

    def arrive(at: timedelta, *events: tuple[str, timedelta, str]) -> list[dict[str, Any]]:
        """Stores `(session, time after midnight, page)` events, then delivers them at midnight + `at`."""
        import_traffic(
            [
                {
                    "session_id": session,
                    "ghost_vid": f"gv_{session}",
                    "type": "pageview",
                    "page": page,
                    "timestamp": (midnight + moment).isoformat().replace("+00:00", "Z"),
                    "event_id": f"e_{session}_{int(moment.total_seconds())}",
                }
                for session, moment, page in events
            ]
        )
        items = stored_items(events_table())
        fresh = [i for i in items if i["sk"]["S"] not in delivered]
        delivered.update(i["sk"]["S"] for i in fresh)
        clock["now"] = int((midnight + at).timestamp() * 1000)
        assert lambdas.deliver(records(fresh)) == {"batchItemFailures": []}
        return stored_events(items)

    def day_node() -> list[dict[str, Any]]:
        return [
            counted(i)
            for i in stored_items(rollups())
            if i["pk"]["S"] == f"{SITE}#N#D" and f"#{yesterday.isoformat()}" in i["sk"]["S"]
        ]

    def assert_answers(events: list[dict[str, Any]]) -> None:
        now = datetime.fromtimestamp(clock["now"] / 1000, UTC)
        for preset in ("24h", "yesterday", "7d", "30d"):
            query = StatsQuery.model_validate({"siteId": str(SITE), "timeRange": preset})
            got = stats.site_stats(query, clock["now"]).model_dump(mode="json")
            reference.assert_close(got, reference.stats(events, now, preset), preset)

    # A day before: the site is big from yesterday on (yesterday is built from hour nodes).
    arrive(timedelta(days=-1, minutes=-5), ("gs_first", timedelta(days=-1, minutes=-30), "/"))
    hours = [(f"gs_bg{h}", timedelta(hours=h - 24, minutes=7), f"/h{h}") for h in range(0, 24, 3)]
    arrive(timedelta(minutes=-5), *hours, ("gs_x", timedelta(minutes=-10), "/a"))
    arrive(timedelta(minutes=1), ("gs_today", timedelta(seconds=30), "/t"))  # the day turns: sealed
    sealed_day = day_node()
    assert sealed_day and state_dal.get_state(SITE).dirty == {}

    waiting = f"D:{yesterday.isoformat()}"
    for minute, page in ((5, "/b"), (20, "/c")):
        events = arrive(timedelta(minutes=minute + 1), ("gs_x", timedelta(minutes=minute), page))
        state = state_dal.get_state(SITE)
        assert set(state.dirty) == {waiting}  # the hour rebuilt, the day waits
        assert not sealing.needs_sealing(state, Zone("UTC"), clock["now"])
        assert day_node() == sealed_day
        assert_answers(events)

    # A second deferral at the same generation (two sealers at once) marks the day anew, so a turn run
    # that read the first mark cannot remove the second when it settles.
    last_hour = int((midnight - timedelta(hours=1)).timestamp() * 1000)
    state_dal.mark_dirty(SITE, {f"H:{last_hour}"}, state.gen)
    sealing.seal(SITE, Zone("UTC"), clock["now"])
    again = state_dal.get_state(SITE)
    assert set(again.dirty) == {waiting} and again.dirty[waiting] != state.dirty[waiting]
    events = arrive(timedelta(minutes=61), ("gs_later", timedelta(minutes=60, seconds=30), "/l"))
    assert state_dal.get_state(SITE).dirty == {}
    assert day_node() != sealed_day  # rebuilt at the hour turn, with the session's new exit page
    assert_answers(events)
