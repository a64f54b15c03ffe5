"""GET /api/leads — hot leads (or identified visitors, or everyone) active in a range, a page at a time."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.edge import authorize_read
from ghostid.http import Response, api_entry_point, create_resolver, json_response
from ghostid.logic import people
from ghostid.models.people import LeadsQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/leads")
def get_leads() -> Response:
    request = authorize_read(app.current_event, LeadsQuery, with_site=lambda query: query.status == "all")
    query = request.query
    rules = request.lead_rules if query.status == "all" else None
    body = people.site_leads(query, rules, timeutil.now_ms())
    metrics.add_metric(name="LeadsServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


lambda_handler = api_entry_point(app)
