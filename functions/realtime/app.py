"""GET /api/realtime — visitors now and the last 30 minutes, from one small item."""

from __future__ import annotations

from ghostid import settings, timeutil
from ghostid.edge import authorize_read, served
from ghostid.http import Response, api_entry_point, create_resolver
from ghostid.logic import realtime
from ghostid.models.api import SiteQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/realtime")
def get_realtime() -> Response:
    request = authorize_read(app.current_event, SiteQuery)
    body = realtime.site_realtime(request.query.site_id, timeutil.now_ms())
    return served(request, body, "RealtimeServed")


lambda_handler = api_entry_point(app)
