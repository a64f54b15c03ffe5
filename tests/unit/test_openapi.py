"""docs/openapi.yaml stays in step with the code: routes, parameters, response bodies, error codes.

A route added to template.yaml, a field added to a response model, a parameter whose constraints
change or a new error code all fail here until the spec says the same. Which model a route validates its
parameters with and what it answers are read from the handlers (`tests/support/routes.py`), not listed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Union

import pytest
import yaml
from ghostid import errors
from ghostid.logic import auth, collector
from ghostid.models import access, api, people, track
from ghostid.models.dimensions import DIMENSIONS
from ghostid.models.events import MAX_PROPS, Event
from ghostid_local.gateway import http_routes
from pydantic import BaseModel, TypeAdapter

from tests.support.routes import read_routes, template

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
TEMPLATE = template()
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
NDJSON = "application/x-ndjson"

# Every read route (its handler calls authorize_read), with its query model, path parameters and answer.
READ_ROUTES = read_routes()
# Routes that authenticate without naming a site (no `authorize_read`), with their query models.
SITELESS: dict[str, type[BaseModel]] = {"GET /api/me": access.MeQuery}
AUTHENTICATED = set(READ_ROUTES) | set(SITELESS)
COOKIE_ONLY = {"POST /api/auth/logout"}  # sign-out takes the cookie only; the rest take no credential
JSON_ROUTES = {
    key
    for key, route in READ_ROUTES.items()
    if isinstance(route.answer, type) and issubclass(route.answer, BaseModel)
}
# A model documented as one of several shapes: its concrete answers are these (generated) subclasses.
UNIONS: dict[type[BaseModel], tuple[type[BaseModel], ...]] = {api.BreakdownResponse: api.breakdown_variants()}


def _error_classes() -> list[type[errors.GhostIdError]]:
    found: list[type[errors.GhostIdError]] = [errors.GhostIdError]
    for cls in found:
        found.extend(sub for sub in cls.__subclasses__() if sub not in found)
    return found


def _generated_models() -> list[type[BaseModel]]:
    """The breakdown answers per set of row metrics, and their rows (built from DIMENSIONS)."""
    found: list[type[BaseModel]] = []
    for variant in api.breakdown_variants():
        found += [variant, variant.model_fields["rows"].annotation.__args__[0]]  # type: ignore[union-attr]
    return found


def _component_models() -> dict[type[BaseModel], str]:
    """Every pydantic model at the API's edge, with the JSON-schema mode it is compared in: the read
    API's response bodies (its `...Query` parameter models are compared with the parameters), the
    generated breakdown shapes, and the collector's request body (validation) and response
    (serialization). Private models and the bases of generated ones (a row's `value`) are left out."""
    found: dict[type[BaseModel], str] = {}
    generated = _generated_models()
    bases = {base for model in generated for base in model.__mro__[1:]} - set(UNIONS)
    for module in (api, people, track, access):
        for name, value in vars(module).items():
            if (
                not (isinstance(value, type) and issubclass(value, BaseModel))
                or value.__module__ != module.__name__
            ):
                continue
            if name.endswith("Query") or name.startswith("_") or value in bases:
                continue
            inbound = (module is track and not name.endswith("Response")) or name.endswith("Request")
            found[value] = "validation" if inbound else "serialization"
    return found | dict.fromkeys(generated, "serialization")


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
    if model in UNIONS:  # documented as oneOf its shapes
        shapes: Any = Union[UNIONS[model]]  # noqa: UP007
        adapter: TypeAdapter[Any] = TypeAdapter(shapes)
        generated = adapter.json_schema(mode="serialization")
    else:
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
    keys = ("type", "enum", "default", "minimum", "maximum", "minLength", "maxLength", "format")
    return {key: schema[key] for key in keys if key in schema}


def _as_query_parameter(field: dict[str, Any]) -> dict[str, Any]:
    """An optional field's schema as a query parameter: absent rather than null (`X | None = None` is
    `anyOf: [X, null]` with `default: null` in the model, plain `X` with no default in the spec)."""
    branches = [b for b in field.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        field = {**{k: v for k, v in field.items() if k != "anyOf"}, **branches[0]}
    if field.get("default", "") is None:
        field = {k: v for k, v in field.items() if k != "default"}
    return field


def _same_pattern(left: str, right: str) -> bool:
    """Two regular expressions accept the same strings (every ASCII character, some others, lengths)."""
    samples = [chr(c) for c in range(0x80)] + ["é", "\u00a0", "\u2028", "日", "😀", "gs_123", "a b", ""]
    return all(bool(re.search(left, sample)) == bool(re.search(right, sample)) for sample in samples) and all(
        bool(re.search(left, s * 3)) == bool(re.search(right, s * 3)) for s in samples
    )


@pytest.mark.parametrize("route", sorted(AUTHENTICATED))
def test_parameters_match_the_query_model(route: str) -> None:
    read = READ_ROUTES.get(route)
    query_model = read.query_model if read else SITELESS[route]
    path_fields = read.path_fields if read else {}
    assert query_model is not None
    generated = query_model.model_json_schema(by_alias=True)
    fields = {name: _as_query_parameter(field) for name, field in generated["properties"].items()}
    documented = {}
    for parameter in _operations()[route].get("parameters", []):
        parameter = _resolve(parameter)
        name = path_fields.get(parameter["name"], parameter["name"])
        expected_in = "path" if parameter["name"] in path_fields else "query"
        assert parameter["in"] == expected_in, parameter
        assert name not in documented, f"{route}: {name} documented twice"
        documented[name] = parameter
    assert set(documented) == set(fields), route
    required = {n for n, p in documented.items() if p.get("required")}
    assert required == set(generated.get("required", [])), route
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
    answers = {route.answer.__name__ for key, route in READ_ROUTES.items() if key in JSON_ROUTES}
    expected = {"SessionResponse", "TimelineItem", "TrackEvent", "TrackResponse", "LoginRequest"}
    expected.add("MeResponse")
    assert set(models) >= expected | answers
    missing = [name for name in models if name not in components]
    assert missing == [], "pydantic models missing from components.schemas"


def test_breakdown_shapes_cover_every_dimension_with_its_metrics() -> None:
    """Each dimension's answer (spec: the discriminator's mapping) has rows of exactly its metrics."""
    breakdown = SPEC["components"]["schemas"]["BreakdownResponse"]
    mapping = breakdown["discriminator"]["mapping"]
    assert set(mapping) == {d.name for d in DIMENSIONS}
    for dimension in DIMENSIONS:
        variant = _resolve({"$ref": mapping[dimension.name]})
        assert dimension.name in variant["properties"]["dimension"]["enum"]
        row = _resolve(variant["properties"]["rows"]["items"])
        assert list(row["properties"]) == ["value", *dimension.metrics], dimension.name
        assert sorted(row["required"]) == sorted(["value", *dimension.metrics])
        assert row["additionalProperties"] is False
    assert [ref["$ref"] for ref in breakdown["oneOf"]] == sorted(
        set(mapping.values()), key=list(mapping.values()).index
    )


@pytest.mark.parametrize("model", list(_component_models()), ids=lambda m: m.__name__)
def test_component_schema_equals_the_pydantic_model(model: type[BaseModel]) -> None:
    spec_form = normal_form(SPEC["components"]["schemas"][model.__name__], _resolve)
    assert spec_form == _pydantic_form(model, _component_models()[model])


@pytest.mark.parametrize("route", sorted(JSON_ROUTES))
def test_success_response_is_the_model_the_handler_returns(route: str) -> None:
    response = _resolve(_operations()[route]["responses"]["200"])
    assert set(response["content"]) == {"application/json"}
    schema = response["content"]["application/json"]["schema"]
    assert schema == {"$ref": f"#/components/schemas/{READ_ROUTES[route].answer.__name__}"}
    assert _resolve(response["headers"]["Cache-Control"])["schema"]["const"] == "no-store"


def test_export_answers_ndjson_with_the_next_cursor_header() -> None:
    """The one read route whose logic returns text, not a model: NDJSON, `Next-Cursor` for the next part."""
    (route,) = set(READ_ROUTES) - JSON_ROUTES
    assert route == "GET /api/export"
    response = _resolve(_operations()[route]["responses"]["200"])
    assert set(response["content"]) == {NDJSON}
    assert response["content"][NDJSON]["schema"]["type"] == "string"
    assert _resolve(response["headers"]["Cache-Control"])["schema"]["const"] == "no-store"
    assert response["headers"]["Next-Cursor"]["schema"]["type"] == "string"
    source = (ROOT / "functions" / READ_ROUTES[route].folder / "app.py").read_text()
    assert f'NDJSON = "{NDJSON}"' in source and '"Next-Cursor"' in source


def test_exported_event_is_the_import_format() -> None:
    """An export line's schema has the import format's fields (PRODUCT §7), with `event_id` required."""
    exported = SPEC["components"]["schemas"]["ExportedEvent"]
    assert set(exported["properties"]) == set(Event.model_fields)
    import_required = {n for n, f in Event.model_fields.items() if f.is_required()}
    assert set(exported["required"]) == import_required | {"event_id"}
    assert exported["additionalProperties"] is False


def test_people_shapes_derive_from_the_session_and_the_lead_row() -> None:
    """PRODUCT §12: a session summary is the §6 session without `pages` and `timeline`; a profile is the
    lead row's fields (with `sessions` the summaries) plus its own."""
    session = list(api.SessionResponse.model_fields)
    assert list(people.SessionSummaryBody.model_fields) == [
        f for f in session if f not in ("pages", "timeline")
    ]
    lead = list(people.LeadRow.model_fields)
    assert list(people.VisitorResponse.model_fields)[: len(lead)] == lead


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
        **_range_bodies(timeline.timestamp),
        **_people_bodies(timeline.timestamp),
    }
    for name, body in bodies.items():
        schema = {**SPEC, "$ref": f"#/components/schemas/{name.split(':')[0]}"}
        validator = jsonschema_rs.validator_for(schema)
        dumped = json.loads(body.model_dump_json())
        assert validator.is_valid(dumped), (name, list(validator.iter_errors(dumped))[:1])
        assert not validator.is_valid({**dumped, "leaked": "x"}), name


def _range_bodies(ts: str) -> dict[str, BaseModel]:
    overview = api.Overview(
        unique_visitors=1, sessions=1, pageviews=1, total_events=1, identified_visitors=0, hot_leads=0
    )
    period = api.PeriodBody(start=ts, end=ts, timezone="Asia/Kathmandu")
    change = api.Change(
        unique_visitors=0.0,
        sessions=-50.0,
        pageviews=None,
        total_events=12.5,
        identified_visitors=None,
        hot_leads=None,
    )
    stats = api.StatsResponse(
        overview=overview,
        top_pages=[api.TopPage(page="/", views=1)],
        countries=[api.CountryVisitors(country="Unknown", visitors=1)],
        time_range="24h",
        period=period,
    )
    point = api.Point(start=ts, label="2026-03-10T17:00", **overview.model_dump())
    series = api.TimeseriesResponse(interval="hour", time_range="custom", period=period, points=[point])
    comparison = api.Comparison(period=period, overview=overview, change=change)
    bodies: dict[str, BaseModel] = {
        "StatsResponse": stats,
        "StatsResponse:compared": stats.model_copy(update={"comparison": comparison}),
        "TimeseriesResponse": series,
        "TimeseriesResponse:compared": series.model_copy(
            update={"comparison": api.SeriesComparison(period=period, points=[point])}
        ),
        "RealtimeResponse": api.RealtimeResponse(
            visitors_now=1,
            pageviews_last_30m=2,
            minutes=[api.MinuteBody(start=ts, pageviews=0, visitors=0)] * 30,
            top_pages=[api.PageVisitors(page="/", visitors=1)],
        ),
    }
    for dimension in DIMENSIONS:
        row: dict[str, Any] = {"value": "(none)", **dict.fromkeys(dimension.metrics, 1)}
        bodies[f"BreakdownResponse:{dimension.name}"] = api.BREAKDOWN_RESPONSES[
            dimension.name
        ].model_validate(
            {
                "dimension": dimension.name,
                "time_range": "7d",
                "period": period,
                "rows": [row],
                "next_cursor": "c",
            }
        )
    return bodies


def _people_bodies(ts: str) -> dict[str, BaseModel]:
    lead = people.LeadRow(
        ghost_vid="gv_1",
        identified_user_id=None,
        score=35,
        score_parts=people.ScoreParts(high_intent_pageviews=10, custom_events=5, identified=20),
        hot=True,
        hot_since=ts,
        first_seen=ts,
        last_seen=ts,
        sessions=2,
        country=None,
        last_session_id="gs_1",
        last_pages=["/pricing", "/"],
    )
    summary = people.SessionSummaryBody(
        session_id="gs_1",
        ghost_vid="gv_1",
        identified_user_id="jane@example.com",
        country="Nepal",
        city=None,
        device_type="mobile",
        browser=None,
        os=None,
        started_at=ts,
        ended_at=ts,
        duration_seconds=0,
        event_count=1,
        pageview_count=0,
        entry_page=None,
        exit_page=None,
        referrer=None,
    )
    visitor = people.VisitorResponse.model_validate(
        {
            **lead.model_dump(),
            "sessions": [summary],
            "user_ids": ["jane@example.com"],
            "pageviews": 2,
            "events": 5,
            "countries": ["Nepal"],
            "devices": ["mobile"],
            "session_count": 2,
            "next_cursor": None,
        }
    )
    return {
        "LeadsResponse": people.LeadsResponse(leads=[lead], next_cursor="c"),
        "SessionsResponse": people.SessionsResponse(sessions=[summary], next_cursor=None),
        "VisitorResponse": visitor,
    }


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
    """Every read route can answer 200, 400 (parameters), 401, 403 and 500; those that name a thing in
    their path (a session, a visitor) also 404, and only those (a list is never a 404)."""
    statuses = set(_operations()[route]["responses"])
    assert statuses >= {"200", "400", "401", "429", "500"}, route
    assert ("403" in statuses) == (route in READ_ROUTES), route
    assert ("404" in statuses) == bool(route in READ_ROUTES and READ_ROUTES[route].path_fields), route


def test_sign_in_takes_its_model_and_answers_the_account() -> None:
    operation = _operations()["POST /api/auth/login"]
    body = operation["requestBody"]["content"]
    assert body == {"application/json": {"schema": {"$ref": "#/components/schemas/LoginRequest"}}}
    ok = _resolve(operation["responses"]["200"])
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MeResponse"}
    assert "Set-Cookie" in ok["headers"]
    assert {"400", "401", "403", "415", "429"} <= set(operation["responses"])
    assert "Set-Cookie" in _resolve(_operations()["POST /api/auth/logout"]["responses"]["204"])["headers"]
