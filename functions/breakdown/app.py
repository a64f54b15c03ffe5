"""GET /api/breakdown — one dimension's values over a range, ranked, a page at a time."""

from __future__ import annotations

from ghostid import settings, timeutil
from ghostid.edge import authorize_read, served
from ghostid.http import Response, api_entry_point, create_resolver
from ghostid.logic import breakdown
from ghostid.models.api import BreakdownQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/breakdown")
def get_breakdown() -> Response:
    request = authorize_read(app.current_event, BreakdownQuery)
    body = breakdown.site_breakdown(request.query, timeutil.now_ms())
    return served(request, body, "BreakdownServed")


lambda_handler = api_entry_point(app)
