"""GET /api/realtime — visitors now and the last 30 minutes, from one small item."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.edge import authorize_read
from ghostid.http import Response, api_entry_point, create_resolver, json_response
from ghostid.logic import realtime
from ghostid.models.api import SiteQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/realtime")
def get_realtime() -> Response:
    request = authorize_read(app.current_event, SiteQuery)
    body = realtime.site_realtime(request.query.site_id, timeutil.now_ms())
    metrics.add_metric(name="RealtimeServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


lambda_handler = api_entry_point(app)
