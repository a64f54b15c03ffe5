"""GET /api/me — who is signed in and which sites they may read."""

from __future__ import annotations

from ghostid import settings
from ghostid.edge import authenticate
from ghostid.http import Response, api_entry_point, create_resolver, json_response, parse_params
from ghostid.logic import signin
from ghostid.models.access import MeQuery

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.get("/api/me")
def me() -> Response:
    event = app.current_event
    caller = authenticate(event)
    parse_params(MeQuery, event.query_string_parameters or {})
    return json_response(200, signin.account(caller), event.response_headers)


lambda_handler = api_entry_point(app)
