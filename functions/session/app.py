"""GET /api/session/{id} — one session's full timeline."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings
from ghostid.edge import authorize_read
from ghostid.http import Response, api_entry_point, create_resolver, json_response
from ghostid.logic import session
from ghostid.models.api import SessionQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/session/<session_id>")
def get_session(session_id: str) -> Response:
    request = authorize_read(app.current_event, SessionQuery, session_id=session_id)
    body = session.site_session(request.query.site_id, request.query.session_id)
    metrics.add_metric(name="SessionServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


lambda_handler = api_entry_point(app)
