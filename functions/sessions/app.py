"""GET /api/sessions — sessions that started in a range, newest first, filtered, a page at a time."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.edge import authorize_read
from ghostid.http import Response, api_entry_point, create_resolver, json_response
from ghostid.logic import people
from ghostid.models.people import SessionsQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/sessions")
def get_sessions() -> Response:
    request = authorize_read(app.current_event, SessionsQuery)
    body = people.site_sessions(request.query, timeutil.now_ms())
    metrics.add_metric(name="SessionsServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


lambda_handler = api_entry_point(app)
