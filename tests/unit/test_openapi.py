"""docs/openapi.yaml stays in step with the code: routes, parameters, response bodies, error codes.

A route added to template.yaml, a field added to a response model, a parameter whose constraints
change or a new error code all fail here until the spec says the same.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ghostid import errors
from ghostid.logic import auth, collector
from ghostid.models import access, api, track
from ghostid.models.events import MAX_PROPS
from ghostid_local.cfn_yaml import load_template
from ghostid_local.gateway import http_routes
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
TEMPLATE = load_template(ROOT / "template.yaml")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# What each read route's handler validates its parameters with and answers on success.
ROUTE_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "GET /api/stats": (api.StatsQuery, api.StatsResponse),
    "GET /api/session/{id}": (api.SessionQuery, api.SessionResponse),
    "GET /api/me": (access.MeQuery, access.MeResponse),
}
PATH_PARAMETER_FIELDS = {"id": "session_id"}  # the template's `{id}` is the handler's `session_id`
# Read routes take the session cookie or an API key; sign-out takes the cookie only; the rest neither.
AUTHENTICATED = set(ROUTE_MODELS)
COOKIE_ONLY = {"POST /api/auth/logout"}


def _error_classes() -> list[type[errors.GhostIdError]]:
    found: list[type[errors.GhostIdError]] = [errors.GhostIdError]
    for cls in found:
        found.extend(sub for sub in cls.__subclasses__() if sub not in found)
    return found


def _component_models() -> dict[type[BaseModel], str]:
    """Every pydantic model at the API's edge, with the JSON-schema mode it is compared in: the read
    API's response bodies (its `...Query` parameter models are compared with the parameters) and the
    collector's request body (validation) and response (serialization)."""
    found: dict[type[BaseModel], str] = {}
    for module in (api, track, access):
        for name, value in vars(module).items():
            if (
                not (isinstance(value, type) and issubclass(value, BaseModel))
                or value.__module__ != module.__name__
            ):
                continue
            if name.endswith("Query"):
                continue
            found[value] = "validation" if name.endswith(("Event", "Batch", "Request")) else "serialization"
    return found


def _operations() -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = SPEC
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


# ------------------------------------------------------------------ schema normal form


def normal_form(schema: dict[str, Any], resolve: Any) -> Any:
    """What a schema says about a JSON value's shape: types, enums, properties, required, items.

    Titles, descriptions, examples, formats, patterns and numeric bounds of response bodies are
    left out; `anyOf` of plain types and OpenAPI 3.1 type lists compare equal (`str | None`)."""
    schema = resolve(schema)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        forms = [normal_form(branch, resolve) for branch in branches]
        if all(set(form) == {"type"} for form in forms):
            return {"type": sorted({t for form in forms for t in form["type"]})}
        return {"anyOf": forms}
    kind = schema.get("type")
    types = sorted(kind if isinstance(kind, list) else [kind]) if kind else []
    form: dict[str, Any] = {"type": types}
    if "enum" in schema or "const" in schema:
        form["enum"] = sorted(schema.get("enum", [schema.get("const")]))
    if "object" in types:
        properties = schema.get("properties", {})
        form["properties"] = {name: normal_form(value, resolve) for name, value in properties.items()}
        form["required"] = sorted(schema.get("required", []))
        if not properties:
            form["open"] = schema.get("additionalProperties", True) is not False
    if "array" in types:
        form["items"] = normal_form(schema.get("items", {}), resolve)
    return form


def _pydantic_form(model: type[BaseModel], mode: str = "serialization") -> Any:
    generated = model.model_json_schema(mode="serialization" if mode == "serialization" else "validation")
    defs = generated.get("$defs", {})

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[1]]
        return node

    return normal_form(generated, resolve)


# ------------------------------------------------------------------ routes


def test_spec_is_openapi_3_that_schemathesis_loads() -> None:
    import schemathesis
    from schemathesis.core.result import Ok

    assert SPEC["openapi"].startswith("3.")
    schema = schemathesis.openapi.from_path(str(ROOT / "docs/openapi.yaml"))
    schema.validate()
    assert all(isinstance(result, Ok) for result in schema.get_all_operations())


def test_every_template_route_is_in_the_spec_and_nothing_else() -> None:
    template_routes = {route.route_key for route in http_routes(TEMPLATE)}
    spec_routes = set(_operations())
    assert template_routes - spec_routes == set(), "routes in template.yaml missing from docs/openapi.yaml"
    assert spec_routes - template_routes == set(), "routes in docs/openapi.yaml that template.yaml lacks"


def test_security_schemes_are_the_cookie_and_the_api_key() -> None:
    schemes = SPEC["components"]["securitySchemes"]
    cookie, key = schemes["sessionCookie"], schemes["apiKey"]
    assert cookie == {**cookie, "type": "apiKey", "in": "cookie", "name": auth.COOKIE_NAME}
    assert key == {**key, "type": "http", "scheme": "bearer"}
    assert key["bearerFormat"].startswith(auth.API_KEY_PREFIX)
    for route, operation in _operations().items():
        security = operation.get("security", SPEC.get("security", []))
        if route in AUTHENTICATED:
            # The key first: with both, the Authorization header is the credential (the cookie is ignored).
            assert security == [{"apiKey": []}, {"sessionCookie": []}], route
        elif route in COOKIE_ONLY:
            assert security == [{"sessionCookie": []}], route
        else:
            assert security == [], f"{route}: a route without credentials says `security: []`"
        if security:
            assert {"401", "429"} <= set(operation["responses"]), route
            assert _resolve(operation["responses"]["429"])["headers"].keys() >= {
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            }


# ------------------------------------------------------------------ parameters


def _parameter_constraints(schema: dict[str, Any]) -> dict[str, Any]:
    keys = ("type", "enum", "default", "minimum", "maximum", "minLength", "maxLength")
    return {key: schema[key] for key in keys if key in schema}


def _same_pattern(left: str, right: str) -> bool:
    """Two regular expressions accept the same strings (every ASCII character, some others, lengths)."""
    samples = [chr(c) for c in range(0x80)] + ["é", "\u00a0", "\u2028", "日", "😀", "gs_123", "a b", ""]
    return all(bool(re.search(left, sample)) == bool(re.search(right, sample)) for sample in samples) and all(
        bool(re.search(left, s * 3)) == bool(re.search(right, s * 3)) for s in samples
    )


@pytest.mark.parametrize("route", sorted(ROUTE_MODELS))
def test_parameters_match_the_query_model(route: str) -> None:
    query_model = ROUTE_MODELS[route][0]
    generated = query_model.model_json_schema(by_alias=True)
    fields = generated["properties"]
    documented = {}
    for parameter in _operations()[route].get("parameters", []):
        parameter = _resolve(parameter)
        name = PATH_PARAMETER_FIELDS.get(parameter["name"], parameter["name"])
        expected_in = "path" if parameter["name"] in PATH_PARAMETER_FIELDS else "query"
        assert parameter["in"] == expected_in, parameter
        documented[name] = parameter
    assert set(documented) == set(fields), route
    assert {n for n, p in documented.items() if p.get("required")} == set(generated.get("required", []))
    for name, parameter in documented.items():
        spec_schema, model_schema = parameter["schema"], fields[name]
        assert _parameter_constraints(spec_schema) == _parameter_constraints(model_schema), (route, name)
        assert ("pattern" in spec_schema) == ("pattern" in model_schema), (route, name)
        if "pattern" in spec_schema:
            assert _same_pattern(spec_schema["pattern"], model_schema["pattern"]), (route, name)


# ------------------------------------------------------------------ response bodies


def test_every_edge_model_is_a_component_schema() -> None:
    components = SPEC["components"]["schemas"]
    models = [model.__name__ for model in _component_models()]
    assert set(models) >= {
        "StatsResponse",
        "SessionResponse",
        "TimelineItem",
        "TrackEvent",
        "TrackResponse",
        "LoginRequest",
        "MeResponse",
    }
    missing = [name for name in models if name not in components]
    assert missing == [], "pydantic models missing from components.schemas"


@pytest.mark.parametrize("model", list(_component_models()), ids=lambda m: m.__name__)
def test_component_schema_equals_the_pydantic_model(model: type[BaseModel]) -> None:
    spec_form = normal_form(SPEC["components"]["schemas"][model.__name__], _resolve)
    assert spec_form == _pydantic_form(model, _component_models()[model])


@pytest.mark.parametrize("route", sorted(ROUTE_MODELS))
def test_success_response_is_the_model_the_handler_returns(route: str) -> None:
    response = _resolve(_operations()[route]["responses"]["200"])
    schema = response["content"]["application/json"]["schema"]
    assert schema == {"$ref": f"#/components/schemas/{ROUTE_MODELS[route][1].__name__}"}
    assert _resolve(response["headers"]["Cache-Control"])["schema"]["const"] == "no-store"


def test_collector_request_and_response_are_its_models() -> None:
    operation = _operations()["POST /api/track"]
    body = operation["requestBody"]["content"]
    assert set(body) == set(collector.ACCEPTED_TYPES)
    for media_type in collector.ACCEPTED_TYPES:  # text/plain carries the same JSON (sendBeacon)
        assert body[media_type]["schema"] == {"$ref": "#/components/schemas/TrackBody"}
    one_of = [ref["$ref"].rsplit("/", 1)[1] for ref in SPEC["components"]["schemas"]["TrackBody"]["oneOf"]]
    assert one_of == [track.TrackEvent.__name__, track.TrackBatch.__name__]
    assert f"{track.MAX_BODY_BYTES:,}" in operation["requestBody"]["description"]
    accepted = _resolve(operation["responses"]["202"])
    assert accepted["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{track.TrackResponse.__name__}"
    }
    assert accepted["headers"]["X-Ghost-Dropped"]["schema"]["enum"] == ["bot"]
    assert collector.DROPPED_HEADER == "X-Ghost-Dropped"
    batch = SPEC["components"]["schemas"]["TrackBatch"]["properties"]["events"]
    assert batch["maxItems"] == track.MAX_BATCH
    offset = SPEC["components"]["schemas"]["TrackEvent"]["properties"]["offset_ms"]
    assert offset["minimum"] == -track.MAX_OFFSET_MS
    assert SPEC["components"]["schemas"]["TrackEvent"]["properties"]["props"]["maxProperties"] == MAX_PROPS


def test_spec_schemas_accept_what_the_models_produce() -> None:
    """A filled-in response of each model validates against the spec (nullable fields, nested lists)."""
    import jsonschema_rs

    timeline = api.TimelineItem(
        type="pageview",
        event_name="",
        page="/",
        page_title="",
        timestamp="2026-03-10T17:09:10.000Z",
        time_on_previous_page=0,
        props={"a": 1, "b": None},
    )
    bodies = {
        "SessionResponse": api.SessionResponse(
            session_id="gs_1",
            ghost_vid="gv_1",
            identified_user_id=None,
            country=None,
            city="Austin",
            device_type=None,
            browser=None,
            os=None,
            started_at=timeline.timestamp,
            ended_at=timeline.timestamp,
            duration_seconds=0,
            event_count=1,
            pageview_count=1,
            entry_page="/",
            exit_page=None,
            referrer=None,
            pages=["/"],
            timeline=[timeline],
        ),
        "StatsResponse": api.StatsResponse(
            overview=api.Overview(
                unique_visitors=1, sessions=1, pageviews=1, total_events=1, identified_visitors=0, hot_leads=0
            ),
            top_pages=[api.TopPage(page="/", views=1)],
            countries=[api.CountryVisitors(country="Unknown", visitors=1)],
            time_range="24h",
        ),
    }
    for name, body in bodies.items():
        schema = {**SPEC, "$ref": f"#/components/schemas/{name}"}
        validator = jsonschema_rs.validator_for(schema)
        assert validator.is_valid(body.model_dump(mode="json")), name
        assert not validator.is_valid({**body.model_dump(mode="json"), "leaked": "x"}), name


# ------------------------------------------------------------------ errors


def test_error_codes_are_those_of_ghostid_errors() -> None:
    enum = SPEC["components"]["schemas"]["ErrorCode"]["enum"]
    assert len(enum) == len(set(enum))
    assert set(enum) == {cls.code for cls in _error_classes()}


def test_error_envelope_is_what_ghostid_http_builds() -> None:
    from ghostid.http import error_body

    envelope = normal_form(SPEC["components"]["schemas"]["Error"], _resolve)
    body = error_body("not_found", "x")
    assert envelope["required"] == sorted(body)
    assert envelope["properties"]["error"]["required"] == sorted(body["error"])


def test_every_documented_error_status_has_its_code() -> None:
    by_status = {cls.status: cls.code for cls in _error_classes()}
    for route, operation in _operations().items():
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            assert int(status) in by_status, f"{route}: no ghostid error has status {status}"
            schema = _resolve(response)["content"]["application/json"]["schema"]
            parts = _resolve(schema)["allOf"]
            assert parts[0] == {"$ref": "#/components/schemas/Error"}, (route, status)
            code = parts[1]["properties"]["error"]["properties"]["code"]["const"]
            assert code == by_status[int(status)], (route, status)


@pytest.mark.parametrize("route", sorted(AUTHENTICATED))
def test_authenticated_read_routes_document_the_product_statuses(route: str) -> None:
    statuses = set(_operations()[route]["responses"])
    assert statuses >= {"200", "400", "401", "429", "500"}, route
    if "siteId" in ROUTE_MODELS[route][0].model_json_schema(by_alias=True).get("properties", {}):
        assert "403" in statuses, route
    if "{" in route:
        assert "404" in statuses


def test_sign_in_takes_its_model_and_answers_the_account() -> None:
    operation = _operations()["POST /api/auth/login"]
    body = operation["requestBody"]["content"]
    assert body == {"application/json": {"schema": {"$ref": "#/components/schemas/LoginRequest"}}}
    ok = _resolve(operation["responses"]["200"])
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MeResponse"}
    assert "Set-Cookie" in ok["headers"]
    assert {"400", "401", "403", "415", "429"} <= set(operation["responses"])
    assert "Set-Cookie" in _resolve(_operations()["POST /api/auth/logout"]["responses"]["204"])["headers"]
