"""SQS (WebhookQueue) → one signed POST per queued delivery; a failed attempt's message is hidden for
its backoff and reported as a batch item failure, so SQS brings it back then (logic/webhook_sender.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from ghostid import settings
from ghostid.dal import queue
from ghostid.logic import webhook_sender
from ghostid.observability import logger, metrics

settings.current()  # validate the environment at cold start
METRICS = {"delivered": "WebhooksDelivered", "retry": "WebhookAttemptsFailed", "failed": "WebhooksFailed"}


def handle(record: dict[str, Any]) -> tuple[str, bool]:
    """(what happened, whether the message must stay on the queue)."""
    try:
        outcome = webhook_sender.handle_message(record["body"])
    except ValueError as poison:  # not a delivery message: it ends in the dead-letter queue
        logger.error(
            "not a delivery message", extra={"message_id": record["messageId"], "error": str(poison)}
        )
        return "poison", True
    except Exception:
        logger.exception("delivery attempt failed", extra={"message_id": record["messageId"]})
        return "error", True  # back after the queue's visibility timeout
    if outcome.retry_in_s is None:
        return outcome.result, False
    queue.hide(record["receiptHandle"], outcome.retry_in_s)
    return outcome.result, True


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event["Records"]
    workers = max(1, min(len(records), settings.delivery_concurrency()))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(handle, records))
    for result, name in METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=sum(r == result for r, _ in results))
    logger.info("deliveries", extra={"results": [r for r, _ in results]})
    failures = [
        {"itemIdentifier": r["messageId"]} for r, (_, keep) in zip(records, results, strict=True) if keep
    ]
    return {"batchItemFailures": failures}
