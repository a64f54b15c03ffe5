"""GET /api/session/{id} — one session's full timeline."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid.http import Response, api_entry_point, create_resolver, json_response, parse_params
from ghostid.logic import auth, session
from ghostid.models.api import SessionQuery
from ghostid.observability import metrics

app = create_resolver()


@app.get("/api/session/<session_id>")
def get_session(session_id: str) -> Response:
    user_id = auth.authenticate(app.current_event.cookies)
    params = {**(app.current_event.query_string_parameters or {}), "session_id": session_id}
    query = parse_params(SessionQuery, params)
    auth.authorize(user_id, query.site_id)
    body = session.site_session(query.site_id, query.session_id)
    metrics.add_metric(name="SessionServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body)


lambda_handler = api_entry_point(app)
