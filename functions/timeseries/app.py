"""GET /api/timeseries — the six overview metrics per hour, day, week or month of a range."""

from __future__ import annotations

from ghostid import settings, timeutil
from ghostid.edge import authorize_read, served
from ghostid.http import Response, api_entry_point, create_resolver
from ghostid.logic import timeseries
from ghostid.models.api import TimeseriesQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/timeseries")
def get_timeseries() -> Response:
    request = authorize_read(app.current_event, TimeseriesQuery)
    body = timeseries.site_timeseries(request.query, timeutil.now_ms())
    return served(request, body, "TimeseriesServed")


lambda_handler = api_entry_point(app)
