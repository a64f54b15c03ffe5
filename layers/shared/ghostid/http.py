"""The HTTP edge shared by the API functions: a small router for API Gateway HTTP API (payload 2.0)
events, one resolver factory and the one error → response mapping.

The router is ours, not Powertools' event handler: importing `aws_lambda_powertools.event_handler`
loads every resolver it ships (AppSync with asyncio, Bedrock, VPC Lattice, ...), the data classes of
some forty event sources and its OpenAPI machinery: about a third of an API function's cold import,
for the four routes these functions serve. Matching and the response shape are those of its
`APIGatewayHttpResolver` as we used it (no CORS, compression or validation there either).
"""

from __future__ import annotations

import base64
import gc
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from ghostid.errors import GhostIdError, InvalidParameter, MethodNotAllowed, UnsupportedMediaType
from ghostid.observability import logger, metrics

# --- routing ---------------------------------------------------------------------------------------


class Response:
    """What a route returns: status, text body and headers (`content_type` sets Content-Type)."""

    def __init__(
        self,
        status_code: int,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers or {})
        self.cookies = list(cookies or [])  # Set-Cookie values
        if content_type:
            self.headers.setdefault("Content-Type", content_type)


class Headers(Mapping[str, str]):
    """Request headers by name, whatever its case (API Gateway passes them on in lower case)."""

    def __init__(self, headers: Mapping[str, str] | None) -> None:
        self._headers = {name.lower(): value for name, value in (headers or {}).items()}

    def __getitem__(self, name: str) -> str:
        return self._headers[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


class HttpEvent:
    """The parts of a payload 2.0 event the routes read."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.raw_event = event
        context = event.get("requestContext") or {}
        self.http_method = str((context.get("http") or {}).get("method", "")).upper()
        path = str(event.get("rawPath") or "/")
        stage = context.get("stage")
        if stage and stage != "$default" and path.startswith(f"/{stage}/"):
            path = path[len(stage) + 1 :]  # a named stage's prefix, as Powertools strips it
        self.path = path
        self.headers = Headers(event.get("headers"))
        self.cookies: list[str] = event.get("cookies") or []
        self.query_string_parameters: dict[str, str] | None = event.get("queryStringParameters")
        self.body: str | None = event.get("body")
        self.is_base64_encoded = bool(event.get("isBase64Encoded"))
        self.source_ip = str((context.get("http") or {}).get("sourceIp", ""))
        # Headers every answer to this request carries, errors included (a credential's rate limit).
        self.response_headers: dict[str, str] = {}

    def body_bytes(self) -> bytes:
        raw = self.body or ""
        return base64.b64decode(raw) if self.is_base64_encoded else raw.encode("utf-8", "surrogatepass")


RouteFunction = Callable[..., Response]
F = TypeVar("F", bound=RouteFunction)
E = TypeVar("E", bound=Callable[[Any], Response])
# A path parameter (`<name>`) is one non-empty path segment: the characters Powertools allows there.
_PARAMETER = re.compile(r"<(\w+)>")
_SEGMENT = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"


class RouteNotFound(Exception):
    """No route for the request's method and path (goes to the `not_found` handler)."""


class HttpResolver:
    """Routes a payload 2.0 event to the function registered for its method and path; what a route
    raises goes to the handler registered for the nearest class of the exception."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], RouteFunction]] = []
        self._error_handlers: dict[type[Exception], Callable[[Any], Response]] = {}
        self.current_event = HttpEvent({})
        self.lambda_context: LambdaContext | None = None

    def route(self, rule: str, method: str) -> Callable[[F], F]:
        """Registers a route; `<name>` in `rule` matches one path segment, passed as argument `name`."""
        parts = _PARAMETER.split(rule)  # fixed text, parameter name, fixed text, ...
        pattern = "".join(f"(?P<{p}>{_SEGMENT})" if n % 2 else re.escape(p) for n, p in enumerate(parts))

        def register(function: F) -> F:
            self._routes.append((method.upper(), re.compile(f"^{pattern}$"), function))
            return function

        return register

    def get(self, rule: str) -> Callable[[F], F]:
        return self.route(rule, "GET")

    def post(self, rule: str) -> Callable[[F], F]:
        return self.route(rule, "POST")

    def exception_handler(self, kind: type[Exception]) -> Callable[[E], E]:
        def register(handler: E) -> E:
            self._error_handlers[kind] = handler
            return handler

        return register

    def not_found(self, handler: E) -> E:
        return self.exception_handler(RouteNotFound)(handler)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """The payload 2.0 response for `event`."""
        self.current_event = HttpEvent(event)
        self.lambda_context = context
        try:
            response = self._dispatch()
        except Exception as error:
            handler = next(
                (self._error_handlers[k] for k in type(error).__mro__ if k in self._error_handlers), None
            )
            if handler is None:
                raise
            response = handler(error)
        return {
            "statusCode": response.status_code,
            "body": response.body,
            "isBase64Encoded": False,
            "headers": {**self.current_event.response_headers, **response.headers},
            "cookies": response.cookies,
        }

    def _dispatch(self) -> Response:
        """The route's answer; 405 with `Allow` when the API has the path with other methods (deployed,
        such requests reach the `$default` route's function, which knows every route), else 404."""
        request = self.current_event
        own_methods = set()
        for method, pattern, function in self._routes:
            if match := pattern.match(request.path):
                if method == request.http_method:
                    return function(**match.groupdict())
                own_methods.add(method)
        allowed = sorted(own_methods | set(api_methods(request.path)))
        if allowed:
            raise MethodNotAllowed(request.http_method, request.path, allowed)
        raise RouteNotFound(f"{request.http_method} {request.path}")


# The HTTP API's routes: `api_routes.json` beside this module, written from template.yaml by `make routes`
# (tests/unit/test_http.py fails when it is stale). Read on the first request that matches no route.
ROUTES_FILE = Path(__file__).with_name("api_routes.json")


@cache
def _api_routes() -> tuple[tuple[str, re.Pattern[str]], ...]:
    routes = json.loads(ROUTES_FILE.read_text(encoding="utf-8"))["routes"]
    return tuple((route["method"], route_pattern(route["path"])) for route in routes)


def route_pattern(path: str) -> re.Pattern[str]:
    """API Gateway's path template as a regex: `{name}` is one path segment, `{name+}` the rest."""
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join(
        ("(.+)" if p.endswith("+}") else "([^/]+)") if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(f"^{regex}$")


def api_methods(path: str) -> list[str]:
    """The methods the HTTP API declares for `path` (none for a path it does not have)."""
    return sorted({method for method, pattern in _api_routes() if pattern.match(path)})


# --- the API functions' edge -----------------------------------------------------------------------


M = TypeVar("M", bound=BaseModel)
JSON = "application/json"
READ_HEADERS = {"Cache-Control": "no-store"}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def json_response(
    status: int,
    body: BaseModel | dict[str, Any],
    headers: Mapping[str, str] | None = None,
    cookies: list[str] | None = None,
) -> Response:
    payload = body.model_dump_json() if isinstance(body, BaseModel) else _dumps(body)
    return Response(
        status_code=status,
        content_type=JSON,
        body=payload,
        headers={**READ_HEADERS, **(headers or {})},
        cookies=cookies,
    )


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


# What each JSON body field allows, said the same way whatever was wrong with it.
BODY_FIELD_HELP = {
    "email": "email is required: the account's email address, 1 to 254 characters.",
    "password": "password is required: 1 to 1,024 characters.",
}


def parse_params(model: type[M], params: dict[str, Any], path: Iterable[str] = ()) -> M:
    """Validates request parameters; the first bad one becomes a 400 that names it (an unknown one too, so
    `?format=csv` on a route without formats is refused rather than silently ignored, with the query
    parameters the route takes: every field but those of the `path`). The message is the field's
    `description`, which says what the parameter allows."""
    try:
        return model.model_validate(params)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        if first["type"] == "extra_forbidden":
            in_path = set(path)
            names = (f.alias or n for n, f in model.model_fields.items())
            allowed = ", ".join(n for n in names if n not in in_path)
            raise InvalidParameter(f"Unknown parameter {name}: this route takes {allowed}.") from None
        if not name:  # a rule across parameters: its own message says what to do
            message = str(first.get("ctx", {}).get("error", first["msg"]))
            raise InvalidParameter(message) from None
        field = next((f for n, f in model.model_fields.items() if name in (n, f.alias)), None)
        raise InvalidParameter((field.description if field else None) or f"{name} is invalid.") from None


def parse_json_body(model: type[M], event: HttpEvent) -> M:
    """A JSON object body (415 for another media type, 400 naming the first bad or unknown field)."""
    media_type = event.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != JSON:
        raise UnsupportedMediaType("Send the body as JSON with Content-Type: application/json.")
    try:
        data = json.loads(event.body_bytes().decode("utf-8"))
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # no lone surrogate from a \ud800 escape
    except (ValueError, RecursionError):
        raise InvalidParameter("The body is not valid UTF-8 JSON.") from None
    if not isinstance(data, dict):
        raise InvalidParameter("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "body"
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(f.alias or n for n, f in model.model_fields.items())
            raise InvalidParameter(f"Unknown field {name[:100]}: the body takes {allowed}.") from None
        raise InvalidParameter(BODY_FIELD_HELP.get(name, f"{name[:100]} is invalid.")) from None


def create_resolver() -> HttpResolver:
    """A resolver whose every error, including unknown routes and crashes, uses PRODUCT §1's envelope."""
    app = HttpResolver()

    @app.exception_handler(GhostIdError)
    def handle_domain_error(error: GhostIdError) -> Response:
        logger.info("request rejected", extra={"status": error.status, "code": error.code})
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        return json_response(error.status, error_body(error.code, error.message), error.headers)

    @app.not_found
    def handle_not_found(_: RouteNotFound) -> Response:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        return json_response(
            404, error_body("not_found", "No such route: see the API reference in the README.")
        )

    @app.exception_handler(Exception)
    def handle_crash(error: Exception) -> Response:
        request_id = app.lambda_context.aws_request_id if app.lambda_context else "unknown"
        logger.exception("unhandled error", extra={"request_id": request_id})
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        message = f"Something went wrong on our side; quote request id {request_id} when you report it."
        return json_response(500, error_body("internal", message))

    return app


def api_entry_point(app: HttpResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler of an API function: correlation ids from the request, and metrics. Called last in
    the function's module, so it also ends the cold start: what the imports built lives as long as the
    container, and is frozen out of the garbage collector's reach (a big site's read allocates hundreds of
    thousands of rows, and every full collection would walk the import-time heap again)."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    gc.freeze()
    return lambda_handler
