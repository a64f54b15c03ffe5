"""The stream consumer against moto: every delivery schedule ends in the reference's numbers."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.dal import rollups as rollups_dal

from tests.support import lambdas, traffic
from tests.support.scenario import (
    NOW,
    NOW_MS,
    assert_matches_reference,
    import_traffic,
    stored_events,
    stored_items,
)

pytestmark = pytest.mark.usefixtures("aws", "frozen_now")


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)


def records(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [lambdas.stream_record(item, sequence) for sequence, item in enumerate(items, start=1)]


def batches(recs: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [recs[i : i + size] for i in range(0, len(recs), size)]


def load(seed: int, visitors: int = 30) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import_traffic(traffic.generate(NOW, seed, visitors=visitors))
    items = stored_items()
    return items, stored_events(items)


def test_in_order_batches_match_reference() -> None:
    items, events = load(seed=1)
    for batch in batches(records(items), 100):
        assert lambdas.deliver(batch) == {"batchItemFailures": []}
    assert_matches_reference(events)


@pytest.mark.parametrize("seed", [2, 3])
def test_shuffled_duplicated_overlapping_deliveries_count_once(seed: int) -> None:
    items, events = load(seed)
    rng = random.Random(seed)
    recs = records(items)
    schedule = [r for r in recs for _ in range(rng.randint(1, 3))]
    rng.shuffle(schedule)
    start = 0
    while start < len(schedule):
        size = rng.randint(1, 120)
        lambdas.deliver(schedule[start : start + size])
        start += max(1, size - rng.randint(0, size // 2))  # the next batch overlaps this one
    assert_matches_reference(events)


def test_crash_midway_through_transactions_then_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    items, events = load(seed=4)
    real = rollups_dal.apply_cell_changes
    calls = {"n": 0}

    def flaky(site_id: int, changes: Any) -> None:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise ConnectionError("lost the connection after some transactions")
        real(site_id, changes)

    monkeypatch.setattr(rollups_dal, "apply_cell_changes", flaky)
    for batch in batches(records(items), 60):
        for _ in range(20):  # Lambda retries the whole batch until it succeeds
            try:
                lambdas.deliver(batch)
                break
            except ConnectionError:
                continue
    assert calls["n"] > 3
    assert_matches_reference(events)


def test_crash_midway_through_sketch_writes_then_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    items, events = load(seed=5)
    real = rollups_dal._put_versioned
    calls = {"n": 0}

    def flaky(item: dict[str, Any], version: int) -> bool:
        calls["n"] += 1
        if calls["n"] % 7 == 0:
            raise ConnectionError("crashed between sketch writes")
        return real(item, version)

    monkeypatch.setattr(rollups_dal, "_put_versioned", flaky)
    for batch in batches(records(items), 80):
        for _ in range(50):
            try:
                lambdas.deliver(batch)
                break
            except ConnectionError:
                continue
    assert_matches_reference(events)


def test_poison_record_is_reported_and_does_not_block_the_rest() -> None:
    items, events = load(seed=6, visitors=8)
    recs = records(items)
    poison = lambdas.stream_record(
        {"pk": {"S": "4#gs_x"}, "sk": {"S": "bad"}, "type": {"S": "pageview"}}, 999_999
    )
    response = lambdas.deliver([*recs[:5], poison, *recs[5:]])
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert_matches_reference(events)


def test_ttl_removals_and_rewrites_never_move_rollups() -> None:
    items, events = load(seed=7, visitors=10)
    lambdas.deliver(records(items))
    before = stored_items("RollupsTable")
    removals = [lambdas.stream_record(i, 10_000 + n, "REMOVE") for n, i in enumerate(items)]
    rewrites = [lambdas.stream_record(i, 20_000 + n, "MODIFY") for n, i in enumerate(items)]
    assert lambdas.deliver(removals + rewrites) == {"batchItemFailures": []}
    assert stored_items("RollupsTable") == before
    assert_matches_reference(events)


def test_events_arriving_in_reverse_order_give_the_same_answer() -> None:
    items, events = load(seed=8)
    for record in reversed(records(items)):
        lambdas.deliver([record])
    assert_matches_reference(events)


def test_sketch_packs_that_outgrow_their_item_split_without_losing_anyone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ghostid.logic import consumer

    monkeypatch.setattr(consumer, "PACK_LIMIT", 120)  # a few visitors already overflow a pack
    items, events = load(seed=9)
    for batch in batches(records(items), 40):
        lambdas.deliver(batch)
    buckets = [i for i in stored_items("RollupsTable") if i["pk"]["S"].endswith(("#H", "#D"))]
    kinds = {item["sk"]["S"].split("#", 1)[1] for item in buckets}
    assert "s" in kinds  # packs exist (split ones stay as markers)
    assert "u#v" in kinds  # and so do per-sketch items of split buckets
    assert_matches_reference(events)


def test_the_shipped_stream_event_folds_into_the_reference_numbers() -> None:
    """`events/rollup_stream.json` (what `sam local invoke RollupFunction -e` takes), stored and delivered."""
    import boto3

    batch = lambdas.event_file("rollup_stream.json")
    for record in batch["Records"]:
        boto3.client("dynamodb").put_item(TableName="EventsTable", Item=record["dynamodb"]["NewImage"])
    assert lambdas.deliver(batch["Records"]) == {"batchItemFailures": []}
    assert lambdas.deliver(batch["Records"]) == {"batchItemFailures": []}  # a redelivery changes nothing
    assert_matches_reference(stored_events(stored_items()))


def test_a_redelivery_writes_nothing() -> None:
    """Everything the consumer writes is a change: folding current sessions again is reads only."""
    from ghostid.dal import client
    from ghostid.logic import consumer
    from ghostid.models.sites import LeadRules

    items, events = load(seed=10, visitors=12)
    for batch in batches(records(items), 50):
        lambdas.deliver(batch)
    writes: list[str] = []

    def count(model: Any, **_: Any) -> None:
        if model.name in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
            writes.append(model.name)

    hooks = client.dynamodb().meta.events
    hooks.register("before-call.dynamodb.*", count)
    try:
        consumer.fold_sessions(4, {e["session_id"] for e in events}, LeadRules(), NOW_MS)
    finally:
        hooks.unregister("before-call.dynamodb.*", count)
    assert writes == []
    visitor_items = [i for i in stored_items("RollupsTable") if "#V#" in i["pk"]["S"] and i["sk"]["S"] == "v"]
    assert visitor_items  # identified visitors and hot leads have one
    assert all({"uid", "hd"} & set(item) for item in visitor_items)  # nobody else needs one
    assert_matches_reference(events)


def test_session_ids_that_extend_each_other_keep_their_own_cells() -> None:
    """Cells live in the visitor's partition under `c#<session>#<hour>`; session ids may hold `#`."""
    start = NOW.replace(minute=0, second=0, microsecond=0)
    sessions = ["gs", "gs#1", "gs#1#7", "gs#17", "gs#1#"]
    traffic_events = [
        {
            "session_id": session,
            "ghost_vid": "gv_shared",
            "type": "pageview" if n % 3 else "custom_event",
            "event_name": "cta_clicked",
            "page": ["/", "/pricing", "/docs"][n % 3],
            "timestamp": (start - timedelta(hours=7 * s + n, minutes=n)).isoformat().replace("+00:00", "Z"),
            "event_id": f"e{s}_{n}",
            "country": "Canada",
        }
        for s, session in enumerate(sessions)
        for n in range(s + 2)
    ]
    import_traffic(traffic_events)
    items = stored_items()
    events = stored_events(items)
    rng = random.Random(11)
    for _ in range(2):  # each session alone, in any order, twice
        for session in rng.sample(sessions, len(sessions)):
            lambdas.deliver(records([i for i in items if i["session_id"]["S"] == session]))
    assert_matches_reference(events)
    cells = [i for i in stored_items("RollupsTable") if i["sk"]["S"].startswith("c#")]
    assert len(cells) == sum(
        len({(e["timestamp"][:13]) for e in events if e["session_id"] == s}) for s in sessions
    )


def test_a_visitor_made_hot_by_two_consumers_at_once_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each session alone scores 20 (< 30), both 40. Consumer B folds session 2 entirely between
    consumer A's read of session 1 and A's transaction: B sees one session, A's read after its own
    transaction sees both, so A does the reach-back into the hot-lead sketches."""
    from ghostid.logic import consumer
    from ghostid.models.sites import LeadRules

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
    events = stored_events(stored_items())
    real = rollups_dal.apply_cell_changes
    nested = {"done": False}

    def b_first(site_id: int, changes: Any) -> None:
        if not nested["done"]:
            nested["done"] = True
            consumer.fold_sessions(site_id, {"gs_2"}, LeadRules(), NOW_MS)  # consumer B, all of it
        real(site_id, changes)

    monkeypatch.setattr(rollups_dal, "apply_cell_changes", b_first)
    consumer.fold_sessions(4, {"gs_1"}, LeadRules(), NOW_MS)  # consumer A
    assert nested["done"]
    assert_matches_reference(events)  # one hot lead in every range
