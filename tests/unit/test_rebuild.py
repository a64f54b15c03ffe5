"""A rebuilt site equals the stream-maintained one, item for item (sketches by what they count)."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.logic import sketches
from ghostid.logic.fold import Cell
from ghostid.logic.rebuild import rebuild_site
from ghostid.models.sites import LeadRules

from tests.support import lambdas, traffic
from tests.support.scenario import (
    NOW,
    NOW_MS,
    assert_matches_reference,
    import_traffic,
    stored_events,
    stored_items,
)

pytestmark = pytest.mark.usefixtures("aws")


def comparable(items: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """Rollup items without write versions; sketches as the counts they give."""
    out: dict[tuple[str, str], Any] = {}
    for item in items:
        where = (item["pk"]["S"], item["sk"]["S"])
        if where[0].endswith("#A"):  # precomputed answers: versions count batches, contents must agree
            if where[1] == "answers":
                out[where] = json.loads(zlib.decompress(item["b"]["B"]))
        elif "#V#" in where[0] and where[1].startswith("c#"):  # a session cell, in its visitor's partition
            hour = where[1].rsplit("#", 1)[1]
            out[where] = Cell.decode(f"{hour}#{where[0].split('#V#', 1)[1]}", item["d"]["S"])
        elif "m" in item:  # a bucket's sketch pack
            out[where] = (
                {n: sketches.union_estimate([v["B"]]) for n, v in item["m"]["M"].items()},
                "split" in item,
            )
        elif "s" in item:
            out[where] = sketches.union_estimate([item["s"]["B"]])
        else:
            out[where] = {
                k: frozenset(v["NS"]) if "NS" in v else v for k, v in item.items() if k not in ("pk", "sk")
            }
    return out


def test_rebuild_equals_the_stream_maintained_rollups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    import_traffic(traffic.generate(NOW, seed=31, visitors=25))
    items = stored_items()
    for start in range(0, len(items), 37):
        lambdas.deliver([lambdas.stream_record(i, n) for n, i in enumerate(items[start : start + 37], start)])
    streamed = comparable(stored_items("RollupsTable"))

    report = rebuild_site(4, LeadRules(), NOW_MS)
    assert report.events == len(items)
    assert comparable(stored_items("RollupsTable")) == streamed
    assert_matches_reference(stored_events(items))


def test_rebuild_repairs_a_corrupted_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    import_traffic(traffic.generate(NOW, seed=32, visitors=6))
    items = stored_items()
    lambdas.deliver([lambdas.stream_record(i, n) for n, i in enumerate(items)])
    counters = next(
        i for i in stored_items("RollupsTable") if i["sk"]["S"].endswith("#c") and "#D" in i["pk"]["S"]
    )
    boto3.client("dynamodb").update_item(
        TableName="RollupsTable",
        Key={"pk": counters["pk"], "sk": counters["sk"]},
        UpdateExpression="ADD pv :x",
        ExpressionAttributeValues={":x": {"N": "1000"}},
    )
    rebuild_site(4, LeadRules(), NOW_MS)
    assert_matches_reference(stored_events(items))


def test_rebuild_while_events_keep_arriving(monkeypatch: pytest.MonkeyPatch) -> None:
    from ghostid.dal import rollups as rollups_dal

    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    first, during, after = (traffic.generate(NOW, seed=s, visitors=8) for s in (41, 42, 43))
    during = [{**e, "session_id": "d" + e["session_id"], "ghost_vid": e["ghost_vid"] + "d"} for e in during]
    after = [
        {**e, "session_id": "a" + e["session_id"]} for e in after
    ]  # same visitors as `first`: reach back
    import_traffic(first)
    deliver_all(stored_items())
    real_delete, real_write = rollups_dal.delete_partitions, rollups_dal.write_items

    def delete_while_the_consumer_works(partitions: Any) -> int:
        import_traffic(during)  # stored between the rebuild's snapshot and its replacement
        return int(real_delete(partitions))

    def write_then_more_arrive(items: Any) -> None:
        real_write(items)
        import_traffic(after)  # stored after the replacement; the stream has not delivered them yet

    monkeypatch.setattr(rollups_dal, "delete_partitions", delete_while_the_consumer_works)
    monkeypatch.setattr(rollups_dal, "write_items", write_then_more_arrive)
    report = rebuild_site(4, LeadRules(), NOW_MS)  # the stream consumer is paused meanwhile
    assert report.refolded > 0
    deliver_all(stored_items())  # it resumes: every record it held back (and more) counts once
    assert_matches_reference(stored_events(stored_items()))


def deliver_all(items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 50):
        lambdas.deliver([lambdas.stream_record(i, n) for n, i in enumerate(items[start : start + 50], start)])
