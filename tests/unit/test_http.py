"""`ghostid.http.HttpResolver`, the router of the API functions: matching and the payload 2.0 response,
as Powertools' APIGatewayHttpResolver did them for these functions (it replaced it, see its module)."""

from __future__ import annotations

from typing import Any

import pytest
from ghostid.errors import GhostIdError, InvalidParameter
from ghostid.http import HttpResolver, Response, RouteNotFound


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
        return Response(error.status, error.code)

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
        ("POST", "/api/items/x"),
        ("GET", "/api/items/"),
        ("GET", "/api/items/x/y"),
        ("GET", "/api/items"),
        ("GET", "/API/items/x"),
        ("GET", "//api/items/x"),
    ],
)
def test_anything_else_is_not_found(app: HttpResolver, method: str, path: str) -> None:
    assert app.resolve(event(method, path), None)["body"] == "no route"


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
