"""POST /api/auth/login and POST /api/auth/logout — a person signs in (a session cookie) and out."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings
from ghostid.edge import require_own_origin
from ghostid.http import (
    READ_HEADERS,
    Response,
    api_entry_point,
    create_resolver,
    json_response,
    parse_json_body,
)
from ghostid.logic import auth, signin
from ghostid.models.access import LoginRequest
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()


@app.post("/api/auth/login")
def login() -> Response:
    event = app.current_event
    require_own_origin(event, required=False)  # no page of another site may sign a browser in
    body = parse_json_body(LoginRequest, event)
    signed_in = signin.sign_in(body.email, body.password, event.source_ip)
    metrics.add_metric(name="SignIns", unit=MetricUnit.Count, value=1)
    cookie = signin.session_cookie(signed_in.token, signed_in.max_age_s)
    return json_response(200, signed_in.account, cookies=[cookie])


@app.post("/api/auth/logout")
def logout() -> Response:
    event = app.current_event
    caller = auth.authenticate_session(event.cookies)  # the cookie only: an API key cannot sign out
    event.response_headers.update(caller.usage.headers())
    require_own_origin(event, required=True)  # a cookie-authenticated POST: CSRF
    auth.revoke_login_session(caller)
    return Response(204, headers=READ_HEADERS, cookies=[signin.cleared_cookie()])


lambda_handler = api_entry_point(app)
