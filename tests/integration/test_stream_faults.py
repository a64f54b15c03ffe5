"""Fault injection on the stream consumer, property-based, against DynamoDB Local.

Hypothesis draws traffic and a chaos plan; the real StreamPoller (Lambda's event source mapping:
batch size, bisect on error, partial-batch redelivery, retries, on-failure sink) feeds the real
rollup handler through a wrapper that duplicates records, replays earlier ones, corrupts a record
for one attempt (a partial-batch failure) and crashes the handler after k DynamoDB writes (a botocore
hook on the shared client, so it hits cell transactions, sketch writes and visitor updates alike).
Two consumers also fold overlapping sessions from two threads at once. After every run each
number the API serves equals the independent recomputation from the raw events.

Each example uses a new site id, so examples share the tables but never each other's rollups.
"""

from __future__ import annotations

import copy
import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from ghostid.dal import client as client_module
from ghostid.dal import events as events_dal
from ghostid.logic import consumer
from ghostid.settings import events_table
from ghostid_local.lambda_context import LocalFunction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import figures, lambdas, traffic
from tests.support.scenario import NOW, NOW_MS, assert_matches_reference, import_traffic, stored_events
from tests.support.stack import Stack, local_stack

pytestmark = pytest.mark.integration

WRITES = {"PutItem", "UpdateItem", "TransactWriteItems", "DeleteItem", "BatchWriteItem"}
SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_sites = itertools.count(100)
FAULTS: Counter[str] = Counter()


class InjectedCrash(RuntimeError):
    """The consumer 'died' in the middle of a batch (Lambda timeout, out of memory, lost network)."""


@dataclass
class Crasher:
    """A botocore hook that lets `allowed` more writes through, then fails the next one (once)."""

    allowed: int | None = None
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, model: Any, **_: Any) -> None:
        if model.name not in WRITES:
            return
        if self.delay_s:
            time.sleep(random.random() * self.delay_s)  # widen the races between consumers
        with self.lock:
            if self.allowed is None:
                return
            if self.allowed == 0:
                self.allowed = None
                FAULTS["crash after k writes"] += 1
                raise InjectedCrash("injected crash between two writes of a batch")
            self.allowed -= 1


@pytest.fixture
def stack(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    with local_stack(local_aws_env, cfn_template, monkeypatch) as running:
        running.poller.drain(timeout=30)
        yield running


@pytest.fixture
def crasher(stack: Stack) -> Iterator[Crasher]:
    hook = Crasher()
    events = client_module.dynamodb().meta.events
    events.register("before-call.dynamodb.*", hook)
    yield hook
    events.unregister("before-call.dynamodb.*", hook)


@pytest.fixture(scope="module", autouse=True)
def report_faults() -> Iterator[None]:
    FAULTS.clear()
    yield
    figures.record("faults injected", sum(FAULTS.values()))
    for kind, count in FAULTS.items():
        figures.record(f"faults injected: {kind}", count)


def new_site(seed: int, visitors: int) -> tuple[int, list[dict[str, Any]]]:
    """A fresh site with its own traffic stored (stream records follow); returns it and its events."""
    site = next(_sites)
    import_traffic(traffic.generate(NOW, seed=seed, visitors=visitors), site=site)
    return site, stored_events(stored_items_of(site))


def stored_items_of(site: int) -> list[dict[str, Any]]:
    """The site's raw event items (test-only scan)."""
    return sorted(events_dal.scan_site_items(site), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


# ------------------------------------------------------------------ chaos through the real poller


@dataclass
class Chaos:
    """Wraps the rollup function the poller invokes; every fault is drawn from `rng`."""

    function: LocalFunction
    crasher: Crasher
    rng: random.Random
    p_duplicate: float
    p_replay: float
    p_corrupt: float
    p_crash: float
    seen: list[dict[str, Any]] = field(default_factory=list)
    faulty_in_a_row: int = 0

    def __call__(self, event: dict[str, Any]) -> Any:
        records = list(event["Records"])
        self.seen.extend(records)
        rng = self.rng
        calm = self.faulty_in_a_row >= 3  # stay below MaximumRetryAttempts: these faults are transient
        corrupted = False
        batch = list(records)
        if not calm and rng.random() < self.p_corrupt:
            victim = rng.randrange(len(batch))
            broken = copy.deepcopy(batch[victim])
            broken["dynamodb"]["NewImage"].pop("type")
            batch[victim] = broken
            corrupted = True
            FAULTS["partial batch failure"] += 1
        if rng.random() < self.p_duplicate:
            batch += rng.sample(records, k=rng.randint(1, len(records)))
            rng.shuffle(batch)
            FAULTS["duplicate delivery"] += 1
        if rng.random() < self.p_replay and len(self.seen) > len(records):
            earlier = self.seen[: -len(records)]
            start = rng.randrange(len(earlier))
            batch = earlier[start : start + rng.randint(1, 60)] + batch  # an overlapping retry
            FAULTS["overlapping replay"] += 1
        if not calm and rng.random() < self.p_crash:
            self.crasher.allowed = rng.randint(0, 12)  # counted when it fires
        try:
            result = self.function.invoke({"Records": batch})
        except InjectedCrash:
            self.faulty_in_a_row += 1
            raise
        finally:
            self.crasher.allowed = None
        self.faulty_in_a_row = self.faulty_in_a_row + 1 if corrupted else 0
        return result


chaos_plans = st.fixed_dictionaries(
    {
        "traffic_seed": st.integers(0, 10_000),
        "visitors": st.integers(2, 6),
        "batch_size": st.sampled_from([1, 3, 10, 40, 100]),
        "rng_seed": st.integers(0, 2**32),
        "p_duplicate": st.sampled_from([0.0, 0.3, 0.8]),
        "p_replay": st.sampled_from([0.0, 0.3, 0.8]),
        "p_corrupt": st.sampled_from([0.0, 0.2, 0.5]),
        "p_crash": st.sampled_from([0.0, 0.3, 0.6]),
    }
)


@pytest.mark.slow
@settings(SETTINGS, max_examples=25)
@given(plan=chaos_plans)
def test_chaos_through_the_stream_poller_counts_every_event_once(
    stack: Stack, crasher: Crasher, plan: dict[str, Any]
) -> None:
    site, events = new_site(plan["traffic_seed"], plan["visitors"])
    chaos = Chaos(
        stack.functions["RollupFunction"],
        crasher,
        random.Random(plan["rng_seed"]),
        plan["p_duplicate"],
        plan["p_replay"],
        plan["p_corrupt"],
        plan["p_crash"],
    )
    poller = stack.poller
    poller.invoke = chaos
    poller.source = replace(poller.source, batch_size=plan["batch_size"])
    poller.drain(timeout=120)
    assert stack.dead_letters == []  # transient faults never reach the on-failure destination
    assert_matches_reference(events, site=site)


# ------------------------------------------------------------------ two consumers at once


@settings(SETTINGS, max_examples=10)
@given(
    traffic_seed=st.integers(0, 10_000),
    visitors=st.integers(3, 7),
    split=st.randoms(use_true_random=False),
    via_handler=st.booleans(),
)
@pytest.mark.slow
def test_two_consumers_folding_overlapping_sessions_at_once(
    stack: Stack,
    crasher: Crasher,
    traffic_seed: int,
    visitors: int,
    split: random.Random,
    via_handler: bool,
) -> None:
    site, events = new_site(traffic_seed, visitors)
    sessions = sorted({e["session_id"] for e in events})
    shared = set(split.sample(sessions, k=max(1, len(sessions) // 2)))
    rest = [s for s in sessions if s not in shared]
    split.shuffle(rest)
    mine, theirs = shared | set(rest[::2]), shared | set(rest[1::2])
    items = stored_items_of(site)
    crasher.delay_s = 0.004  # jitter every write so the two interleave
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def fold(session_ids: set[str], handler: bool) -> None:
        barrier.wait()
        try:
            for _ in range(2):  # and once more, as a retried batch would
                if handler:
                    chosen = [i for i in items if i["session_id"]["S"] in session_ids]
                    records = [lambdas.stream_record(item, n) for n, item in enumerate(chosen, 1)]
                    assert lambdas.deliver(records) == {"batchItemFailures": []}
                else:
                    consumer.fold_batch(site, session_ids, [], NOW_MS)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=fold, args=(mine, False)),
        threading.Thread(target=fold, args=(theirs, via_handler)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    crasher.delay_s = 0.0
    FAULTS["concurrent consumers"] += 1
    assert errors == []
    assert_matches_reference(events, site=site)


# ------------------------------------------------------------------ a poison record


def test_poison_record_reaches_the_on_failure_destination_without_blocking_the_rest(stack: Stack) -> None:
    site = next(_sites)
    before = traffic.generate(NOW, seed=61, visitors=3)
    after = [
        {**e, "session_id": "late_" + e["session_id"]} for e in traffic.generate(NOW, seed=62, visitors=3)
    ]
    import_traffic(before, site=site)
    poison = {
        "pk": {"S": f"{site}#gs_poison"},
        "sk": {"S": "ev_poison"},
        "site_id": {"N": str(site)},
        "type": {"S": "teleport"},  # not an event the consumer can parse
        "ts": {"N": str(NOW_MS)},
    }
    boto3.client("dynamodb").put_item(TableName=events_table(), Item=poison)
    import_traffic(after, site=site)  # these records sit behind the poison in the stream
    attempts = Counter[str]()
    real = stack.poller.invoke

    def counting(event: dict[str, Any]) -> Any:
        for record in event["Records"]:
            attempts[record["dynamodb"]["Keys"]["sk"]["S"]] += 1
        response = real(event)
        poison_seqs = {
            r["dynamodb"]["SequenceNumber"]
            for r in event["Records"]
            if r["dynamodb"]["Keys"]["sk"]["S"] == "ev_poison"
        }
        assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == poison_seqs
        return response

    stack.poller.invoke = counting
    stack.poller.drain(timeout=120)
    (dead,) = stack.dead_letters
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in dead["records"]] == ["ev_poison"]
    assert dead["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert attempts["ev_poison"] == 1 + stack.poller.source.maximum_retry_attempts
    FAULTS["poison record"] += 1
    stored = stored_events([i for i in stored_items_of(site) if i["sk"]["S"] != "ev_poison"])
    assert len(stored) == len(before) + len(after)
    assert_matches_reference(stored, site=site)
