"""The bench's own parts: the traffic generator (what it yields is what a stored event gives the rollups), the
stream batching of the ingest measurement, the meter's accounting, and results.json's ownership."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import pytest
from ghostid.dal.events import event_to_item, facts_from_item
from ghostid.models.events import Event, StoredEvent
from ghostid.timeutil import DAY_MS

from bench import harness, ingest, meter, report
from bench.traffic import Shape, Traffic, import_event, import_events

END = 1_790_000_000_000
SHAPE = Shape(events=20_000, visitors=4_000, pages=3_000, pages_per_day=400, seed=3)


@cache
def sessions(shape: Shape = SHAPE, stop: int | None = None) -> list[tuple[str, list[Any]]]:
    return list(Traffic(shape, END, stop_ms=stop).sessions())


def test_the_same_shape_gives_the_same_traffic() -> None:
    assert sessions()[:500] == sessions()[:500]
    assert sessions()[:50] != sessions(Shape(events=20_000, visitors=4_000, seed=4))[:50]


def test_sessions_come_in_order_of_their_start_within_the_span() -> None:
    starts = [facts[0].ts for _, facts in sessions()]
    assert starts == sorted(starts)
    assert starts[0] >= END - 30 * DAY_MS and starts[-1] < END
    for _, facts in sessions()[:2_000]:
        assert [e.ts for e in facts] == sorted(e.ts for e in facts)
        gaps = [b.ts - a.ts for a, b in pairwise(facts)]
        assert all(0 < gap <= 20 * 60_000 for gap in gaps)


def test_the_shape_is_met() -> None:
    found = sessions()
    events = sum(len(f) for _, f in found)
    visitors = {f[0].ghost_vid for _, f in found}
    assert abs(events - SHAPE.events) / SHAPE.events < 0.06
    assert abs(len(visitors) - SHAPE.visitors) / SHAPE.visitors < 0.1
    pages = {e.page for _, f in found for e in f}
    assert 0.5 * SHAPE.pages < len(pages) <= SHAPE.pages
    by_day: dict[int, set[str]] = {}
    for _, facts in found:
        for event in facts:
            by_day.setdefault(event.ts // DAY_MS, set()).add(event.page)
    assert max(len(p) for p in by_day.values()) <= SHAPE.pages_per_day
    identified = {e.ghost_vid for _, f in found for e in f if e.user_id}
    assert 0.005 < len(identified) / len(visitors) < 0.1


def test_the_rate_continues_past_the_end_for_ingest() -> None:
    hour = 3_600_000
    later = [e for _, f in sessions(stop=END + 6 * hour) for e in f if e.ts >= END]
    per_hour = SHAPE.events / (30 * 24)
    assert 0.6 * 6 * per_hour < len(later) < 1.4 * 6 * per_hour
    assert all(e.ts < END + 6 * hour for e in later)


def test_events_are_what_the_rollups_read_back_from_a_stored_event() -> None:
    for session_id, facts in islice(sessions(), 300):
        for event in facts:
            shaped = import_event(session_id, event)
            stored = StoredEvent(site_id=7, **Event.model_validate(shaped).model_dump())
            assert facts_from_item(event_to_item(stored)) == event


def test_import_events_stream_every_event() -> None:
    found = sessions()[:100]
    assert sum(1 for _ in import_events(iter(found))) == sum(len(f) for _, f in found)


# --- ingest batching ---------------------------------------------------------------------------------


def arrivals(times: list[int]) -> list[tuple[str, Any]]:
    facts = sessions()[0][1][0]
    return [("s", type(facts)(**{**_fields(facts), "ts": t})) for t in times]


def _fields(facts: Any) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in facts.__dataclass_fields__}


def test_a_batch_holds_what_arrives_within_the_window_up_to_the_batch_size() -> None:
    groups = ingest.batches(arrivals([0, 400, 999, 1_000, 1_500, 5_000]), window_s=1, batch_size=100)
    assert [[a[1].ts for a in g] for g in groups] == [[0, 400, 999], [1_000, 1_500], [5_000]]
    groups = ingest.batches(arrivals(list(range(0, 500, 10))), window_s=1, batch_size=20)
    assert [len(g) for g in groups] == [20, 20, 10]


def test_the_day_turn_is_weighted_to_the_span() -> None:
    usage = meter.Usage(rcu=100.0, wcu=50.0)
    usage.by_scope["seal.day"] = [2, 48.0, 24.0]
    result = ingest.IngestResult(10, 10, DAY_MS // 4, usage, harness.Timed([0.1]), 1.0)
    wcu, rcu = result.per_event()
    assert rcu == pytest.approx((100 - 48 * 0.75) / 10)
    assert wcu == pytest.approx((50 - 24 * 0.75) / 10)


def test_the_hour_turn_is_weighted_to_a_span_shorter_than_an_hour() -> None:
    usage = meter.Usage(rcu=100.0, wcu=50.0)
    usage.by_scope["seal.hour"] = [1, 8.0, 4.0]
    usage.by_scope["seal.hour.prefixes"] = [1, 32.0, 16.0]
    usage.by_scope["seal.day"] = [2, 24.0, 12.0]
    span = DAY_MS // 96  # 15 minutes
    result = ingest.IngestResult(10, 10, span, usage, harness.Timed([0.1]), 1.0)
    wcu, rcu = result.per_event()
    assert rcu == pytest.approx((100 - 40 * 0.75 - 24 * (1 - 1 / 96)) / 10)
    assert wcu == pytest.approx((50 - 20 * 0.75 - 12 * (1 - 1 / 96)) / 10)


# --- the meter -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pk", "sk", "kind"),
    [
        ("4#C#2026-03-10", "s#0001#gs_1", "cell.first"),
        ("4#C#2026-03-10", "c#0001#gs_1", "cell.later"),
        ("4#N#P", "page#30d", "node.P"),
        ("4#X#M", "2026-03", "presence.M"),
        ("4#V#gv_1", "v", "visitor.head"),
        ("4#V#gv_1", "r#gs_1", "visitor.registry"),
        ("4#A", "state", "state"),
        ("4#A", "a#30d", "answer"),
        ("4#R", "rt", "realtime"),
    ],
)
def test_item_kinds_follow_the_key_layouts(pk: str, sk: str, kind: str) -> None:
    assert meter.item_kind(pk, sk) == kind


def test_missing_keys_and_empty_queries_are_billed_their_minimum() -> None:
    keys = [{"pk": {"S": "1#N#D"}, "sk": {"S": f"o#{n}"}} for n in range(5)]
    params = {"RequestItems": {"Rollups": {"Keys": keys, "ConsistentRead": True}}}
    parsed = {"Responses": {"Rollups": [keys[0]]}, "UnprocessedKeys": {"Rollups": {"Keys": keys[1:2]}}}
    assert meter._billed_minimums("BatchGetItem", params, parsed) == 3.0
    params["RequestItems"]["Rollups"]["ConsistentRead"] = False
    assert meter._billed_minimums("BatchGetItem", params, parsed) == 1.5
    assert meter._billed_minimums("Query", {}, {"ScannedCount": 0}) == 0.5
    assert meter._billed_minimums("Query", {"ConsistentRead": True}, {"ScannedCount": 0}) == 1.0
    assert (
        meter._billed_minimums("Query", {}, {"ScannedCount": 3, "ConsumedCapacity": {"CapacityUnits": 1}})
        == 0
    )


def test_usage_adds_up_by_scope_and_kind() -> None:
    first, second = (
        meter.Usage(Counter({"GetItem": 1}), 1.0, 0.0),
        meter.Usage(Counter({"PutItem": 2}), 0.0, 3.0),
    )
    first.by_scope["a"] = [1, 1.0, 0.0]
    second.by_scope["a"] = [2, 0.0, 3.0]
    first.add(second)
    assert (first.total_requests, first.rcu, first.wcu) == (3, 1.0, 3.0)
    assert first.scope_usage("a") == (1.0, 3.0, 3)


# --- results.json --------------------------------------------------------------------------------------


def test_each_command_replaces_only_its_own_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.json"
    monkeypatch.setattr(report, "RESULTS", path)
    path.write_text(json.dumps({"scale_site_events": 1, "ingest_wcu_per_event_10m": 2, "old_key": 3}))
    report.write({"stats_preset_rcu_max_small": 2.0}, "bench")
    assert json.loads(path.read_text()) == {
        "scale_site_events": 1,
        "ingest_wcu_per_event_10m": 2,
        "stats_preset_rcu_max_small": 2.0,
    }
    report.write({"scale_site_events": 10}, "scale")
    assert json.loads(path.read_text())["scale_site_events"] == 10
    assert json.loads(path.read_text())["stats_preset_rcu_max_small"] == 2.0


def test_the_table_says_met_and_missed() -> None:
    text = report.table({"ingest_freshness_s": 1.5, "ingest_wcu_per_event_1m": 3.5}, {"x": "why"}, 60)
    assert "ingest_freshness_s" in text and " met" in text
    assert "MISSED" in text
    assert "not measured: why" in text


def test_named_keys_not_written_or_not_numbers_are_reported() -> None:
    every = dict.fromkeys(report.NAMED, 1.0)
    assert report.unwritten(every) == []
    assert report.unwritten({**every, "rate_limit_wcu_per_call": True}) == ["rate_limit_wcu_per_call"]
    assert report.unwritten({k: v for k, v in every.items() if k != "scale_site_events"}) == [
        "scale_site_events"
    ]
