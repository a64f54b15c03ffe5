"""DynamoDB stream of the events table → per-site hourly and daily rollups.

Each record only tells which session changed; the fold recomputes that session from the table, so
duplicates, retries and partial-batch redeliveries are harmless. A record that is not a valid event
is reported as a batch item failure (Lambda retries it, then sends it to the on-failure destination).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from ghostid import settings, timeutil
from ghostid.dal.events import item_to_event
from ghostid.logic import consumer, stats
from ghostid.observability import logger, metrics

settings.current()  # validate the environment at cold start
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def touched_session(record: DynamoDBRecord) -> tuple[int, str] | None:
    """Validates the new event (raises on a poison record) and returns (site, session) it belongs to."""
    if record.raw_event.get("eventName") != "INSERT":
        return None  # TTL deletions and rewrites must never move a rollup
    event = item_to_event(record.raw_event["dynamodb"]["NewImage"])
    return event.site_id, event.session_id


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with processor(records=event["Records"], handler=touched_session):
        results = processor.process()
    sessions: dict[int, set[str]] = defaultdict(set)
    for status, result, _ in results:
        if status == "success" and result:
            sessions[result[0]].add(result[1])
    now = timeutil.now_ms()
    for site_id, session_ids in sessions.items():
        report = consumer.fold_sessions(site_id, session_ids, consumer.rules_for(site_id, now), now)
        logger.info("folded", extra={"site_id": site_id, **report.__dict__})
        metrics.add_metric(name="CellsChanged", unit=MetricUnit.Count, value=report.cells_changed)
        metrics.add_metric(name="CellConflicts", unit=MetricUnit.Count, value=report.conflicts)
        stats.refresh_answers(site_id, now)  # also after a no-op replay: it may follow a crash
    metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=len(event["Records"]))
    metrics.add_metric(name="PoisonRecords", unit=MetricUnit.Count, value=len(processor.fail_messages))
    return dict(processor.response())
