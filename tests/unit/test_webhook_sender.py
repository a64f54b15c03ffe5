"""The webhook sender against moto and local HTTP receivers: signed POSTs, the same id on every retry,
the retry budget, duplicates and redeliveries never POSTing a delivered id again, redirects not followed,
the address checked again at every send; and the Lambda handler's use of the queue."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from ghostid import settings
from ghostid.dal import alerts as alerts_dal
from ghostid.dal import queue
from ghostid.logic import alerts, webhook_sender, webhook_targets
from ghostid.logic.webhook_sender import RetrySchedule
from ghostid.models.alerts import Delivery, Transition
from ghostid_local.lambda_context import LambdaContext

from tests.support import lambdas
from tests.support.receiver import always, failing_first, readme_verifier, receiving

pytestmark = pytest.mark.usefixtures("alerts_aws")

SITE = 4
NOW_MS = 1_773_163_200_000
LEAD = {"ghost_vid": "gv_1", "score": 45, "hot": True}


class Clock:
    """Event time for the sender: starts at NOW_MS, moves only when told."""

    def __init__(self) -> None:
        self.now = NOW_MS

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def hook_to(url: str, events: tuple[str, ...] = ("lead.hot",)) -> tuple[str, str]:
    webhook, secret = alerts.add_webhook(SITE, url, events, NOW_MS)
    return webhook.webhook_id, secret


def transition(vid: str = "gv_1") -> Delivery:
    """Records a hot-lead transition; returns its (only) delivery."""
    alerts.record_transitions(
        [Transition(SITE, vid, "lead.hot", NOW_MS - 1_000, {**LEAD, "ghost_vid": vid})], NOW_MS
    )
    (delivery,) = [d for d in alerts.list_deliveries(SITE, limit=100) if d.ghost_vid == vid]
    return delivery


def message(delivery: Delivery) -> str:
    return queue.encode(delivery.key)


def stored(delivery: Delivery) -> Delivery:
    return alerts_dal.get_delivery(delivery.key) or pytest.fail("the delivery is stored")


def run_until_settled(delivery: Delivery, clock: Clock, schedule: RetrySchedule | None = None) -> list[str]:
    """Handles the delivery's message as SQS would bring it back, moving the clock by each backoff."""
    results: list[str] = []
    for _ in range(100):
        outcome = webhook_sender.handle_message(message(delivery), clock, schedule)
        results.append(outcome.result)
        if outcome.retry_in_s is None:
            return results
        clock.now += outcome.retry_in_s * 1000
    pytest.fail("the delivery never settled")


# ------------------------------------------------------------------ signature


def test_the_signature_verifies_with_the_readme_receiver(clock: Clock) -> None:
    verify = readme_verifier()
    with receiving() as receiver:
        _, secret = hook_to(receiver.url("/ghost"))
        delivery = transition()
        assert webhook_sender.handle_message(message(delivery), clock).result == "delivered"
        (post,) = receiver.posts
    header = post.headers["ghost-signature"]
    timestamp = header.split(",")[0].removeprefix("t=")
    assert timestamp == str(NOW_MS // 1000)
    assert (post.path, post.headers["content-type"]) == ("/ghost", "application/json")
    assert post.body == delivery.body.encode()
    now = NOW_MS / 1000 + 30
    assert verify(secret, header, post.body, now=now)
    assert not verify(secret, header, post.body.replace(b'"score":45', b'"score":99'), now=now)
    assert not verify(secret + "x", header, post.body, now=now)
    assert not verify(secret, header, post.body, now=now + 3600)  # an old request replayed later
    assert not verify(secret, "", post.body, now=now)


# ------------------------------------------------------------------ retries


def test_a_receiver_failing_three_times_gets_the_same_id_four_times(clock: Clock) -> None:
    with receiving(failing_first(3)) as receiver:
        hook_to(receiver.url())
        delivery = transition()
        assert run_until_settled(delivery, clock) == ["retry", "retry", "retry", "delivered"]
        ids = [post.json["id"] for post in receiver.posts]
    assert ids == [delivery.delivery_id] * 4
    assert len({post.body for post in receiver.posts}) == 1  # the same body every time
    done = stored(delivery)
    assert (done.status, done.attempts, done.last_status, done.last_error) == ("delivered", 4, 200, None)
    assert clock.now - NOW_MS == (10 + 60 + 300) * 1000  # the first three backoffs


def test_an_unreachable_url_ends_as_failed_after_24_hours_of_retries(clock: Clock) -> None:
    with receiving() as receiver:
        url = receiver.url()
    hook_to(url)  # the receiver is gone: connections are refused
    delivery = transition()
    results = run_until_settled(delivery, clock)
    done = stored(delivery)
    assert results == ["retry"] * 11 + ["failed"]
    assert (done.status, done.attempts, done.last_error) == ("failed", 12, "connection refused")
    assert done.finished_at_ms == NOW_MS + 24 * 3_600_000
    assert webhook_sender.handle_message(message(delivery), clock).result == "gone"


def test_a_compressed_schedule_spends_its_budget_the_same_way(clock: Clock) -> None:
    with receiving(always(503)) as receiver:
        hook_to(receiver.url())
        delivery = transition()
        results = run_until_settled(delivery, clock, RetrySchedule(delays_s=(1,), budget_s=3))
        assert len(receiver.posts) == 4
    assert results == ["retry", "retry", "retry", "failed"]
    assert (stored(delivery).status, stored(delivery).last_error) == ("failed", "HTTP 503")


@pytest.mark.parametrize(
    ("attempts", "now_s", "expected_s"),
    [
        (1, 0, 10),
        (2, 10, 70),
        (9, 57_000, 85_800),
        (10, 85_870, 86_400),
        (11, 86_400, None),
        (3, 86_399, 86_400),
    ],
)
def test_the_default_schedule(attempts: int, now_s: int, expected_s: int | None) -> None:
    got = webhook_sender.DEFAULT_SCHEDULE.next_attempt_ms(0, attempts, now_s * 1000)
    assert got == (None if expected_s is None else expected_s * 1000)


# ------------------------------------------------------------------ never twice


def test_a_delivered_id_is_never_posted_again(clock: Clock) -> None:
    with receiving() as receiver:
        hook_to(receiver.url())
        delivery = transition()
        outcomes = [webhook_sender.handle_message(message(delivery), clock).result for _ in range(5)]
        assert outcomes == ["delivered", "gone", "gone", "gone", "gone"]
        assert len(receiver.posts) == 1


def test_an_early_copy_waits_and_a_claimed_attempt_is_left_to_its_holder(clock: Clock) -> None:
    with receiving(always(500)) as receiver:
        hook_to(receiver.url())
        delivery = transition()
        assert webhook_sender.handle_message(message(delivery), clock) == webhook_sender.MessageResult(
            "retry", 10
        )
        clock.now += 4_000  # a duplicate message arrives before the backoff is over
        assert webhook_sender.handle_message(message(delivery), clock) == webhook_sender.MessageResult(
            "not due", 6
        )
        clock.now += 6_000
        claimed = alerts_dal.claim(
            stored(delivery), clock.now, clock.now + 60_000
        )  # another sender, mid-POST
        assert claimed is not None
        assert webhook_sender.handle_message(message(delivery), clock).result == "not mine"
        assert len(receiver.posts) == 1
        clock.now += 61_000  # that sender died: its lease ran out, the next receipt takes over
        assert webhook_sender.handle_message(message(delivery), clock).result == "retry"
        assert len(receiver.posts) == 2
    assert stored(delivery).attempts == 3  # the dead sender's attempt counts


def test_a_removed_webhooks_deliveries_are_cancelled(clock: Clock) -> None:
    with receiving() as receiver:
        webhook_id, _ = hook_to(receiver.url())
        delivery = transition()
        alerts.remove_webhook(SITE, webhook_id)
        assert webhook_sender.handle_message(message(delivery), clock).result == "cancelled"
        assert receiver.posts == []
    assert (stored(delivery).status, stored(delivery).last_error) == ("cancelled", "the webhook was removed")


# ------------------------------------------------------------------ where it may go


def test_redirects_are_not_followed(clock: Clock) -> None:
    with receiving() as elsewhere:
        with receiving(always(302, ("Location", elsewhere.url("/internal")))) as receiver:
            hook_to(receiver.url())
            delivery = transition()
            assert webhook_sender.handle_message(message(delivery), clock).result == "retry"
            assert len(receiver.posts) == 1
        assert elsewhere.posts == []
    assert stored(delivery).last_error == "HTTP 302 (redirects are not followed)"


def test_the_address_is_checked_again_at_every_send(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name resolved to an allowed address when the webhook was added, and to a
    private one by the time the delivery is sent; nothing is sent there."""
    with receiving() as receiver:
        port = receiver.server.server_address[1]
        monkeypatch.setattr(webhook_targets, "resolve", lambda host, p: ["127.0.0.1"])
        hook_to(f"http://hooks.example.test:{port}/hook")
        delivery = transition()
        monkeypatch.setattr(webhook_targets, "resolve", lambda host, p: ["10.1.2.3"])
        assert webhook_sender.handle_message(message(delivery), clock).result == "retry"
        assert receiver.posts == []
        assert "10.1.2.3, a private address" in (stored(delivery).last_error or "")
        monkeypatch.setattr(webhook_targets, "resolve", lambda host, p: ["127.0.0.1"])
        clock.now += 10_000
        assert webhook_sender.handle_message(message(delivery), clock).result == "delivered"
        assert receiver.posts[0].headers["host"] == f"hooks.example.test:{port}"  # the pinned address


# ------------------------------------------------------------------ the Lambda handler and the queue


def receive_all() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=settings.webhook_queue_url(), MaxNumberOfMessages=10).get(
        "Messages", []
    )
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {},
            "eventSource": "aws:sqs",
        }
        for m in found
    ]


def invoke(records: list[dict[str, Any]]) -> dict[str, Any]:
    response: dict[str, Any] = lambdas.handler("webhook_sender")(
        {"Records": records}, LambdaContext("WebhookSenderFunction")
    )
    return response


def test_the_handler_deletes_what_is_done_and_hides_a_retry_for_its_backoff() -> None:
    now = int(time.time() * 1000)
    with receiving(failing_first(1)) as receiver:
        alerts.add_webhook(SITE, receiver.url(), ["lead.hot"], now)
        alerts.record_transitions(
            [Transition(SITE, v, "lead.hot", now, {"ghost_vid": v}) for v in ("a", "b")], now
        )
        records = receive_all()
        assert len(records) == 2
        poison = {**records[0], "messageId": "poison", "body": "{}"}
        response = invoke([*records, records[0], poison])  # a duplicate in the same batch, and a bad message
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        assert failed == {
            records[0]["messageId"],
            records[1]["messageId"],
            "poison",
        }  # retries keep their message
        assert len(receiver.posts) == 2  # the duplicate found its delivery leased or already tried
        assert receive_all() == []  # hidden for the backoff (10 s), not visible now


def test_the_handler_answers_an_empty_list_when_every_delivery_succeeded() -> None:
    now = int(time.time() * 1000)
    with receiving() as receiver:
        alerts.add_webhook(SITE, receiver.url(), ["lead.hot"], now)
        alerts.record_transitions([Transition(SITE, "gv_9", "lead.hot", now, {"ghost_vid": "gv_9"})], now)
        assert invoke(receive_all()) == {"batchItemFailures": []}
        assert [post.json["type"] for post in receiver.posts] == ["lead.hot"]
