"""Driving the real handlers in-process with the events in `events/` (the files `sam local invoke` takes)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from ghostid_local.lambda_context import LambdaContext, load_handler_from_file

from tests.support.routes import function_folders

ROOT = Path(__file__).resolve().parents[2]
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/EventsTable/stream/2026-01-01T00:00:00.000"
FUNCTIONS = function_folders()  # code folder -> the template's logical id, for every function


@cache
def handler(name: str) -> Any:
    return load_handler_from_file(ROOT / "functions" / name, "app.lambda_handler", f"ghostid_fn_{name}")


def event_file(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return event


def http_event(
    file: str,
    *,
    query: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    path_id: str | None = None,
    path: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An event from `events/<file>` with its query, cookies and path parameters replaced, headers added
    (`path_id` is the `{id}` of `/api/session/{id}`; `path` fills any route's parameters, percent-encoded)."""
    event = copy.deepcopy(event_file(file))
    event["headers"].update(headers or {})
    if query is not None:
        event["queryStringParameters"] = query or None
        event["rawQueryString"] = urlencode(query)
    if cookies is not None:
        event["cookies"] = cookies
    if path_id is not None:
        path = {"id": path_id}
    if path is not None:
        route = str(event["routeKey"]).split(" ", 1)[1]
        event["pathParameters"] = path
        raw = route.format(**{name: quote(value, safe="") for name, value in path.items()})
        event["rawPath"] = event["requestContext"]["http"]["path"] = raw
    return event


def call_http(name: str, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Status, headers and the JSON body of the handler's answer."""
    status, headers, body = call_raw(name, event)
    return status, headers, json.loads(body)


def call_raw(name: str, event: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    """Status, headers and the text body of the handler's answer (an export's NDJSON, for example)."""
    response = handler(name)(event, LambdaContext(FUNCTIONS[name]))
    return response["statusCode"], response.get("headers", {}), response["body"]


def stream_record(item: dict[str, Any], sequence: int, event_name: str = "INSERT") -> dict[str, Any]:
    """A Lambda DynamoDB-stream record for one events-table item."""
    return {
        "eventID": f"id-{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"pk": item["pk"], "sk": item["sk"]},
            "NewImage": item,
            "SequenceNumber": f"{sequence:021d}",
            "SizeBytes": 300,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": STREAM_ARN,
    }


def deliver(records: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = handler("rollup")({"Records": records}, LambdaContext("RollupFunction"))
    return result
