"""Site management with `ghostid site ...`, and rebuilding a site's rollups (a new zone or lead rules, a
repair, or the upgrade from an older model): the answers after a rebuild equal the reference, as do the
stream-maintained ones before it, also when events keep arriving during the rebuild."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.dal import events as events_dal
from ghostid.dal import sites as sites_dal
from ghostid.logic import consumer, rebuild
from ghostid_local import cli

from tests.support import lambdas, reference, traffic
from tests.support.scenario import (
    NOW,
    NOW_MS,
    assert_routes_match_reference,
    import_traffic,
    stored_events,
    stored_items,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def env(local_aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    consumer.clear_config_cache()
    yield local_aws_env
    consumer.clear_config_cache()


def ghostid(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    import os

    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--endpoint", os.environ["AWS_ENDPOINT_URL_DYNAMODB"], *args], out=out, err=err)
    return code, out.getvalue().strip(), err.getvalue().strip()


def test_create_refuses_an_id_that_exists_and_changes_nothing(env: dict[str, str]) -> None:
    assert ghostid(env, "site", "create", "--site-id", "7", "--domain", "example.com", "--name", "Ex")[0] == 0
    code, _, err = ghostid(env, "site", "create", "--site-id", "7", "--domain", "evil.example")
    assert code == 2
    assert "exists already" in err and "site update" in err
    site = sites_dal.get_site(7)
    assert site is not None and site.domain == "example.com" and site.name == "Ex"


def test_list_show_and_update(env: dict[str, str]) -> None:
    for site_id, domain in ((3, "a.example"), (12, "b.example")):
        assert ghostid(env, "site", "create", "--site-id", str(site_id), "--domain", domain)[0] == 0
    code, listing, _ = ghostid(env, "site", "list")
    assert code == 0
    assert [line.split("\t")[:3] for line in listing.splitlines()] == [
        ["3", "a.example", "UTC"],
        ["12", "b.example", "UTC"],
    ]
    code, out, _ = ghostid(
        env,
        "site",
        "update",
        "--site-id",
        "3",
        "--domain",
        "c.example",
        "--extra-domain",
        "shop.c.example",
        "--extra-domain",
        "c.example.net",
        "--name",
        "Three",
    )
    assert code == 0 and "rebuilding" not in out  # nothing the rollups depend on changed
    site = sites_dal.get_site(3)
    assert site is not None
    assert (site.domain, site.name, site.extra_domains) == (
        "c.example",
        "Three",
        ("shop.c.example", "c.example.net"),
    )
    code, shown, _ = ghostid(env, "site", "show", "--site-id", "3")
    assert code == 0 and '"domain": "c.example"' in shown
    assert ghostid(env, "site", "update", "--site-id", "3", "--timezone", "Mars/Olympus")[0] == 2
    assert ghostid(env, "site", "show", "--site-id", "99")[0] == 2


def _fold(site: int, env: dict[str, str], seed: int, timezone: str) -> list[dict[str, Any]]:
    import_traffic(traffic.zoned(NOW, seed=seed, timezone=timezone, visitors=15, days=35), site=site)
    items = [i for i in stored_items(env["EventsTable"]) if i["pk"]["S"].startswith(f"{site}#")]
    records = [lambdas.stream_record(item, n) for n, item in enumerate(items, 1)]
    for start in range(0, len(records), 40):
        assert lambdas.deliver(records[start : start + 40]) == {"batchItemFailures": []}
    return stored_events(items)


@pytest.mark.slow
def test_a_new_time_zone_rebuilds_the_site(env: dict[str, str]) -> None:
    assert ghostid(env, "site", "create", "--site-id", "21", "--domain", "x.example")[0] == 0
    events = _fold(21, env, seed=21, timezone="Asia/Kathmandu")
    assert_routes_match_reference(events, 21, config=reference.Site(site_id=21))
    code, out, _ = ghostid(env, "site", "update", "--site-id", "21", "--timezone", "Asia/Kathmandu")
    assert code == 0 and "time zone changed: rebuilding" in out and "rebuilt from" in out
    assert_routes_match_reference(events, 21, config=reference.Site(site_id=21, timezone="Asia/Kathmandu"))


def test_new_lead_rules_rebuild_the_site(env: dict[str, str]) -> None:
    assert ghostid(env, "site", "create", "--site-id", "22", "--domain", "y.example")[0] == 0
    events = _fold(22, env, seed=22, timezone="UTC")
    code, out, _ = ghostid(
        env, "site", "update", "--site-id", "22", "--high-intent-pages", "/docs,/blog", "--threshold", "15"
    )
    assert code == 0 and "lead rules changed: rebuilding" in out
    config = reference.Site(site_id=22, high_intent_pages=("/docs", "/blog"), hot_threshold=15)
    assert_routes_match_reference(events, 22, config=config)


def test_rebuild_while_events_keep_arriving(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Events stored after the rebuild's snapshot are folded by its second look."""
    assert (
        ghostid(
            env,
            "site",
            "create",
            "--site-id",
            "23",
            "--domain",
            "z.example",
            "--timezone",
            "America/New_York",
        )[0]
        == 0
    )
    events = _fold(23, env, seed=23, timezone="America/New_York")
    late = traffic.people(NOW, seed=24, timezone="America/New_York", visitors=6)
    real_scan = events_dal.scan_site_items
    calls = {"n": 0}

    def scan_then_more_arrive(site_id: int, segments: int = 4) -> list[dict[str, Any]]:
        found = real_scan(site_id, segments)
        calls["n"] += 1
        if calls["n"] == 1:
            import_traffic(late, site=23)  # stored after the snapshot: the stream consumer is paused
        return list(found)

    monkeypatch.setattr(events_dal, "scan_site_items", scan_then_more_arrive)
    site = sites_dal.get_site(23)
    assert site is not None
    report = rebuild.rebuild_site(23, site, NOW_MS)
    assert report.refolded > 0
    everything = stored_events(
        [i for i in stored_items(env["EventsTable"]) if i["pk"]["S"].startswith("23#")]
    )
    assert len(everything) > len(events)
    assert_routes_match_reference(
        everything, 23, config=reference.Site(site_id=23, timezone="America/New_York")
    )
