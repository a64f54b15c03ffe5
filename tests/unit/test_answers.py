"""Precomputed stats answers: one small Query per call, never stale, equal to the window's own fold."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.dal import answers as answers_dal
from ghostid.dal import client
from ghostid.logic import stats
from ghostid.timeutil import HOUR_MS, window_for

from tests.support import lambdas, reference, traffic
from tests.support.scenario import (
    NOW,
    NOW_MS,
    folded_member_site,
    import_traffic,
    stored_events,
    stored_items,
)

pytestmark = pytest.mark.usefixtures("aws")
RANGES = stats.RANGES


@pytest.fixture
def calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """(operation, params) of every DynamoDB call made through the shared client."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, dict(params)))

    events = client.dynamodb().meta.events
    events.register("provide-client-params.dynamodb.*", record, unique_id="test-answers")
    yield seen
    events.unregister("provide-client-params.dynamodb.*", unique_id="test-answers")


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    return folded_member_site(seed=23, visitors=10)


def stats_call(time_range: str) -> Any:
    event = lambdas.http_event("stats_get.json", query={"siteId": "4", "timeRange": time_range})
    status, _, body = lambdas.call_http("stats", event)
    assert status == 200
    return body


def window_queries(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Partitions the calls queried, other than the answers' own."""
    return [
        p["ExpressionAttributeValues"][":pk"]["S"]
        for op, p in calls
        if op == "Query" and p["ExpressionAttributeValues"][":pk"]["S"] != "4#A"
    ]


@pytest.mark.parametrize("time_range", RANGES)
def test_a_call_counts_the_session_reads_the_membership_and_one_answers_query(
    site: list[dict[str, Any]], calls: list[tuple[str, dict[str, Any]]], time_range: str
) -> None:
    body = stats_call(time_range)
    assert body == reference.stats(site, time_range, NOW)
    assert [op for op, _ in calls] == ["UpdateItem", "GetItem", "Query"]
    assert window_queries(calls) == []


def test_answers_equal_the_live_fold_of_every_range(site: list[dict[str, Any]]) -> None:
    for time_range in RANGES:
        window = window_for(time_range, NOW_MS)
        assert stats.site_stats(4, time_range, NOW_MS) == stats.live_stats(4, window)


def test_a_batch_applied_but_not_yet_answered_is_still_counted(
    site: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    """A consumer that crashed after its rollup writes (before storing answers) leaves the answers behind
    the version: calls fold the window themselves until the retry stores current answers."""
    late = traffic.generate(NOW, seed=24, visitors=3)
    import_traffic(late)
    new_items = [i for i in stored_items() if i["sk"]["S"] not in {e["event_id"] for e in site}]
    records = [lambdas.stream_record(item, n) for n, item in enumerate(new_items, 10_000)]

    def crash(*_: Any) -> bool:
        raise RuntimeError("crashed before storing answers")

    monkeypatch.setattr(answers_dal, "put_answers", crash)
    with pytest.raises(RuntimeError):
        lambdas.deliver(records)
    everything = stored_events(stored_items())
    calls.clear()
    for time_range in RANGES:
        assert stats_call(time_range) == reference.stats(everything, time_range, NOW)
    assert len(window_queries(calls)) == 3  # every range folded its window: the answers were behind

    monkeypatch.undo()
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    lambdas.deliver(records)  # the retry
    calls.clear()
    for time_range in RANGES:
        assert stats_call(time_range) == reference.stats(everything, time_range, NOW)
    assert window_queries(calls) == []


def test_answers_of_a_past_hour_or_day_are_not_used(
    site: list[dict[str, Any]], calls: list[tuple[str, dict[str, Any]]]
) -> None:
    later = NOW_MS + HOUR_MS  # 18:30 the same day: a new 24h window, the same 7d and 30d ones
    for time_range in RANGES:
        expected = reference.stats(site, time_range, NOW.fromtimestamp(later / 1000, NOW.tzinfo))
        assert stats.site_stats(4, time_range, later).model_dump() == expected
    assert window_queries(calls) == ["4#H"]


def test_older_answers_never_replace_newer_ones(aws: Any) -> None:
    assert answers_dal.put_answers(9, 5, b"five")
    assert not answers_dal.put_answers(9, 4, b"four")
    assert answers_dal.put_answers(9, 6, b"six")
    for _ in range(6):
        answers_dal.bump_version(9)
    assert answers_dal.get_current_answers(9) == b"six"
    answers_dal.bump_version(9)
    assert answers_dal.get_current_answers(9) is None


@pytest.mark.parametrize("change", ["older format", "body the model refuses"])
def test_answers_of_another_format_or_shape_are_not_served(
    site: list[dict[str, Any]], calls: list[tuple[str, dict[str, Any]]], change: str
) -> None:
    current = answers_dal.get_current_answers(4)
    assert current is not None
    stored = json.loads(zlib.decompress(current))
    stored["7d"]["stats"]["overview"]["pageviews"] += 1000  # would show if these answers were served
    if change == "older format":  # stored by code whose metrics meant something else
        stored["format"] = stats.ANSWERS_FORMAT - 1
    else:
        del stored["7d"]["stats"]["countries"]
    version = answers_dal.bump_version(4)
    assert answers_dal.put_answers(4, version, zlib.compress(json.dumps(stored).encode()))
    calls.clear()
    assert stats_call("7d") == reference.stats(site, "7d", NOW)
    assert window_queries(calls) == ["4#D"]
