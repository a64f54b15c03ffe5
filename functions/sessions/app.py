"""GET /api/sessions — sessions that started in a range, newest first, filtered, a page at a time."""

from __future__ import annotations

from ghostid import settings, timeutil
from ghostid.edge import authorize_read, served
from ghostid.http import Response, api_entry_point, create_resolver
from ghostid.logic import people
from ghostid.models.people import SessionsQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/sessions")
def get_sessions() -> Response:
    request = authorize_read(app.current_event, SessionsQuery)
    body = people.site_sessions(request.query, timeutil.now_ms())
    return served(request, body, "SessionsServed")


lambda_handler = api_entry_point(app)
