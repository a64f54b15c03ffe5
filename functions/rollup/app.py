"""DynamoDB stream of the events table → the site's rollups, lead lists and realtime item.

Each record only tells which session changed; the consumer recomputes that session from the table, so
duplicates, retries and partial-batch redeliveries are harmless. A record that is not a valid event is
reported as a batch item failure (Lambda retries it, then sends it to the on-failure destination).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from ghostid import settings, timeutil
from ghostid.dal.events import facts_from_item, item_to_event
from ghostid.logic import consumer
from ghostid.models.rollups import EventFacts
from ghostid.observability import logger, metrics

settings.current()  # validate the environment at cold start
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def arrived_event(record: DynamoDBRecord) -> tuple[int, str, EventFacts] | None:
    """Validates the new event (raises on a poison record): its site, session and what the rollups read."""
    if record.raw_event.get("eventName") != "INSERT":
        return None  # TTL deletions and rewrites must never move a rollup
    image = record.raw_event["dynamodb"]["NewImage"]
    event = item_to_event(image)
    return event.site_id, event.session_id, facts_from_item(image)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with processor(records=event["Records"], handler=arrived_event):
        results = processor.process()
    by_site: dict[int, list[tuple[str, EventFacts]]] = defaultdict(list)
    for status, result, _ in results:
        if status == "success" and result:
            by_site[result[0]].append((result[1], result[2]))
    now = timeutil.now_ms()
    for site_id, arrived in by_site.items():
        report = consumer.fold_batch(site_id, {session for session, _ in arrived}, arrived, now)
        logger.info("folded", extra={"site_id": site_id, **report.__dict__})
        metrics.add_metric(name="CellsWritten", unit=MetricUnit.Count, value=report.cells_written)
        metrics.add_metric(name="LatePeriods", unit=MetricUnit.Count, value=report.late_periods)
    metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=len(event["Records"]))
    metrics.add_metric(name="PoisonRecords", unit=MetricUnit.Count, value=len(processor.fail_messages))
    return dict(processor.response())


gc.freeze()  # the end of the cold start: keep the import-time heap out of every collection's walk
