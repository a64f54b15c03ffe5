"""The template's SQS queues, locally: creating them, and a stand-in for Lambda's SQS event source mapping.

`create_queues` makes every `AWS::SQS::Queue` of the template (VisibilityTimeout, MessageRetentionPeriod,
DelaySeconds, RedrivePolicy) on any SQS endpoint: the local stack's (ghostid_local/sqs_local.py) or moto's.
`QueuePoller` feeds a function's `Type: SQS` event the way Lambda does: it receives up to `BatchSize`
messages, invokes the handler with a Lambda-shaped event, deletes the messages that succeeded (all of
them, unless the handler raised or, with `ReportBatchItemFailures`, listed them as failures) and leaves
the rest to come back after their visibility timeout.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("ghostid_local.queues")

Invoke = Callable[[dict[str, Any]], Any]
QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")


@dataclass(frozen=True)
class QueueSource:
    """One `Type: SQS` event of a function, as the template configures it."""

    function_id: str
    event_id: str
    queue_id: str
    batch_size: int = 10
    report_item_failures: bool = False


def _queue_of(ref: Any) -> str:
    """`WebhookQueue` from `!GetAtt WebhookQueue.Arn`."""
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        arg = ref["Fn::GetAtt"]
        return str(arg.split(".")[0] if isinstance(arg, str) else arg[0])
    raise ValueError(f"queue reference {ref!r} is not !GetAtt <Queue>.Arn")


def queue_sources(template: Mapping[str, Any]) -> list[QueueSource]:
    found = []
    for function_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_id, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") != "SQS":
                continue
            props = event.get("Properties", {})
            found.append(
                QueueSource(
                    function_id=function_id,
                    event_id=event_id,
                    queue_id=_queue_of(props["Queue"]),
                    batch_size=int(props.get("BatchSize", 10)),
                    report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                )
            )
    return found


def create_queues(sqs: Any, template: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Creates (or updates) every queue of the template as `prefix + logical id`; `{logical id: URL}`."""
    queues = {
        lid: res.get("Properties", {})
        for lid, res in template.get("Resources", {}).items()
        if res.get("Type") == "AWS::SQS::Queue"
    }
    urls, arns = {}, {}
    for lid, props in queues.items():
        attributes = {k: str(props[k]) for k in QUEUE_ATTRIBUTES if k in props}
        urls[lid] = sqs.create_queue(QueueName=prefix + lid, Attributes=attributes)["QueueUrl"]
        arns[lid] = sqs.get_queue_attributes(QueueUrl=urls[lid], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    for lid, props in queues.items():
        policy = props.get("RedrivePolicy")
        if policy:
            target = arns[_queue_of(policy["deadLetterTargetArn"])]
            redrive = f'{{"deadLetterTargetArn":"{target}","maxReceiveCount":"{policy["maxReceiveCount"]}"}}'
            sqs.set_queue_attributes(QueueUrl=urls[lid], Attributes={"RedrivePolicy": redrive})
    return urls


class QueuePoller:
    """Feeds one queue to one function like Lambda's SQS event source mapping."""

    def __init__(self, invoke: Invoke, source: QueueSource, queue_url: str, sqs: Any) -> None:
        self.invoke = invoke
        self.source = source
        self.queue_url = queue_url
        self.sqs = sqs
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }

    def poll_once(self, wait_s: int = 0) -> int:
        """One receive and invocation; returns how many messages it handled."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.source.batch_size,
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        try:
            response = self.invoke({"Records": [self._record(m) for m in received]})
        except Exception:
            log.exception(
                "%s failed; its %d messages come back later", self.source.function_id, len(received)
            )
            return len(received)
        failed = set()
        if self.source.report_item_failures and isinstance(response, dict):
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [m for m in received if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[start : start + 10])
                ],
            )
        return len(received)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once(wait_s=1)
            except Exception:
                log.exception("polling %s failed", self.queue_url)
                stop.wait(1.0)

    def pending(self) -> int:
        """Messages on the queue: visible, in flight or delayed."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])[
            "Attributes"
        ]
        names = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        return sum(int(attributes.get(name, 0)) for name in (*names, "ApproximateNumberOfMessagesDelayed"))

    def drain(self, timeout: float) -> None:
        """Polls until the queue is empty (tests compress retry schedules to make that quick)."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.queue_url} still holds {self.pending()} messages after {timeout} s"
                )
            if not self.poll_once(wait_s=1):
                time.sleep(0.05)
