"""GET /api/stats — overview, top pages and countries of one site over a range."""

from __future__ import annotations

from ghostid import settings, timeutil
from ghostid.edge import authorize_read, served
from ghostid.http import Response, api_entry_point, create_resolver
from ghostid.logic import stats
from ghostid.models.api import StatsQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/stats")
def get_stats() -> Response:
    request = authorize_read(app.current_event, StatsQuery)
    body = stats.site_stats(request.query, timeutil.now_ms())
    return served(request, body, "StatsServed")


lambda_handler = api_entry_point(app)
