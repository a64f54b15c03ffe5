"""GET /api/visitors/{ghost_vid} — one visitor's lead row, identities, totals and sessions."""

from __future__ import annotations

from ghostid import settings, timeutil
from ghostid.edge import authorize_read, served
from ghostid.http import Response, api_entry_point, create_resolver
from ghostid.logic import people
from ghostid.models.people import VisitorQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/visitors/<ghost_vid>")
def get_visitor(ghost_vid: str) -> Response:
    request = authorize_read(app.current_event, VisitorQuery, with_site=lambda _: True, ghost_vid=ghost_vid)
    body = people.visitor_profile(request.query, request.lead_rules, timeutil.now_ms())
    return served(request, body, "VisitorServed")


lambda_handler = api_entry_point(app)
