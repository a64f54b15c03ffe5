"""The template's queues on the local SQS, and the stand-in for Lambda's SQS event source mapping: what it
deletes and what it leaves to come back, with ReportBatchItemFailures and when the function raises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from ghostid_local.cfn_yaml import load_template
from ghostid_local.queues import QueuePoller, QueueSource, create_queues, queue_sources
from ghostid_local.sqs_local import LocalSqs

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")


@pytest.fixture
def sqs(tmp_path: Path) -> Iterator[Any]:
    local = LocalSqs(tmp_path / "sqs.sqlite3")
    endpoint = local.start()
    yield boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    local.stop()


def test_every_template_queue_is_created_with_its_settings(sqs: Any) -> None:
    urls = create_queues(sqs, TEMPLATE)
    queues = {lid for lid, res in TEMPLATE["Resources"].items() if res["Type"] == "AWS::SQS::Queue"}
    assert set(urls) == queues >= {"WebhookQueue", "WebhookDeadLetterQueue", "RollupDeadLetterQueue"}
    attributes = sqs.get_queue_attributes(QueueUrl=urls["WebhookQueue"], AttributeNames=["All"])["Attributes"]
    props = TEMPLATE["Resources"]["WebhookQueue"]["Properties"]
    assert attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"])
    assert attributes["MessageRetentionPeriod"] == str(props["MessageRetentionPeriod"])
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":WebhookDeadLetterQueue")
    assert redrive["maxReceiveCount"] == str(props["RedrivePolicy"]["maxReceiveCount"])
    assert create_queues(sqs, TEMPLATE) == urls  # again: nothing changes


def test_the_sender_is_the_only_queue_consumer() -> None:
    (source,) = queue_sources(TEMPLATE)
    assert source == QueueSource("WebhookSenderFunction", "Deliveries", "WebhookQueue", 10, True)


def make_poller(sqs: Any, answer: Any, batch_size: int = 10) -> tuple[QueuePoller, list[dict[str, Any]]]:
    url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for n in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    events: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> Any:
        events.append(event)
        return answer(event) if callable(answer) else answer

    return QueuePoller(invoke, QueueSource("F", "E", "work", batch_size, True), url, sqs), events


def test_successes_are_deleted_and_reported_failures_stay(sqs: Any) -> None:
    def fail_odd(event: dict[str, Any]) -> dict[str, Any]:
        odd = [r for r in event["Records"] if int(r["body"][1:]) % 2]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in odd]}

    poller, events = make_poller(sqs, fail_odd)
    assert poller.poll_once() == 4
    (event,) = events
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(":work")
    assert set(record) >= {"messageId", "receiptHandle", "body", "attributes", "md5OfBody", "awsRegion"}
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert poller.pending() == 2  # m1 and m3, in flight until their visibility timeout


def test_a_function_that_raises_leaves_every_message(sqs: Any) -> None:
    def crash(event: dict[str, Any]) -> Any:
        raise RuntimeError("function error")

    poller, _ = make_poller(sqs, crash, batch_size=3)
    assert poller.poll_once() == 3
    assert poller.pending() == 4


def test_drain_polls_until_the_queue_is_empty(sqs: Any) -> None:
    poller, events = make_poller(sqs, {"batchItemFailures": []}, batch_size=2)
    poller.drain(timeout=10)
    assert sorted(r["body"] for e in events for r in e["Records"]) == ["m0", "m1", "m2", "m3"]
    assert poller.pending() == 0
