"""Lead alerts end to end against DynamoDB Local, the local SQS and a local HTTP receiver: the real sender
function (loaded from template.yaml as `make serve` loads it) drains the real queue.

Until the stream consumer detects transitions, a fake consumer stands in: for the visitors a batch
touches it recomputes, by brute force, when each first became a hot lead and first identified (PRODUCT §4,
event order), and calls `record_transitions`. It runs under the stream fault injection of
test_stream_faults.py: duplicated and shuffled records, overlapping replays, crashes after k DynamoDB or
SQS calls, two consumers at once, and a rebuild at the end. The receiver must then have seen exactly one
delivery id per transition and webhook, each once, each correctly signed.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from ghostid import settings, timeutil
from ghostid.dal import client as ddb_client
from ghostid.dal import queue, secrets
from ghostid.dal import sites as sites_dal
from ghostid.logic import alerts, webhook_sender
from ghostid.logic.webhook_sender import RetrySchedule
from ghostid.models.alerts import Transition
from ghostid.models.sites import LeadRules, Site
from ghostid_local import cli, serve
from ghostid_local.lambda_context import load_function
from ghostid_local.queues import QueuePoller, create_queues, queue_sources
from ghostid_local.sqs_local import LocalSqs
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.support import figures, traffic
from tests.support.receiver import Receiver, failing_first, readme_verifier, receiving

pytestmark = pytest.mark.integration

SETTINGS = hypothesis_settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_sites = itertools.count(500)
FAULTS: Counter[str] = Counter()
RULES = LeadRules()


@dataclass
class AlertStack:
    receiver: Receiver
    poller: QueuePoller
    secrets: dict[int, dict[str, str]] = field(default_factory=dict)  # site -> webhook id -> secret


@pytest.fixture(scope="module", autouse=True)
def report_faults() -> Iterator[None]:
    FAULTS.clear()
    yield
    for kind, count in FAULTS.items():
        figures.record(f"webhook faults injected: {kind}", count)


@pytest.fixture
def local_sqs(
    local_aws_env: dict[str, str],
    cfn_template: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[LocalSqs, dict[str, str]]]:
    sqs = LocalSqs(tmp_path / "sqs.sqlite3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", sqs.start())
    urls = create_queues(boto3.client("sqs"), cfn_template)
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", urls["WebhookQueue"])
    monkeypatch.setenv("WEBHOOK_KEY_ID", f"file:{tmp_path / 'webhook-secrets.key'}")
    monkeypatch.setenv("WEBHOOK_TARGETS", "local")
    _reset()
    yield sqs, urls
    _reset()
    sqs.stop()


def _reset() -> None:
    for reset in (
        settings.clear_cache,
        ddb_client.dynamodb.cache_clear,
        queue.sqs.cache_clear,
        secrets.kms.cache_clear,
    ):
        reset()


@pytest.fixture
def stack(
    local_sqs: tuple[LocalSqs, dict[str, str]],
    local_aws_env: dict[str, str],
    cfn_template: dict[str, Any],
    tmp_path: Path,
) -> Iterator[AlertStack]:
    """The sender function as `make serve` loads it, fed by a QueuePoller; a receiver answering 200."""
    _, urls = local_sqs
    names = {**local_aws_env, **urls, "WebhookSecretsKey": f"file:{tmp_path / 'webhook-secrets.key'}"}
    _, per_function = serve.combined_environment(cfn_template, names)
    assert per_function["WebhookSenderFunction"]["WEBHOOK_TARGETS"] == "local"
    sender = load_function(cfn_template, "WebhookSenderFunction", per_function["WebhookSenderFunction"])
    (source,) = queue_sources(cfn_template)
    with receiving() as receiver:
        yield AlertStack(
            receiver, QueuePoller(sender.invoke, source, urls["WebhookQueue"], boto3.client("sqs"))
        )


# ------------------------------------------------------------------ the fake consumer


def brute_force_transitions(events: Sequence[dict[str, Any]], site: int, now_ms: int) -> list[Transition]:
    """First hot and first identified of each visitor, walking its events in event order (ties by id)."""
    found = []
    by_visitor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_visitor[event["ghost_vid"]].append(event)
    for vid, own in sorted(by_visitor.items()):
        own.sort(key=lambda e: (timeutil.parse_timestamp(e["timestamp"]), e.get("event_id", "")))
        high, custom, user = 0, 0, None
        hot_at: int | None = None
        identified_at: int | None = None
        for event in own:
            at = timeutil.parse_timestamp(event["timestamp"])
            high += event["type"] == "pageview" and RULES.is_high_intent(event["page"])
            custom += event["type"] == "custom_event"
            if event.get("user_id") and identified_at is None:
                user, identified_at = event["user_id"], at
            if hot_at is None and RULES.is_hot(high, custom, user is not None):
                hot_at = at
        lead = {
            "ghost_vid": vid,
            "identified_user_id": user,
            "score": RULES.score(high, custom, user is not None),
        }
        if hot_at is not None:
            found.append(Transition(site, vid, "lead.hot", hot_at, lead))
        if identified_at is not None:
            found.append(Transition(site, vid, "visitor.identified", identified_at, lead))
    return found


def fake_consumer(
    site: int, all_events: Sequence[dict[str, Any]], now_ms: int
) -> Callable[[Sequence[dict[str, Any]]], None]:
    """A consumer that, for the visitors a batch touches, detects transitions from every stored event."""

    def consume(batch: Sequence[dict[str, Any]]) -> None:
        touched = {event["ghost_vid"] for event in batch}
        mine = [e for e in all_events if e["ghost_vid"] in touched]
        alerts.record_transitions(brute_force_transitions(mine, site, now_ms), now_ms)

    return consume


# ------------------------------------------------------------------ crashes after k DynamoDB / SQS calls


class InjectedCrash(RuntimeError):
    pass


@dataclass
class Crasher:
    allowed: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, **_: Any) -> None:
        with self.lock:
            if self.allowed is None:
                return
            if self.allowed == 0:
                self.allowed = None
                FAULTS["crash after k DynamoDB/SQS calls"] += 1
                raise InjectedCrash("the consumer died between two calls")
            self.allowed -= 1


@pytest.fixture
def crasher(stack: AlertStack) -> Iterator[Crasher]:
    hook = Crasher()
    clients = (ddb_client.dynamodb(), queue.sqs())
    for c in clients:
        c.meta.events.register("before-call.*.*", hook)
    yield hook
    for c in clients:
        c.meta.events.unregister("before-call.*.*", hook)


def new_site(stack: AlertStack, seed: int, visitors: int, now: datetime) -> tuple[int, list[dict[str, Any]]]:
    site = next(_sites)
    sites_dal.put_site(Site(site_id=site, domain="example.com"))
    stack.secrets[site] = {}
    for events in (("lead.hot", "visitor.identified"), ("lead.hot",)):
        webhook, secret = alerts.add_webhook(
            site, stack.receiver.url(f"/site{site}"), events, timeutil.now_ms()
        )
        stack.secrets[site][webhook.webhook_id] = secret
    return site, traffic.generate(now, seed=seed, visitors=visitors, days=3)


def assert_one_signed_delivery_each(
    stack: AlertStack, site: int, events: list[dict[str, Any]], now_ms: int
) -> None:
    """Exactly the sendable transitions, once per subscribed webhook, each id POSTed once, validly signed."""
    verify = readme_verifier()
    stack.poller.drain(timeout=60)
    hooks = {w.webhook_id: w.events for w in alerts.list_webhooks(site)}
    expected = Counter(
        alerts.delivery_id(site, t.ghost_vid, t.type, hook)
        for t in brute_force_transitions(events, site, now_ms)
        if now_ms - t.occurred_at_ms <= alerts.SEND_WINDOW_MS
        for hook, kinds in hooks.items()
        if t.type in kinds
    )
    posts = [p for p in stack.receiver.posts if p.path == f"/site{site}"]
    assert Counter(p.json["id"] for p in posts) == expected
    for post in posts:
        (hook,) = [
            d.webhook_id
            for d in alerts.list_deliveries(site, limit=10_000)
            if d.delivery_id == post.json["id"]
        ]
        assert verify(stack.secrets[site][hook], post.headers["ghost-signature"], post.body)
    assert {d.status for d in alerts.list_deliveries(site, limit=10_000)} <= {"delivered"}
    figures.record("webhook deliveries checked (one id each, signed)", len(posts))


# ------------------------------------------------------------------ chaos


@dataclass
class Chaos:
    consume: Any
    crasher: Crasher
    rng: random.Random
    p_duplicate: float
    p_replay: float
    p_crash: float
    seen: list[dict[str, Any]] = field(default_factory=list)

    def deliver(self, records: list[dict[str, Any]]) -> None:
        """One batch as the stream would deliver it, retried until it goes through (as Lambda does)."""
        self.seen.extend(records)
        for _ in range(20):
            batch = list(records)
            if self.rng.random() < self.p_duplicate:
                batch += self.rng.sample(records, k=self.rng.randint(1, len(records)))
                self.rng.shuffle(batch)
                FAULTS["duplicate delivery"] += 1
            if self.rng.random() < self.p_replay and len(self.seen) > len(records):
                earlier = self.seen[: -len(records)]
                start = self.rng.randrange(len(earlier))
                batch = earlier[start : start + self.rng.randint(1, 30)] + batch
                FAULTS["overlapping replay"] += 1
            if self.rng.random() < self.p_crash:
                self.crasher.allowed = self.rng.randint(0, 15)
            try:
                self.consume(batch)
                return
            except InjectedCrash:
                continue
            finally:
                self.crasher.allowed = None
        pytest.fail("a batch never went through")


plans = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 10_000),
        "visitors": st.integers(2, 8),
        "batch_size": st.sampled_from([1, 3, 10, 50]),
        "rng_seed": st.integers(0, 2**32),
        "p_duplicate": st.sampled_from([0.0, 0.5]),
        "p_replay": st.sampled_from([0.0, 0.5]),
        "p_crash": st.sampled_from([0.0, 0.4, 0.8]),
    }
)


@hypothesis_settings(SETTINGS, max_examples=12)
@given(plan=plans)
def test_one_delivery_id_per_transition_under_duplicates_replays_and_crashes(
    stack: AlertStack, crasher: Crasher, plan: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    site, events = new_site(stack, plan["seed"], plan["visitors"], now)
    rng = random.Random(plan["rng_seed"])
    shuffled = list(events)
    rng.shuffle(shuffled)  # several shards, in no particular order
    chaos = Chaos(
        fake_consumer(site, events, now_ms),
        crasher,
        rng,
        plan["p_duplicate"],
        plan["p_replay"],
        plan["p_crash"],
    )
    for start in range(0, len(shuffled), plan["batch_size"]):
        chaos.deliver(shuffled[start : start + plan["batch_size"]])
    fake_consumer(site, events, now_ms)(events)  # a rollup rebuild: every visitor again
    FAULTS["rebuild"] += 1
    assert_one_signed_delivery_each(stack, site, events, now_ms)


@hypothesis_settings(SETTINGS, max_examples=6)
@given(seed=st.integers(0, 10_000), visitors=st.integers(3, 8), split=st.randoms(use_true_random=False))
def test_two_consumers_at_once(
    stack: AlertStack, crasher: Crasher, seed: int, visitors: int, split: random.Random
) -> None:
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    site, events = new_site(stack, seed, visitors, now)
    consume = fake_consumer(site, events, now_ms)
    barrier, errors = threading.Barrier(2), []

    def run(batch: list[dict[str, Any]]) -> None:
        barrier.wait()
        try:
            for _ in range(2):  # and again, as a retried batch would
                consume(batch)
        except BaseException as error:
            errors.append(error)

    shared = split.sample(events, k=len(events) // 2)
    threads = [
        threading.Thread(target=run, args=(shared + events[::2],)),
        threading.Thread(target=run, args=(shared + events[1::2],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    FAULTS["concurrent consumers"] += 1
    assert errors == []
    assert_one_signed_delivery_each(stack, site, events, now_ms)


# ------------------------------------------------------------------ retries through the real queue


def quick_retries(monkeypatch: pytest.MonkeyPatch, budget_s: int) -> None:
    """Compressed time: retries 1 s apart (SQS counts whole seconds) within `budget_s`."""
    monkeypatch.setattr(webhook_sender, "DEFAULT_SCHEDULE", RetrySchedule(delays_s=(1,), budget_s=budget_s))


def hot_lead(site: int, vid: str = "gv_1") -> None:
    now = timeutil.now_ms()
    alerts.record_transitions([Transition(site, vid, "lead.hot", now - 1000, {"ghost_vid": vid})], now)


def test_a_receiver_answering_500_three_times_then_200_gets_the_same_id_four_times(
    stack: AlertStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick_retries(monkeypatch, budget_s=60)
    with receiving(failing_first(3)) as receiver:
        alerts.add_webhook(7, receiver.url(), ["lead.hot"], timeutil.now_ms())
        hot_lead(7)
        stack.poller.drain(timeout=30)
        (delivery,) = alerts.list_deliveries(7)
        assert [p.json["id"] for p in receiver.posts] == [delivery.delivery_id] * 4
        gaps = [b.at - a.at for a, b in itertools.pairwise(receiver.posts)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # each retry waited for its backoff
    assert (delivery.status, delivery.attempts) == ("delivered", 4)


def test_an_unreachable_url_ends_as_failed_after_the_retry_budget(
    stack: AlertStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick_retries(monkeypatch, budget_s=6)
    with receiving() as gone:
        url = gone.url()
    alerts.add_webhook(8, url, ["lead.hot"], timeutil.now_ms())
    hot_lead(8)
    stack.poller.drain(timeout=30)
    (delivery,) = alerts.list_deliveries(8)
    assert (delivery.status, delivery.last_error) == ("failed", "connection refused")
    assert 2 <= delivery.attempts <= 7  # about a second apart (more or less, on a busy machine)
    assert (delivery.finished_at_ms or 0) - delivery.created_at_ms >= 6_000  # not before the budget ran out


def test_a_sender_that_dies_mid_attempt_leaves_it_to_the_redelivered_message(
    stack: AlertStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    sqs.set_queue_attributes(QueueUrl=stack.poller.queue_url, Attributes={"VisibilityTimeout": "2"})
    monkeypatch.setattr(webhook_sender, "LEASE_MS", 1_000)
    real = webhook_sender._attempt
    calls = Counter[str]()

    def dies_once(*args: Any, **kwargs: Any) -> Any:
        calls["attempt"] += 1
        if calls["attempt"] == 1:
            raise RuntimeError("the sender was killed after claiming the attempt")
        return real(*args, **kwargs)

    monkeypatch.setattr(webhook_sender, "_attempt", dies_once)
    alerts.add_webhook(9, stack.receiver.url("/nine"), ["lead.hot"], timeutil.now_ms())
    hot_lead(9)
    stack.poller.drain(timeout=30)
    (delivery,) = alerts.list_deliveries(9)
    assert [p.json["id"] for p in stack.receiver.posts if p.path == "/nine"] == [delivery.delivery_id]
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


# ------------------------------------------------------------------ as `make serve` runs it


def test_make_serve_wiring_fires_a_webhook_added_with_the_cli(
    local_aws_env: dict[str, str],
    ddb_endpoint: str,
    cfn_template: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """serve.start_queues + the template's functions + start_queue_pollers, and `ghostid webhook add`
    finding the running stack's queue through the state folder."""
    monkeypatch.setattr(serve, "STATE_DIR", tmp_path)
    monkeypatch.setenv("GHOSTID_LOCAL_STATE", str(tmp_path))
    monkeypatch.setenv("DDB_ENDPOINT", ddb_endpoint)
    for variable in ("AWS_ENDPOINT_URL_SQS", "WEBHOOK_QUEUE_URL", "WEBHOOK_KEY_ID", "WEBHOOK_TARGETS"):
        monkeypatch.delenv(variable, raising=False)  # set by serve and by `ghostid`, restored after
    sqs, urls = serve.start_queues(cfn_template, ddb_endpoint)
    stop = threading.Event()
    try:
        names = {**local_aws_env, **urls, "WebhookSecretsKey": f"file:{tmp_path / 'webhook-secrets.key'}"}
        union, per_function = serve.combined_environment(cfn_template, names)
        for name, value in union.items():
            monkeypatch.setenv(name, value)
        _reset()
        functions = {
            "WebhookSenderFunction": load_function(
                cfn_template, "WebhookSenderFunction", per_function["WebhookSenderFunction"]
            )
        }
        serve.start_queue_pollers(cfn_template, functions, urls, stop)
        sites_dal.put_site(Site(site_id=4, domain="example.com"))
        with receiving() as receiver:
            out = io.StringIO()
            assert (
                cli.main(
                    ["webhook", "add", "--site", "4", "--url", receiver.url()], out=out, err=io.StringIO()
                )
                == 0
            )
            secret = out.getvalue().splitlines()[2].rsplit(" ", 1)[1]
            hot_lead(4, "gv_demo")  # what the consumer will do when a demo visitor turns hot
            deadline = time.monotonic() + 20
            while not receiver.posts and time.monotonic() < deadline:
                time.sleep(0.1)
            (post,) = receiver.posts
        assert readme_verifier()(secret, post.headers["ghost-signature"], post.body)
        assert post.json["lead"] == {"ghost_vid": "gv_demo"}
        out = io.StringIO()
        assert cli.main(["webhook", "deliveries", "--site", "4"], out=out, err=io.StringIO()) == 0
        assert " delivered " in out.getvalue()
    finally:
        stop.set()
        time.sleep(1.2)  # the poller's long poll ends
        sqs.stop()
    assert json.loads((tmp_path / "local-queues.json").read_text())["queues"] == urls
