"""`ghostid.http.HttpResolver`, the router of the API functions: matching and the payload 2.0 response,
as Powertools' APIGatewayHttpResolver did them for these functions (it replaced it, see its module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ghostid.errors import GhostIdError, InvalidParameter, RateLimited, UnsupportedMediaType
from ghostid.http import (
    ROUTES_FILE,
    HttpEvent,
    HttpResolver,
    Response,
    RouteNotFound,
    create_resolver,
    parse_json_body,
    parse_params,
)
from ghostid.models.api import SessionQuery, StatsQuery
from ghostid_local.cfn_yaml import load_template
from ghostid_local.routes import routes_document
from pydantic import BaseModel, ConfigDict

ROOT = Path(__file__).resolve().parents[2]


def event(method: str, path: str, stage: str = "$default", **fields: Any) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "requestContext": {"http": {"method": method, "path": path}, "stage": stage},
        **fields,
    }


@pytest.fixture
def app() -> HttpResolver:
    app = HttpResolver()

    @app.get("/api/items/<item_id>")
    def item(item_id: str) -> Response:
        if item_id == "bad":
            raise InvalidParameter("bad id")
        if item_id == "crash":
            raise RuntimeError("boom")
        return Response(200, item_id, content_type="text/plain")

    @app.route("/api/items", method="OPTIONS")
    def preflight() -> Response:
        origin = app.current_event.headers.get("ORIGIN")
        return Response(204, headers={"Access-Control-Allow-Origin": origin or ""})

    @app.exception_handler(GhostIdError)
    def domain(error: GhostIdError) -> Response:
        return Response(error.status, error.code, headers=error.headers)

    @app.exception_handler(Exception)
    def crash(error: Exception) -> Response:
        return Response(500, type(error).__name__)

    @app.not_found
    def missing(_: RouteNotFound) -> Response:
        return Response(404, "no route")

    return app


def test_routes_by_method_and_path_with_a_parameter(app: HttpResolver) -> None:
    response = app.resolve(event("get", "/api/items/a.b~c"), None)
    assert response == {
        "statusCode": 200,
        "body": "a.b~c",
        "isBase64Encoded": False,
        "headers": {"Content-Type": "text/plain"},
        "cookies": [],
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/items/"),
        ("GET", "/api/items/x/y"),
        ("GET", "/API/items/x"),
        ("GET", "//api/items/x"),
        ("TRACE", "/api/nowhere"),
    ],
)
def test_anything_else_is_not_found(app: HttpResolver, method: str, path: str) -> None:
    assert app.resolve(event(method, path), None)["body"] == "no route"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/items/x", "GET"),
        ("HEAD", "/api/items/x", "GET"),
        ("GET", "/api/items", "OPTIONS"),
        ("TRACE", "/api/items", "OPTIONS"),
    ],
)
def test_a_path_with_other_methods_is_405_with_allow(
    app: HttpResolver, method: str, path: str, allow: str
) -> None:
    response = app.resolve(event(method, path), None)
    assert (response["statusCode"], response["body"]) == (405, "method_not_allowed")
    assert response["headers"]["Allow"] == allow


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/stats", "GET"),
        ("TRACE", "/api/session/gs_1", "GET"),
        ("GET", "/api/track", "OPTIONS, POST"),
        ("PUT", "/api/auth/login", "POST"),
    ],
)
def test_the_api_routes_of_other_functions_are_known_too(method: str, path: str, allow: str) -> None:
    """Deployed, the $default route's function gets every undeclared method of every path."""
    response = create_resolver().resolve(event(method, path), None)
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == allow
    assert json.loads(response["body"])["error"]["code"] == "method_not_allowed"
    unknown = create_resolver().resolve(event(method, "/api/statistics"), None)
    assert (unknown["statusCode"], json.loads(unknown["body"])["error"]["code"]) == (404, "not_found")


def test_the_api_routes_file_is_what_make_routes_writes() -> None:
    text = routes_document(load_template(ROOT / "template.yaml"))
    assert ROUTES_FILE.read_text(encoding="utf-8") == text, (
        "layers/shared/ghostid/api_routes.json is stale: run `make routes`"
    )
    assert {r["path"] for r in json.loads(text)["routes"]} >= {"/api/stats", "/api/track"}


def test_request_headers_go_on_every_answer_errors_included() -> None:
    app = create_resolver()

    @app.get("/limited/<outcome>")
    def limited(outcome: str) -> Response:
        app.current_event.response_headers["RateLimit-Remaining"] = "7"
        if outcome == "bad":
            raise InvalidParameter("bad")
        return Response(200, "ok", cookies=["a=b; Path=/"])

    served = app.resolve(event("GET", "/limited/ok"), None)
    assert (served["headers"]["RateLimit-Remaining"], served["cookies"]) == ("7", ["a=b; Path=/"])
    refused = app.resolve(event("GET", "/limited/bad"), None)
    assert (refused["statusCode"], refused["headers"]["RateLimit-Remaining"]) == (400, "7")
    assert app.resolve(event("GET", "/limited/ok"), None)["headers"]["RateLimit-Remaining"] == "7"
    assert "RateLimit-Remaining" not in app.resolve(event("GET", "/nowhere"), None)["headers"]


def test_an_error_with_headers_carries_them() -> None:
    app = create_resolver()

    @app.get("/slow")
    def slow() -> Response:
        raise RateLimited("wait", {"Retry-After": "12"})

    response = app.resolve(event("GET", "/slow"), None)
    assert (response["statusCode"], response["headers"]["Retry-After"]) == (429, "12")
    assert json.loads(response["body"]) == {"error": {"code": "rate_limited", "message": "wait"}}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", '{"email": "a@b.c"}', None),
        ("application/json; charset=utf-8", '{"email": "a@b.c"}', None),
        ("text/plain", '{"email": "a@b.c"}', UnsupportedMediaType),
        (None, '{"email": "a@b.c"}', UnsupportedMediaType),
        ("application/json", "", InvalidParameter),
        ("application/json", "[1]", InvalidParameter),
        ("application/json", '{"email": 1}', InvalidParameter),
        ("application/json", '{"email": "a", "admin": true}', InvalidParameter),
        ("application/json", "[" * 100_000, InvalidParameter),
        ("application/json", '{"email": "\\ud800"}', InvalidParameter),
    ],
)
def test_json_bodies(content_type: str | None, body: str, expected: type[Exception] | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    request = HttpEvent(event("POST", "/x", headers=headers, body=body))
    if expected is None:
        assert parse_json_body(Body, request).email == "a@b.c"
    else:
        with pytest.raises(expected):
            parse_json_body(Body, request)


def test_a_named_stage_prefix_is_not_part_of_the_route(app: HttpResolver) -> None:
    assert app.resolve(event("GET", "/prod/api/items/x", stage="prod"), None)["body"] == "x"


def test_headers_are_read_whatever_their_case(app: HttpResolver) -> None:
    response = app.resolve(event("OPTIONS", "/api/items", headers={"origin": "https://a.example"}), None)
    assert (response["statusCode"], response["headers"]) == (
        204,
        {"Access-Control-Allow-Origin": "https://a.example"},
    )


def test_errors_go_to_the_handler_of_their_nearest_class(app: HttpResolver) -> None:
    assert app.resolve(event("GET", "/api/items/bad"), None)["body"] == "invalid_parameter"
    assert app.resolve(event("GET", "/api/items/crash"), None)["body"] == "RuntimeError"


def test_without_a_handler_the_error_propagates() -> None:
    app = HttpResolver()

    @app.get("/x")
    def x() -> Response:
        raise KeyError("x")

    with pytest.raises(KeyError):
        app.resolve(event("GET", "/x"), None)
    with pytest.raises(RouteNotFound):
        app.resolve(event("GET", "/y"), None)


@pytest.mark.parametrize(
    ("model", "params", "path", "takes"),
    [
        (StatsQuery, {"siteId": "4", "format": "csv"}, (), "siteId, timeRange, from, to, compare, limit"),
        (SessionQuery, {"siteId": "4", "session_id": "gs_1", "format": "csv"}, ("session_id",), "siteId"),
    ],
)
def test_an_unknown_parameter_is_refused_with_every_query_parameter_the_route_takes(
    model: type[BaseModel], params: dict[str, str], path: tuple[str, ...], takes: str
) -> None:
    with pytest.raises(InvalidParameter) as refused:
        parse_params(model, params, path=path)
    assert refused.value.message == f"Unknown parameter format: this route takes {takes}."
