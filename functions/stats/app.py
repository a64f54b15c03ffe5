"""GET /api/stats — overview, top pages and countries of one site over a range."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.edge import authorize_read
from ghostid.http import Response, api_entry_point, create_resolver, json_response
from ghostid.logic import stats
from ghostid.models.api import StatsQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/stats")
def get_stats() -> Response:
    request = authorize_read(app.current_event, StatsQuery)
    body = stats.site_stats(request.query, timeutil.now_ms())
    metrics.add_metric(name="StatsServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


lambda_handler = api_entry_point(app)
