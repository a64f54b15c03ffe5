"""GET /api/session/{id} — one session's full timeline."""

from __future__ import annotations

from ghostid import settings
from ghostid.edge import authorize_read, served
from ghostid.http import Response, api_entry_point, create_resolver
from ghostid.logic import session
from ghostid.models.api import SessionQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/session/<session_id>")
def get_session(session_id: str) -> Response:
    request = authorize_read(app.current_event, SessionQuery, session_id=session_id)
    body = session.site_session(request.query.site_id, request.query.session_id)
    return served(request, body, "SessionServed")


lambda_handler = api_entry_point(app)
