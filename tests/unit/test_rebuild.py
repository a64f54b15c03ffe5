"""A rebuilt site equals the stream-maintained one, item for item (sketches by what they count)."""

from __future__ import annotations

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
        if "#S#" in where[0]:
            out[where] = Cell.decode(where[1], item["d"]["S"])
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
