"""GET /api/breakdown — one dimension's values over a range, ranked, a page at a time."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.edge import authorize_read
from ghostid.http import Response, api_entry_point, create_resolver, json_response
from ghostid.logic import breakdown
from ghostid.models.api import BreakdownQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/breakdown")
def get_breakdown() -> Response:
    request = authorize_read(app.current_event, BreakdownQuery)
    body = breakdown.site_breakdown(request.query, timeutil.now_ms())
    metrics.add_metric(name="BreakdownServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


lambda_handler = api_entry_point(app)
