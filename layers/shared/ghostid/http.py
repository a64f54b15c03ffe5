"""The HTTP edge shared by the API functions: one resolver factory and the one error → response mapping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from ghostid.errors import GhostIdError, InvalidParameter, NotFound
from ghostid.observability import logger, metrics, tracer

M = TypeVar("M", bound=BaseModel)
JSON = "application/json"
READ_HEADERS = {"Cache-Control": "no-store"}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def json_response(
    status: int, body: BaseModel | dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    payload = body.model_dump_json() if isinstance(body, BaseModel) else _dumps(body)
    return Response(
        status_code=status, content_type=JSON, body=payload, headers={**READ_HEADERS, **(headers or {})}
    )


def _dumps(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


# What each parameter allows, said the same way whatever was wrong with it.
PARAMETER_HELP = {
    "siteId": "siteId is required and must be a positive whole number, e.g. siteId=4.",
    "timeRange": "timeRange must be one of 24h, 7d or 30d (default 7d).",
    "session_id": "The session id in the path must be 1 to 128 printable characters, e.g. gs_123.",
}


def parse_params(model: type[M], params: dict[str, Any]) -> M:
    """Validates request parameters; the first bad one becomes a 400 that names it."""
    try:
        return model.model_validate(params)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "request"
        raise InvalidParameter(PARAMETER_HELP.get(name, f"{name} is invalid.")) from None


def create_resolver() -> APIGatewayHttpResolver:
    """A resolver whose every error, including unknown routes and crashes, uses PRODUCT §1's envelope."""
    app = APIGatewayHttpResolver()

    @app.exception_handler(GhostIdError)  # type: ignore[untyped-decorator]
    def handle_domain_error(error: GhostIdError) -> Response[str]:
        logger.info("request rejected", extra={"status": error.status, "code": error.code})
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        return json_response(error.status, error_body(error.code, error.message))

    @app.not_found
    def handle_not_found(_: NotFound | Exception) -> Response[str]:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        return json_response(
            404, error_body("not_found", "No such route: see the API reference in the README.")
        )

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def handle_crash(error: Exception) -> Response[str]:
        request_id = app.lambda_context.aws_request_id if app.lambda_context else "unknown"
        logger.exception("unhandled error", extra={"request_id": request_id})
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        message = f"Something went wrong on our side; quote request id {request_id} when you report it."
        return json_response(500, error_body("internal", message))

    return app


def api_entry_point(app: APIGatewayHttpResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler of an API function: correlation ids from the request, tracing and metrics."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler
