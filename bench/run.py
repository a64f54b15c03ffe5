"""`make bench`: what a call and an event cost, against DynamoDB Local; writes bench/results.json.

Requests and capacity units come from DynamoDB's own ConsumedCapacity (transactions recomputed as
DynamoDB bills them, see bench/meter.py). Times are reported as ratios measured in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
os.environ.update(
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="Bench",
    POWERTOOLS_SERVICE_NAME="bench",
    LOG_LEVEL="ERROR",
    POWERTOOLS_METRICS_DISABLED="true",
)
SMALL, LARGE, INGEST_100, INGEST_1000, SESSIONS = 1, 2, 3, 4, 5
USER = "bench@example.com"


def main() -> int:
    import boto3
    from ghostid_local import dynamodb_local, target
    from ghostid_local.cfn_yaml import load_template
    from ghostid_local.tables import create_tables

    started = time.perf_counter()
    results: dict[str, float] = {}
    with dynamodb_local.start(dynamodb_local.free_port(), in_memory=True) as ddb:
        target.use_local(ddb.endpoint)
        create_tables(boto3.client("dynamodb"), load_template(ROOT / "template.yaml"))
        from ghostid.dal.client import dynamodb

        from bench.meter import Meter

        meter = Meter(dynamodb(), boto3.client("dynamodb"))
        token = _setup_sites()
        results |= _ingest(meter)
        results |= _reads(meter, token)
        results |= _access(meter, token)
        results |= _session_of_500(meter, token)
    results |= _fold_cpu()
    results |= _cold_imports()
    results |= _scale_day()
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    _print(results, time.perf_counter() - started)
    return 0


# --- set-up ---------------------------------------------------------------------------------------


def _setup_sites() -> str:
    from ghostid.dal import sites
    from ghostid.logic import auth
    from ghostid.models.sites import Site

    for site_id in (SMALL, LARGE, INGEST_100, INGEST_1000, SESSIONS):
        sites.put_site(Site(site_id=site_id, domain=f"site{site_id}.example"))
        sites.add_member(site_id, USER)
    return auth.create_login_session(USER, hours=2)


def _traffic(visitors: int, days: int, seed: int, end_ms: int) -> list[dict[str, Any]]:
    from ghostid_local import demo

    events = demo.generate(days=days, visitors=visitors, seed=seed, end_ms=end_ms)
    return sorted(events, key=lambda e: str(e["timestamp"]))


def _stored(site_id: int, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from ghostid.dal.events import event_to_item
    from ghostid.models.events import Event, StoredEvent

    items = []
    for event in events:
        parsed = Event.model_validate(event).with_event_id()
        items.append(event_to_item(StoredEvent(site_id=site_id, **parsed.model_dump())))
    return items


def _records(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "eventID": str(n),
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "eventVersion": "1.1",
            "dynamodb": {
                "Keys": {"pk": i["pk"], "sk": i["sk"]},
                "NewImage": i,
                "SequenceNumber": f"{n:021d}",
                "StreamViewType": "NEW_IMAGE",
            },
        }
        for n, i in enumerate(items, 1)
    ]


def _rollup_handler() -> Callable[[dict[str, Any], Any], Any]:
    from ghostid_local.lambda_context import load_handler_from_file

    return load_handler_from_file(ROOT / "functions" / "rollup", "app.lambda_handler", "bench_rollup")


def _context(name: str) -> Any:
    from ghostid_local.lambda_context import LambdaContext

    return LambdaContext(name, timeout_s=900)


# --- ingest ---------------------------------------------------------------------------------------


def _ingest(meter: Any) -> dict[str, float]:
    """Write cost per event: the event item and everything the consumer writes, in stream batches."""
    from ghostid.dal.rollups import write_items
    from ghostid.logic.rebuild import rollup_items
    from ghostid.logic.stats import refresh_answers
    from ghostid.models.sites import LeadRules
    from ghostid.timeutil import now_ms

    now = now_ms()
    handler = _rollup_handler()
    out: dict[str, float] = {}
    # A busy site's traffic (200,000 events a month): slices of it, folded as the stream would deliver them.
    for site_id, batch_size in ((INGEST_100, 100), (INGEST_1000, 1000)):
        events = _traffic(visitors=36_000, days=30, seed=site_id, end_ms=now)
        middle = len(events) // 2
        items = _stored(site_id, events[middle : middle + 6_000])
        meter.reset()
        _each_parallel(put_event_item, items)
        for start in range(0, len(items), batch_size):
            handler({"Records": _records(items[start : start + batch_size])}, _context("RollupFunction"))
        used = meter.reset()
        out[f"ingest_wcu_per_event_batch_{batch_size}"] = round(used.wcu / len(items), 3)
        out[f"ingest_requests_per_event_batch_{batch_size}"] = round(used.total_requests / len(items), 3)
        out[f"ingest_rcu_per_event_batch_{batch_size}"] = round(used.rcu / len(items), 3)
    out["ingest_wcu_per_event"] = out["ingest_wcu_per_event_batch_100"]

    # The small site goes through the consumer too; the large one is loaded in bulk (same functions,
    # tested equal), because folding 200,000 events through DynamoDB Local would take half an hour here.
    small = _stored(SMALL, _traffic(visitors=180, days=30, seed=SMALL, end_ms=now))
    _each_parallel(put_event_item, small)
    for start in range(0, len(small), 100):
        handler({"Records": _records(small[start : start + 100])}, _context("RollupFunction"))
    large = _stored(LARGE, _traffic(visitors=37_000, days=30, seed=LARGE, end_ms=now))
    assert len(large) >= 200_000, len(large)
    _bulk_events(large)
    write_items(rollup_items(LARGE, large, LeadRules(), now))
    meter.reset()
    # What the consumer's answers refresh costs once per batch on a site this size (reads consistent).
    refresh_answers(LARGE, now)
    used = meter.reset()
    out["answers_refresh_requests_large"] = used.total_requests
    out["answers_refresh_rcu_large"] = round(used.rcu, 2)
    out["answers_refresh_wcu_large"] = round(used.wcu, 2)
    out["small_site_events"] = len(small)
    out["large_site_events"] = len(large)
    return out


def put_event_item(item: dict[str, Any]) -> None:
    from ghostid.dal.client import dynamodb
    from ghostid.settings import events_table

    dynamodb().put_item(TableName=events_table(), Item=item, ConditionExpression="attribute_not_exists(pk)")


def _bulk_events(items: list[dict[str, Any]]) -> None:
    from ghostid.dal.client import dynamodb
    from ghostid.settings import events_table

    def write(chunk: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {events_table(): [{"PutRequest": {"Item": i}} for i in chunk]}
        while pending:
            pending = dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    _each_parallel(write, [items[i : i + 25] for i in range(0, len(items), 25)])


def _each_parallel(fn: Callable[[Any], Any], items: Iterable[Any]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fn, items))


# --- reads ----------------------------------------------------------------------------------------


def _http(route: str, query: dict[str, str], token: str, path_id: str | None = None) -> dict[str, Any]:
    from urllib.parse import urlencode

    path = f"/api/session/{path_id}" if path_id else "/api/stats"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"GET {route}",
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "cookies": [f"session={token}"],
        "headers": {},
        "queryStringParameters": query,
        "requestContext": {
            "http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
            "requestId": "bench",
            "routeKey": f"GET {route}",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    if path_id:
        event["pathParameters"] = {"id": path_id}
    return event


def _reads(meter: Any, token: str) -> dict[str, float]:
    from ghostid.dal.answers import bump_version, get_current_answers
    from ghostid.logic.stats import refresh_answers
    from ghostid.timeutil import now_ms
    from ghostid_local.lambda_context import load_handler_from_file

    stats = load_handler_from_file(ROOT / "functions" / "stats", "app.lambda_handler", "bench_stats")
    for site_id in (SMALL, LARGE):  # in case the hour turned since the consumer last answered
        refresh_answers(site_id, now_ms())
    out: dict[str, float] = {}
    medians: dict[int, float] = {}
    for site_id in (SMALL, LARGE):
        for time_range in ("24h", "7d", "30d"):
            event = _http("/api/stats", {"siteId": str(site_id), "timeRange": time_range}, token)
            assert stats(event, _context("StatsFunction"))["statusCode"] == 200
            meter.reset()
            response = stats(event, _context("StatsFunction"))
            used = meter.reset()
            assert response["statusCode"] == 200
            label = "small" if site_id == SMALL else "large"
            out[f"stats_requests_per_call_{time_range}_{label}"] = used.total_requests
            out[f"stats_rcu_per_call_{time_range}_{label}"] = round(used.rcu, 2)
        event = _http("/api/stats", {"siteId": str(site_id), "timeRange": "30d"}, token)
        medians[site_id] = _median_seconds(partial(stats, event, _context("StatsFunction")), 25)
        # The same call while the answers are behind (a batch landed since): it folds the window itself.
        label = "small" if site_id == SMALL else "large"
        version = bump_version(site_id)
        meter.reset()
        assert stats(event, _context("StatsFunction"))["statusCode"] == 200
        used = meter.reset()
        out[f"stats_requests_per_call_30d_{label}_uncached"] = used.total_requests
        out[f"stats_rcu_per_call_30d_{label}_uncached"] = round(used.rcu, 2)
        assert get_current_answers(site_id) is None, version
        refresh_answers(site_id, now_ms())
    for time_range in ("24h", "7d", "30d"):
        out[f"stats_requests_per_call_{time_range}"] = max(
            out[f"stats_requests_per_call_{time_range}_small"],
            out[f"stats_requests_per_call_{time_range}_large"],
        )
    out["stats_rcu_per_call_30d_small"] = out["stats_rcu_per_call_30d_small"]
    out["stats_rcu_per_call_30d_large"] = out["stats_rcu_per_call_30d_large"]
    out["stats_latency_ratio_large_small"] = round(medians[LARGE] / medians[SMALL], 3)
    return out


def _access(meter: Any, token: str, calls: int = 20) -> dict[str, float]:
    """What authentication and the rate limit cost in a stats call whose answers are current: one
    conditional UpdateItem on the credential's own item (it checks the credential and counts the request:
    1 WCU, no RCU), and for a session the membership GetItem; an API key names its site, so no read."""
    from ghostid.logic import apikeys
    from ghostid.logic.stats import refresh_answers
    from ghostid.timeutil import now_ms
    from ghostid_local.lambda_context import load_handler_from_file

    stats = load_handler_from_file(ROOT / "functions" / "stats", "app.lambda_handler", "bench_stats_access")
    refresh_answers(SMALL, now_ms())
    by_session = _http("/api/stats", {"siteId": str(SMALL), "timeRange": "7d"}, token)
    by_key = {**by_session, "cookies": []}
    by_key["headers"] = {"authorization": f"Bearer {apikeys.create_key(SMALL, 'bench', now_ms())}"}
    out: dict[str, float] = {}
    for label, event in (("session", by_session), ("api_key", by_key)):
        assert stats(event, _context("StatsFunction"))["statusCode"] == 200  # warm, and counted
        meter.reset()
        for _ in range(calls):
            assert stats(event, _context("StatsFunction"))["statusCode"] == 200
        used = meter.reset()
        out[f"stats_requests_per_call_with_{label}"] = round(used.total_requests / calls, 2)
        out[f"stats_rcu_per_call_with_{label}"] = round(used.rcu / calls, 3)
        out[f"stats_wcu_per_call_with_{label}"] = round(used.wcu / calls, 3)
        out[f"auth_requests_per_call_with_{label}"] = round(
            (used.requests["UpdateItem"] + used.requests["GetItem"]) / calls, 2
        )
    out["rate_limit_wcu_per_call"] = out["stats_wcu_per_call_with_session"]
    return out


def _median_seconds(call: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _session_of_500(meter: Any, token: str) -> dict[str, float]:
    from ghostid.timeutil import format_timestamp, now_ms
    from ghostid_local.lambda_context import load_handler_from_file

    start = now_ms() - 3_600_000
    events = [
        {
            "session_id": "gs_long",
            "ghost_vid": "gv_long",
            "type": "pageview" if n % 4 else "custom_event",
            "event_name": "" if n % 4 else "scrolled",
            "page": f"/docs/page-{n % 40}",
            "page_title": f"Docs page {n % 40}",
            "timestamp": format_timestamp(start + n * 7_000),
            "props": {} if n % 4 else {"depth": n % 100},
            "country": "Canada",
            "city": "Toronto",
            "device_type": "desktop",
            "browser": "Firefox",
            "os": "Linux",
            "referrer": "https://duckduckgo.com",
        }
        for n in range(500)
    ]
    items = _stored(SESSIONS, events)
    _each_parallel(put_event_item, items)
    _rollup_handler()({"Records": _records(items)}, _context("RollupFunction"))
    session = load_handler_from_file(ROOT / "functions" / "session", "app.lambda_handler", "bench_session")
    event = _http("/api/session/{id}", {"siteId": str(SESSIONS)}, token, path_id="gs_long")
    meter.reset()
    response = session(event, _context("SessionFunction"))
    used = meter.reset()
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["event_count"] == 500
    return {"session_requests_per_call": used.total_requests, "session_rcu_per_call": round(used.rcu, 2)}


# --- CPU, imports, scale --------------------------------------------------------------------------


def _fold_cpu() -> dict[str, float]:
    """The fold alone, no I/O: validate records, recompute cells, deltas and sketches for 30,000 events."""
    from collections import defaultdict

    from ghostid.dal.events import item_to_event
    from ghostid.logic import sketches
    from ghostid.logic.consumer import facts_from_item
    from ghostid.logic.fold import Deltas, session_cells
    from ghostid.models.sites import LeadRules
    from ghostid.timeutil import now_ms

    items = _stored(9, _traffic(visitors=5_400, days=30, seed=9, end_ms=now_ms()))
    rules = LeadRules()
    started = time.process_time()
    for start in range(0, len(items), 100):
        batch = items[start : start + 100]
        sessions: dict[str, list[Any]] = defaultdict(list)
        for item in batch:
            event = item_to_event(item)  # what the handler does per record (poison check)
            sessions[event.session_id].append(facts_from_item(item))
        deltas = Deltas()
        members: dict[str, set[str]] = defaultdict(set)
        for facts in sessions.values():
            for cell in session_cells(facts, rules).values():
                deltas.add_cell_change(None, cell)
                members[f"{cell.hour}"].add(cell.visitor)
        for visitors in members.values():
            sketches.of(visitors)
    cpu = time.process_time() - started
    return {"consumer_records_per_cpu_second": round(len(items) / cpu), "fold_cpu_records": len(items)}


def _cold_imports() -> dict[str, float]:
    env = {
        **os.environ,
        "SESSIONS_TABLE": "s",
        "SITES_TABLE": "s",
        "EVENTS_TABLE": "e",
        "ROLLUPS_TABLE": "r",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "shared")]),
    }

    def seconds(code: str, cwd: Path) -> float:
        runs = []
        for _ in range(7):
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)",
                ],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(float(out.stdout.strip().splitlines()[-1]))
        return statistics.median(runs)

    boto3_seconds = seconds("import boto3", ROOT)
    out = {"import_boto3_ms": round(boto3_seconds * 1000, 1)}
    for function in sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").exists()):
        handler = seconds("import app", ROOT / "functions" / function)
        out[f"cold_import_ratio_{function}"] = round(handler / boto3_seconds, 3)
    return out


def _scale_day() -> dict[str, float]:
    """One synthetic day of a site with 100,000 distinct pages and 1,000,000 visitors, folded in memory."""
    import random

    from ghostid.dal.codec import item_size
    from ghostid.dal.rollups import delta_items, sketch_items
    from ghostid.logic import sketches
    from ghostid.logic.fold import Cell, Deltas, page_hash
    from ghostid.logic.stats import _top

    rng = random.Random(100)
    hour0 = 20_000 * 24
    pages = [f"/docs/{n // 100}/article-{n}" for n in range(100_000)]
    countries = [f"Country {c}" for c in range(200)]
    deltas = Deltas(page_shards={"H": 16, "D": 64})  # PAGE_SHARDS="16,64" for a site this size
    exact_pages: dict[str, int] = {}
    exact_countries: dict[str, set[str]] = {}
    day_members: dict[str, set[str]] = {"u#v": set()}
    for visitor_number in range(1_000_000):
        visitor = f"gv_{visitor_number:08x}"
        page = (
            pages[min(int(rng.paretovariate(1.1)) - 1, 99_999)] if visitor_number % 10 else rng.choice(pages)
        )
        country = countries[min(int(rng.expovariate(0.08)), 199)]
        views = 1 + visitor_number % 3
        cell = Cell(
            hour0 + visitor_number % 24,
            visitor,
            pageviews=views,
            events=views,
            first=1,
            pages={page_hash(page): views},
            countries={country},
            page_names={page_hash(page): page},
        )
        deltas.add_cell_change(None, cell)
        exact_pages[page] = exact_pages.get(page, 0) + views
        exact_countries.setdefault(country, set()).add(visitor)
        day_members["u#v"].add(visitor)
        day_members.setdefault(f"g#{country}", set()).add(visitor)
    items = delta_items(1, deltas)
    blobs = {name: sketches.of(members) for name, members in day_members.items()}
    items += sketch_items(("1#D", "2024-10-04"), blobs, 16 * 1024)
    largest = max(item_size(item) for item in items)
    totals: dict[str, int] = {}
    for item in items:
        if "#p#" in item["sk"]["S"] and item["pk"]["S"].endswith("#D"):
            for page, value in item.items():
                if page not in ("pk", "sk"):
                    totals[page] = totals.get(page, 0) + int(value["N"])
    visitors_error = abs(sketches.union_estimate([blobs["u#v"]]) - 1_000_000) / 1_000_000
    country_errors = [
        abs(sketches.union_estimate([blobs[f"g#{c}"]]) - len(v)) / len(v) for c, v in exact_countries.items()
    ]
    return {
        "scale_day_largest_item_bytes": largest,
        "scale_day_items": len(items),
        "scale_day_unique_visitors_error": round(visitors_error, 5),
        "scale_day_country_visitors_max_error": round(max(country_errors), 5),
        "scale_day_top_pages_exact": float(_top(totals.items()) == _top(exact_pages.items())),
    }


def _print(results: dict[str, float], seconds: float) -> None:
    width = max(len(k) for k in results)
    print(f"\n{'figure':<{width}}  value")
    for name, value in sorted(results.items()):
        print(f"{name:<{width}}  {value}")
    print(f"\nbench took {seconds:.0f} s; wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
