"""The local stack's SQS behaves as SQS does for what the project uses: the same script of calls gives the
same observations against it and against moto's SQS (visibility timeouts, delays, redelivery, receive
counts, dead-letter redrive, errors); and its messages survive a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from ghostid_local.sqs_local import LocalSqs
from moto import mock_aws


def client(endpoint: str | None) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalSqs]:
    sqs = LocalSqs(tmp_path / "sqs.sqlite3")
    sqs.start()
    try:
        yield sqs
    finally:
        sqs.stop()


def bodies(response: dict[str, Any]) -> list[str]:
    return sorted(m["Body"] for m in response.get("Messages", []))


def error_code(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "no error"


def script(sqs: Any) -> list[Any]:
    """What a sequence of calls observes (about 2.5 s of real time)."""
    seen: list[Any] = []
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    redrive = f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}'
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive})
    sent = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "first"}, {"Id": "b", "MessageBody": "second"}]
    )
    seen.append(sorted(s["Id"] for s in sent["Successful"]))
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=2)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    seen.append(bodies(received))  # the delayed one is not there yet
    seen.append(bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)))  # both in flight
    first, second = sorted(received["Messages"], key=lambda m: m["Body"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    seen.append([(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again["Messages"]])
    seen.append(
        error_code(
            lambda: sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=5
            )
        )
    )  # deleted: not in flight
    time.sleep(2.2)  # the delay ends; "second" (received twice) comes back, and goes to the dead letters
    seen.append(bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)))
    seen.append(bodies(sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)))
    seen.append(error_code(lambda: sqs.get_queue_url(QueueName="nowhere")))
    return seen


def test_the_same_calls_observe_the_same_as_on_moto(local: LocalSqs) -> None:
    on_local = script(client(local.endpoint))
    with mock_aws():
        on_moto = script(client(None))
    assert on_local == on_moto
    assert on_local[1] == ["first", "second"] and on_local[3] == [("second", "2")]
    assert on_local[5] == ["later"] and on_local[6] == ["second"]


def test_messages_survive_a_restart(tmp_path: Path) -> None:
    first = LocalSqs(tmp_path / "sqs.sqlite3")
    sqs = client(first.start())
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    taken = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]
    first.stop()
    second = LocalSqs(tmp_path / "sqs.sqlite3")
    sqs = client(second.start())
    try:
        url = sqs.get_queue_url(QueueName="work")["QueueUrl"]
        assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == sorted(
            {"kept", "in flight"} - {taken[0]["Body"]}
        )  # the one in flight stays hidden until its timeout, as it would on SQS
    finally:
        second.stop()


def test_long_polling_returns_as_soon_as_a_message_arrives(local: LocalSqs) -> None:
    sqs = client(local.endpoint)
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    threading.Timer(0.3, lambda: client(local.endpoint).send_message(QueueUrl=url, MessageBody="hi")).start()
    started = time.monotonic()
    assert bodies(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)) == ["hi"]
    assert time.monotonic() - started < 2


def test_retention_and_limits(tmp_path: Path) -> None:
    clock = [1_000.0]
    sqs = LocalSqs(tmp_path / "q.sqlite3", clock=lambda: clock[0])
    url = sqs.call("CreateQueue", {"QueueName": "q", "Attributes": {"MessageRetentionPeriod": "60"}})[
        "QueueUrl"
    ]
    sqs.call("SendMessage", {"QueueUrl": url, "MessageBody": "old"})
    clock[0] += 61
    assert sqs.call("ReceiveMessage", {"QueueUrl": url}) == {}
    for bad in ({"MessageBody": ""}, {"MessageBody": "x", "DelaySeconds": 901}):
        with pytest.raises(Exception, match="must be"):
            sqs.call("SendMessage", {"QueueUrl": url, **bad})
    sqs.stop()
