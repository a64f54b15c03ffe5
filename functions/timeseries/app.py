"""GET /api/timeseries — the six overview metrics per hour, day, week or month of a range."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.edge import authorize_read
from ghostid.http import Response, api_entry_point, create_resolver, json_response
from ghostid.logic import timeseries
from ghostid.models.api import TimeseriesQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/timeseries")
def get_timeseries() -> Response:
    request = authorize_read(app.current_event, TimeseriesQuery)
    body = timeseries.site_timeseries(request.query, timeutil.now_ms())
    metrics.add_metric(name="TimeseriesServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


lambda_handler = api_entry_point(app)
