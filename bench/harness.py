"""What both bench commands share: DynamoDB Local in-process, a simulated clock, the handlers called with API
Gateway events, sites and their members, stream records, a background writer for bulk loads, the stream
settings read from template.yaml, and the scopes that say which step of the consumer spent what."""

from __future__ import annotations

import os
import queue
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
USER = "bench@example.com"
os.environ.update(
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="Bench",
    POWERTOOLS_SERVICE_NAME="bench",
    POWERTOOLS_METRICS_DISABLED="true",
    LOG_LEVEL="ERROR",
    CURSOR_SECRET="bench-cursor-secret-bench-cursor-secret",
    RATE_LIMIT_PER_MINUTE="1000000",  # the bench calls faster than a person; the cost per call is the same
)
ROUTES = {  # route name -> (function folder, route key)
    "stats": ("stats", "/api/stats"),
    "timeseries": ("timeseries", "/api/timeseries"),
    "breakdown": ("breakdown", "/api/breakdown"),
    "realtime": ("realtime", "/api/realtime"),
    "leads": ("leads", "/api/leads"),
    "sessions": ("sessions", "/api/sessions"),
    "visitor": ("visitor", "/api/visitors/{ghost_vid}"),
    "session": ("session", "/api/session/{session_id}"),
}


# --- the clock ------------------------------------------------------------------------------------------


class Clock:
    """`ghostid.timeutil.now_ms`, as every handler reads it, set by the bench (simulated time)."""

    def __init__(self, start_ms: int) -> None:
        from ghostid import timeutil

        self.ms = start_ms
        self._real = timeutil.now_ms
        timeutil.now_ms = self.now

    def now(self) -> int:
        return self.ms

    def set(self, ms: int) -> None:
        self.ms = ms

    def restore(self) -> None:
        from ghostid import timeutil

        timeutil.now_ms = self._real


# --- DynamoDB Local -------------------------------------------------------------------------------------


@contextmanager
def dynamodb_local() -> Iterator[Any]:
    """DynamoDB Local (in memory) with the template's tables; yields the meter on the product's client."""
    import boto3
    from ghostid.dal.client import dynamodb
    from ghostid_local import dynamodb_local as ddb_local
    from ghostid_local import target
    from ghostid_local.cfn_yaml import load_template
    from ghostid_local.tables import create_tables

    from bench.meter import Meter

    with ddb_local.start(ddb_local.free_port(), in_memory=True) as ddb:
        _dynamodb_pids.append(ddb.proc.pid)
        target.use_local(ddb.endpoint)
        create_tables(boto3.client("dynamodb"), load_template(ROOT / "template.yaml"))
        yield Meter(_patient(dynamodb))


def _patient(factory: Callable[[], Any]) -> Any:
    """The product's client (cached: every module gets this one), with long read timeouts: DynamoDB Local
    on a busy two-core machine can take longer than the product's 5 s to answer a 1 MB page."""
    import botocore.config

    original = botocore.config.Config

    class Patient(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.update(read_timeout=300, connect_timeout=30)
            super().__init__(*args, **kwargs)

    botocore.config.Config = Patient  # type: ignore[misc]
    try:
        return factory()
    finally:
        botocore.config.Config = original  # type: ignore[misc]


def stream_settings() -> tuple[int, float]:
    """(BatchSize, MaximumBatchingWindowInSeconds) of the rollup function's stream, from template.yaml."""
    from ghostid_local.cfn_yaml import load_template

    template = load_template(ROOT / "template.yaml")
    events = template["Resources"]["RollupFunction"]["Properties"]["Events"]
    (stream,) = [e["Properties"] for e in events.values() if e["Type"] == "DynamoDB"]
    return int(stream["BatchSize"]), float(stream.get("MaximumBatchingWindowInSeconds", 0))


def add_site(site_id: int, timezone: str = "UTC") -> Any:
    from ghostid.dal import sites
    from ghostid.models.sites import Site

    site = Site(site_id=site_id, domain=f"site{site_id}.example", timezone=timezone)
    sites.put_site(site)
    sites.add_member(site_id, USER)
    return site


def login_token() -> str:
    from ghostid.logic import auth

    return auth.create_login_session(USER, hours=24 * 30)


# --- handlers ----------------------------------------------------------------------------------------


def context(name: str) -> Any:
    from ghostid_local.lambda_context import LambdaContext

    return LambdaContext(name, timeout_s=900)


class Api:
    """The read routes' handlers, called in-process with API Gateway (HTTP API, payload 2.0) events."""

    def __init__(self, token: str) -> None:
        from ghostid_local.lambda_context import load_handler_from_file

        self.token = token
        self.handlers = {
            name: load_handler_from_file(ROOT / "functions" / folder, "app.lambda_handler", f"bench_{name}")
            for name, (folder, _) in ROUTES.items()
        }
        self.rollup = load_handler_from_file(
            ROOT / "functions" / "rollup", "app.lambda_handler", "bench_rollup"
        )

    def event(
        self,
        name: str,
        query: dict[str, str],
        path_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """With the session cookie, or with `headers` instead (`{"authorization": "Bearer gk_..."}`)."""
        route = ROUTES[name][1]
        path = route.split("{")[0] + path_id if path_id else route
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": f"GET {route}",
            "rawPath": path,
            "rawQueryString": urlencode(query),
            "cookies": [] if headers else [f"session={self.token}"],
            "headers": dict(headers or {}),
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
            event["pathParameters"] = {route.split("{")[1].rstrip("}"): path_id}
        return event

    def status(self, name: str, query: dict[str, str], path_id: str | None = None) -> int:
        with _silent():
            response = self.handlers[name](self.event(name, query, path_id), context(name))
        return int(response["statusCode"])

    def call(
        self,
        name: str,
        query: dict[str, str],
        path_id: str | None = None,
        credential: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The parsed body of a 200 (anything else raises: a bench that measures errors measures nothing)."""
        import json

        with _silent():
            response = self.handlers[name](self.event(name, query, path_id, credential), context(name))
        if response["statusCode"] != 200:
            raise RuntimeError(f"{name} {query} {path_id}: {response['statusCode']} {response['body']}")
        return dict(json.loads(response["body"]))

    def fold(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """Delivers stored event items to the rollup function as one stream batch."""
        with _silent():
            response = self.rollup({"Records": stream_records(items)}, context("RollupFunction"))
        if response.get("batchItemFailures"):
            raise RuntimeError(f"the rollup function failed records: {response}")
        return dict(response)


@contextmanager
def _silent() -> Iterator[None]:
    """Powertools prints each invocation's metrics (EMF) to stdout: not the bench's output."""
    import contextlib
    import io
    import warnings

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


_sequence = iter(range(1, 1 << 62))


def stream_records(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    records = []
    for item in items:
        number = next(_sequence)
        records.append(
            {
                "eventID": str(number),
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "eventVersion": "1.1",
                "dynamodb": {
                    "Keys": {"pk": item["pk"], "sk": item["sk"]},
                    "NewImage": item,
                    "SequenceNumber": f"{number:021d}",
                    "StreamViewType": "NEW_IMAGE",
                },
            }
        )
    return records


def event_item(site_id: int, event: dict[str, Any]) -> dict[str, Any]:
    """An import-shape event as the events table stores it (validated like the collector's)."""
    from ghostid.dal.events import event_to_item
    from ghostid.models.events import Event, StoredEvent

    parsed = Event.model_validate(event)
    return event_to_item(StoredEvent(site_id=site_id, **parsed.model_dump()))


# --- bulk writes -----------------------------------------------------------------------------------------


class Writer:
    """BatchWriteItem from background threads (DynamoDB Local writes while Python folds), bounded: at most
    `depth` chunks wait, so memory stays flat. Not metered (`quiet`): loading is not what we measure."""

    def __init__(self, table: Callable[[], str], threads: int = 3, depth: int = 8) -> None:
        self._table = table
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(depth)
        self._errors: list[BaseException] = []
        self.items = 0
        self.seconds_waiting = 0.0
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def __call__(self, items: list[dict[str, Any]]) -> None:
        if self._errors:
            raise RuntimeError("a bulk write failed") from self._errors[0]
        started = time.perf_counter()
        for start in range(0, len(items), 500):
            self._queue.put(items[start : start + 500])
        self.seconds_waiting += time.perf_counter() - started
        self.items += len(items)

    def _run(self) -> None:
        from ghostid.dal.client import batch_write

        from bench.meter import quiet

        while (chunk := self._queue.get()) is not None:
            try:
                with quiet():
                    batch_write(self._table(), chunk)
            except BaseException as error:  # reported by the next call or by close()
                self._errors.append(error)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise RuntimeError("a bulk write failed") from self._errors[0]


# --- which step spent what --------------------------------------------------------------------------------

DAY_TURN = "seal.day"  # the part of sealing that only a new local day brings
HOUR_TURN = "seal.hour"  # the part every new hour brings (`seal.hour`, `seal.hour.prefixes`)
# Sealing run because a batch changed sealed periods (a session going on past an hour turn changes the
# hour before it): the marked hours again, the prefixes that hold them, and the days of small sites. As
# often as batches bring such changes, so never weighted like the turns. A big site's late-changed day
# waits for the next hour turn (`ghostid.logic.sealing`): that rebuild, once a day, counts as DAY_TURN.
LATE = "seal.late"


def label_steps(meter: Any) -> None:
    """Scopes around the consumer's and the sealer's steps (their module attributes are what they call)."""
    from ghostid.dal import state as state_dal
    from ghostid.logic import consumer, sealing

    steps = {
        "_fold": "consumer.read_events",
        "_write_cells": "consumer.cells",
        "settle_visitor": "consumer.visitors",
        "reach_back": "consumer.presence",
        "_hand_over": "consumer.alerts",
        "_mark_late": "consumer.late",
        "_keep_current_hour": "consumer.current_hour",
        "_keep_live": "consumer.realtime",
        "site_config": "consumer.site",
    }
    for name, label in steps.items():
        setattr(consumer, name, meter.wrap(getattr(consumer, name), label))
    state_dal.advance = meter.wrap(state_dal.advance, "consumer.state")
    turn = [False]  # whether the sealing run in progress is a turn's (else it only rebuilds marks)

    def seal_label(site_id: int, zone: Any, now_ms: int) -> str:
        from bench.meter import quiet

        with quiet():
            turn[0] = sealing.turn_due(state_dal.get_state(site_id), zone, now_ms)
        return HOUR_TURN if turn[0] else LATE

    def day_label(*_: Any) -> str:
        return DAY_TURN if turn[0] else LATE

    def prefix_label(_tree: Any, kinds: tuple[str, ...], _report: Any) -> str:
        if not turn[0]:
            return LATE
        return DAY_TURN if kinds == sealing.DAY_PREFIXES else "seal.hour.prefixes"

    sealing.seal = meter.wrap(sealing.seal, seal_label)
    sealing._rebuild_marks = meter.wrap(sealing._rebuild_marks, LATE)
    for name in ("_write_day", "_write_parent"):
        setattr(sealing, name, meter.wrap(getattr(sealing, name), day_label))
    sealing._build_prefixes = meter.wrap(sealing._build_prefixes, prefix_label)


# --- measuring helpers -----------------------------------------------------------------------------------


@dataclass
class Timed:
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def median_seconds(call: Callable[[], Any], runs: int, before: Callable[[], Any] | None = None) -> float:
    """Median of warm calls (two unmeasured first); `before` runs untimed before each."""
    for _ in range(2):
        if before:
            before()
        call()
    timed = Timed()
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        call()
        timed.seconds.append(time.perf_counter() - started)
    return timed.median


_dynamodb_pids: list[int] = []


def cpu_minutes() -> dict[str, float]:
    """CPU time used so far by this process (the bench, the handlers, chDB) and by DynamoDB Local: on a
    shared machine the wall time says more about the neighbours than about the bench."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    java = 0.0
    for pid in _dynamodb_pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            java += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return {
        "cpu_minutes_python": round((usage.ru_utime + usage.ru_stime) / 60, 1),
        "cpu_minutes_dynamodb_local": round(java / 60, 1),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
