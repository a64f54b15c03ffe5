"""Rollups written by the first rollup model (UTC buckets, cells in visitor partitions, packed sketches)
stay readable as data and never fail a batch; `ghostid rollups rebuild` moves a site to the current model.

`tests/fixtures/first_model_items.json` holds a site's events and every rollup item the first model's
consumer wrote for them (made once with that code, at commit f17973d).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from ghostid import timeutil
from ghostid.dal import state as state_dal
from ghostid.logic import consumer
from ghostid.logic.rebuild import rebuild_site
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
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "first_model_items.json"


def _decoded(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


@pytest.fixture
def first_model_site(local_aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    from ghostid.dal import sites as sites_dal

    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    consumer.clear_config_cache()
    sites_dal.put_site(Site(site_id=SITE, domain="example.com"))
    data = _decoded(json.loads(FIXTURE.read_text()))
    client = boto3.client("dynamodb")
    for item in data["events"]:
        client.put_item(TableName=local_aws_env["EventsTable"], Item=item)
    for item in data["rollups"]:
        client.put_item(TableName=local_aws_env["RollupsTable"], Item=item)
    return list(data["events"])


def test_new_events_on_top_of_first_model_items_never_fail_a_batch(
    first_model_site: list[dict[str, Any]], local_aws_env: dict[str, str]
) -> None:
    old_items = first_model_site
    import_traffic(traffic.generate(NOW, seed=78, visitors=8))
    everything = stored_items(local_aws_env["EventsTable"])
    new_items = [i for i in everything if i not in old_items]
    assert new_items and old_items
    # New sessions, and records of the first model's sessions delivered again (a replay after the upgrade).
    records = [lambdas.stream_record(item, n) for n, item in enumerate(new_items + old_items[:30], 1)]
    for start in range(0, len(records), 25):
        assert lambdas.deliver(records[start : start + 25]) == {"batchItemFailures": []}
    assert state_dal.get_state(SITE).model == state_dal.MODEL_VERSION


def test_rebuild_moves_a_first_model_site_to_the_current_model(
    first_model_site: list[dict[str, Any]], local_aws_env: dict[str, str]
) -> None:
    from ghostid.dal import sites as sites_dal

    site = sites_dal.get_site(SITE)
    assert site is not None
    report = rebuild_site(SITE, site, NOW_MS)
    assert report.deleted >= 287  # every first-model item (buckets, packs, cells, visitor items, answers)
    leftovers = [
        i
        for i in stored_items(local_aws_env["RollupsTable"])
        if i["pk"]["S"] in (f"{SITE}#H", f"{SITE}#D")
        or ("#V#" in i["pk"]["S"] and i["sk"]["S"].startswith("c#"))  # first-model cells lived with visitors
        or "ik" in i
    ]
    assert leftovers == []
    assert_matches_reference(stored_events(stored_items(local_aws_env["EventsTable"])))
