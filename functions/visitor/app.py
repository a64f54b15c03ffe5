"""GET /api/visitors/{ghost_vid} — one visitor's lead row, identities, totals and sessions."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.edge import authorize_read
from ghostid.http import Response, api_entry_point, create_resolver, json_response
from ghostid.logic import people
from ghostid.models.people import VisitorQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/visitors/<ghost_vid>")
def get_visitor(ghost_vid: str) -> Response:
    request = authorize_read(app.current_event, VisitorQuery, with_site=lambda _: True, ghost_vid=ghost_vid)
    body = people.visitor_profile(request.query, request.lead_rules, timeutil.now_ms())
    metrics.add_metric(name="VisitorServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


lambda_handler = api_entry_point(app)
