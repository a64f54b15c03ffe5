"""GET /api/stats — overview, top pages and countries of one site over 24h / 7d / 30d."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from ghostid import timeutil
from ghostid.http import create_resolver, json_response, parse_params
from ghostid.logic import auth, stats
from ghostid.models.api import StatsQuery
from ghostid.observability import logger, metrics, tracer

app = create_resolver()


@app.get("/api/stats")
@tracer.capture_method
def get_stats() -> Response[str]:
    user_id = auth.authenticate(app.current_event.cookies)
    query = parse_params(StatsQuery, app.current_event.query_string_parameters or {})
    auth.authorize(user_id, query.site_id)
    body = stats.site_stats(query.site_id, query.time_range, timeutil.now_ms())
    metrics.add_metric(name="StatsServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
