"""GET /api/leads — hot leads (or identified visitors, or everyone) active in a range, a page at a time."""

from __future__ import annotations

from ghostid import settings, timeutil
from ghostid.edge import authorize_read, served
from ghostid.http import Response, api_entry_point, create_resolver
from ghostid.logic import people
from ghostid.models.people import LeadsQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/leads")
def get_leads() -> Response:
    request = authorize_read(app.current_event, LeadsQuery, with_site=lambda query: query.status == "all")
    query = request.query
    rules = request.lead_rules if query.status == "all" else None
    body = people.site_leads(query, rules, timeutil.now_ms())
    return served(request, body, "LeadsServed")


lambda_handler = api_entry_point(app)
