"""The public surface of the read routes, as their tests attack it (one test file per route uses this).

- `member_site()`: site 4 with a member whose login session is the `events/` files' cookie, site 5 beside
  it (not the member's), and a handful of events folded by the real stream handler (moto is slow: the
  consumer makes about ten requests per event, so the traffic is tiny but covers every kind of value).
- `call()`: a route's handler fed its `events/<folder>_get.json` with the query, cookies or path replaced.
- `answer_validator()`: the JSON schema docs/openapi.yaml gives the route's 200 answer.
- `parameter_cases()`: the error matrix of a route's parameters, derived from its query model's JSON
  schema (every parameter wrong in each way its type allows, missing when required, unknown parameters,
  the range rules), each expected to be a 400 whose message names the parameter.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from ghostid.dal import auth as auth_dal
from ghostid.dal import sites as sites_dal
from ghostid.logic import auth
from ghostid.logic.periods import RETENTION_DAYS
from ghostid.models.api import BREAKDOWN_RESPONSES, BreakdownResponse
from ghostid.models.sites import LoginSession, Site
from pydantic import BaseModel

from tests.support import lambdas
from tests.support.routes import HttpRoute, read_routes
from tests.support.scenario import (
    EVENTS_TOKEN,
    MEMBER,
    NOW,
    SITE,
    import_traffic,
    stored_events,
    stored_items,
)
from tests.support.traffic import iso

ROOT = Path(__file__).resolve().parents[2]
OTHER_SITE = 5  # exists, the member is not in it
TODAY = NOW.date()
HOT_VISITOR = "gv_a1b2c3d4_e5f6g7h8"  # the visitor of events/visitor_get.json
JSON = "application/json"


def route(key: str) -> HttpRoute:
    return read_routes()[key]


# ------------------------------------------------------------------ a site with a little traffic


def tiny_traffic() -> list[dict[str, Any]]:
    """Seven events: a hot, identified visitor (two sessions, UTM, referrer, full device data) active a
    few minutes ago, an anonymous one yesterday with a unicode page and no country, and one 40 days ago
    (outside 30d, inside the retention)."""
    m = timedelta(minutes=1)
    hot = {"ghost_vid": HOT_VISITOR, "country": "United States", "city": "Austin"}
    device = {"device_type": "desktop", "browser": "Chrome", "os": "macOS"}
    anonymous = {"ghost_vid": "gv_anon_0002", "session_id": "gs_200"}
    return [
        {**hot, **device, "session_id": "gs_123", "type": "pageview", "page": "/", "page_title": "Home",
         "timestamp": iso(NOW - 4 * m), "event_id": "e1", "referrer": "https://www.google.com/",
         "props": {"utm_source": "newsletter", "utm_campaign": "spring"}},
        {**hot, **device, "session_id": "gs_123", "type": "pageview", "page": "/pricing",
         "timestamp": iso(NOW - 3 * m), "event_id": "e2"},
        {**hot, **device, "session_id": "gs_123", "type": "custom_event", "event_name": "cta_clicked",
         "page": "/pricing", "timestamp": iso(NOW - 2 * m), "event_id": "e3", "user_id": MEMBER,
         "props": {"section": "hero"}},
        {"ghost_vid": HOT_VISITOR, "session_id": "gs_124", "type": "pageview", "page": "/demo",
         "country": "Canada", "device_type": "mobile", "timestamp": iso(NOW - timedelta(days=3)),
         "event_id": "e4"},
        {**anonymous, "type": "pageview", "page": "/café", "timestamp": iso(NOW - timedelta(days=1)),
         "event_id": "e5"},
        {**anonymous, "type": "custom_event", "event_name": "signup_started", "page": "/café",
         "timestamp": iso(NOW - timedelta(days=1) + m), "event_id": "e6"},
        {"ghost_vid": "gv_old_0003", "session_id": "gs_300", "type": "pageview", "page": "/",
         "timestamp": iso(NOW - timedelta(days=40)), "event_id": "e7"},
    ]  # fmt: skip


def same_millisecond_traffic(visitors: int) -> list[dict[str, Any]]:
    """`visitors` identified visitors, each starting a session in the same millisecond a minute ago: lists
    whose rows tie on every stored sort key but the id."""
    moment = iso(NOW - timedelta(minutes=1))
    return [
        {"ghost_vid": f"gv_tie_{n:04d}", "session_id": f"gs_tie_{n:04d}", "type": "pageview", "page": "/",
         "timestamp": moment, "event_id": f"tie{n}", "user_id": f"user{n}@example.com"}
        for n in range(visitors)
    ]  # fmt: skip


def member_site(traffic: bool | list[dict[str, Any]] = True) -> list[dict[str, Any]]:
    """Sites 4 (the member's) and 5 (not), the events' cookie as the member's login session, and (with
    `traffic`) those events (`tiny_traffic()` by default) imported and folded; returns the stored events."""
    sites_dal.put_site(Site(site_id=SITE, domain="example.com"))
    sites_dal.put_site(Site(site_id=OTHER_SITE, domain="other.example.com"))
    sites_dal.add_member(SITE, MEMBER)
    auth_dal.put_login_session(
        auth.hash_token(EVENTS_TOKEN), LoginSession(user_id=MEMBER, expires_at=int(time.time()) + 3600)
    )
    if not traffic:
        return []
    import_traffic(tiny_traffic() if traffic is True else traffic)
    items = stored_items()
    assert lambdas.deliver([lambdas.stream_record(item, n) for n, item in enumerate(items, 1)]) == {
        "batchItemFailures": []
    }
    return stored_events(items)


# ------------------------------------------------------------------ calling a route


def event_file(served: HttpRoute) -> str:
    return f"{served.folder}_get.json"


def shipped_query(served: HttpRoute) -> dict[str, str]:
    query: dict[str, str] = lambdas.event_file(event_file(served))["queryStringParameters"]
    return query


def shipped_path(served: HttpRoute) -> dict[str, str] | None:
    path: dict[str, str] | None = lambdas.event_file(event_file(served)).get("pathParameters")
    return path


def call_raw(
    served: HttpRoute,
    query: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    path: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    event = lambdas.http_event(event_file(served), query=query, cookies=cookies, path=path)
    return lambdas.call_raw(served.folder, event)


def call(
    served: HttpRoute,
    query: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    path: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    status, headers, body = call_raw(served, query, cookies, path)
    if headers.get("Content-Type") != JSON:
        return status, headers, {"not json": body[:200]}  # an export's NDJSON: only errors are read here
    return status, headers, json.loads(body)


def expect_error(result: tuple[int, dict[str, str], Any], status: int, code: str) -> str:
    """Asserts the §1 envelope with this status and code; returns the message."""
    got, headers, body = result
    assert (got, body.get("error", {}).get("code")) == (status, code), body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert headers["Content-Type"] == JSON and headers["Cache-Control"] == "no-store", headers
    return str(body["error"]["message"])


def expect_json_answer(result: tuple[int, dict[str, str], Any], served: HttpRoute) -> Any:
    """A 200 with the read headers, whose body is what the spec and the route's answer model say."""
    status, headers, body = result
    assert status == 200, body
    assert headers["Content-Type"] == JSON and headers["Cache-Control"] == "no-store", headers
    validator = answer_validator(served.key)
    assert validator.is_valid(body), list(validator.iter_errors(body))[:3]
    assert isinstance(served.answer, type) and issubclass(served.answer, BaseModel)
    # A breakdown's concrete answer is the shape of its dimension (a subclass, exact about its rows).
    model = BREAKDOWN_RESPONSES[body["dimension"]] if served.answer is BreakdownResponse else served.answer
    assert model.model_validate(body).model_dump(mode="json") == body
    return body


# ------------------------------------------------------------------ the spec


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    return loaded


def schema_validator(name: str) -> Any:
    """A validator of `components.schemas.<name>` (refs resolved within the spec)."""
    return jsonschema_rs.validator_for({**spec(), "$ref": f"#/components/schemas/{name}"})


def answer_validator(route_key: str) -> Any:
    method, path = route_key.split(" ", 1)
    response = spec()["paths"][path][method.lower()]["responses"]["200"]
    return jsonschema_rs.validator_for({**spec(), **response["content"][JSON]["schema"]})


# ------------------------------------------------------------------ the error matrix


@dataclass(frozen=True)
class Case:
    """A request and the 400 it must get: `named` is text its message must contain. `today` marks a
    request that is only wrong relative to the site's today (in its time zone), which is read after
    membership is checked: for a site not the caller's it is a 403, not a 400."""

    name: str
    named: str
    query: dict[str, str] = field(default_factory=dict)
    path: dict[str, str] | None = None
    today: bool = False


def query_parameters(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each parameter's JSON schema as a query parameter: an optional one is absent rather than null
    (`X | None = None` is `anyOf: [X, null]` with `default: null` in the model, plain `X` here)."""
    found = {}
    for name, schema in model.model_json_schema(by_alias=True)["properties"].items():
        branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
        if len(branches) == 1:
            schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **branches[0]}
        if schema.get("default", "") is None:
            schema = {k: v for k, v in schema.items() if k != "default"}
        found[name] = schema
    return found


def bad_values(schema: dict[str, Any]) -> list[str]:
    """Texts a parameter of this schema must refuse, each wrong in another way."""
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        allowed = [str(v) for v in schema.get("enum", [schema.get("const")])]
        return ["", "bogus", allowed[0].upper() if allowed[0].upper() != allowed[0] else "X" + allowed[0],
                f"{allowed[0]} ", f"{allowed[0]},{allowed[-1]}"]  # fmt: skip
    if kind == "integer":
        values = ["", "abc", "4.5", "-1", "1e2", "+4", " 4", "4_0", "0x10", "٤", "4,4"]
        if "minimum" in schema:
            values.append(str(schema["minimum"] - 1))
        if "maximum" in schema:
            values.append(str(schema["maximum"] + 1))
        return values
    if kind == "boolean":
        return ["", "yes", "1", "TRUE", "on"]
    if schema.get("format") == "date":
        return ["", "2026-3-1", "2026-02-30", "20260301", "today", "2026-03-10T00:00:00Z"]
    values = []
    if schema.get("minLength", 0) >= 1:
        values.append("")
    if "maxLength" in schema:
        values.append("x" * (schema["maxLength"] + 1))
    if "pattern" in schema:
        values += ["a b", "é"]
    return values


def parameter_cases(served: HttpRoute) -> list[Case]:
    """Every parameter wrong in each way (and missing when required), unknown parameters, and for ranges
    the rules across `timeRange`, `from` and `to`; each must be a 400 naming what is wrong."""
    assert served.query_model is not None
    base, path = shipped_query(served), shipped_path(served)
    schemas = query_parameters(served.query_model)
    required = set(served.query_model.model_json_schema(by_alias=True).get("required", []))
    path_fields = set(served.path_fields.values())
    cases = []
    for name, schema in schemas.items():
        if name in path_fields:
            template_name = next(t for t, f in served.path_fields.items() if f == name)
            # Only an over-long id reaches the handler: an empty segment is another route, and the path
            # carries any other character percent-encoded (a valid printable id).
            too_long = "x" * (schema["maxLength"] + 1)
            cases.append(Case(f"{name}=<too long>", "in the path", dict(base), {template_name: too_long}))
            continue
        for value in bad_values(schema):
            cases.append(Case(f"{name}={value!r}", name, {**base, name: value}, path))
        if name in required:
            cases.append(Case(f"{name} missing", name, {k: v for k, v in base.items() if k != name}, path))
    for unknown in ("bogus", "site_id", "time_range", "SITEID"):
        if unknown not in schemas:
            cases.append(Case(f"unknown {unknown}", unknown, {**base, unknown: "1"}, path))
    if {"from", "to"} <= set(schemas):
        cases += _range_cases(base, path, "timeRange" in schemas)
    return cases


def _range_cases(base: dict[str, str], path: dict[str, str] | None, presets: bool) -> list[Case]:
    dated = {k: v for k, v in base.items() if k not in ("timeRange", "from", "to")}
    day = date.isoformat
    today, yesterday, tomorrow = day(TODAY), day(TODAY - timedelta(days=1)), day(TODAY + timedelta(days=1))
    too_old = day(TODAY - timedelta(days=RETENTION_DAYS + 1))
    cases = [
        Case("from after to", "from", {**dated, "from": today, "to": yesterday}, path),
        Case("to after today", "to", {**dated, "from": today, "to": tomorrow}, path, today=True),
        Case("from past the retention", "from", {**dated, "from": too_old, "to": today}, path, today=True),
    ]
    if presets:
        cases += [
            Case("from without to", "from and to", {**dated, "from": day(TODAY)}, path),
            Case("to without from", "from and to", {**dated, "to": day(TODAY)}, path),
            Case("custom without dates", "from and to", {**dated, "timeRange": "custom"}, path),
            Case("a preset with dates", "timeRange",
                 {**dated, "timeRange": "7d", "from": day(TODAY), "to": day(TODAY)}, path),
        ]  # fmt: skip
    return cases


def refused(served: HttpRoute, cases: list[Case], cookies: list[str] | None = None) -> list[str]:
    """The cases that did not get a 400 `invalid_parameter` naming what they name (empty when all did)."""
    wrong = []
    for case in cases:
        status, headers, body = call(served, case.query, cookies, case.path)
        message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if (status, code) != (400, "invalid_parameter") or case.named not in message:
            wrong.append(f"{case.name}: {status} {json.dumps(body, ensure_ascii=False)[:200]}")
        elif headers.get("Content-Type") != JSON or headers.get("Cache-Control") != "no-store":
            wrong.append(f"{case.name}: headers {headers}")
    return wrong


def order_of_checks(served: HttpRoute) -> list[str]:
    """Requests that broke the order cookie (401) → parameters (400) → membership (403): every bad request
    without a cookie or with an unknown one is a 401; a good one for a site not the member's (or no
    site at all) is a 403, a bad one for such a site a 400 (unless it is only wrong relative to the
    site's today, see `Case`)."""
    wrong = []
    cases = parameter_cases(served)
    for cookies in ([], ["theme=dark"], ["session=unknown-but-well-formed-token-0123456789"]):
        for case in cases if not cookies else cases[:3]:
            status, _, body = call(served, case.query, cookies, case.path)
            if (status, body.get("error", {}).get("code")) != (401, "unauthenticated"):
                wrong.append(f"{case.name} with cookies {cookies}: {status} {body}")
    good, path = shipped_query(served), shipped_path(served)
    for site in (OTHER_SITE, 999_999):
        status, _, body = call(served, {**good, "siteId": str(site)}, path=path)
        if (status, body.get("error", {}).get("code")) != (403, "forbidden"):
            wrong.append(f"siteId={site}: {status} {body}")
    for case in cases:
        if not case.today and case.query.get("siteId") == good["siteId"]:
            status, _, body = call(served, {**case.query, "siteId": str(OTHER_SITE)}, path=case.path)
            if status != 400:
                wrong.append(f"{case.name} on another site: {status} {body}")
    return wrong


# ------------------------------------------------------------------ cursors


def walk(
    served: HttpRoute, query: dict[str, str], items: str, path: dict[str, str] | None = None
) -> list[Any]:
    """Every page of a list, following `next_cursor` until it is null; each page must be a valid answer."""
    found: list[Any] = []
    cursor = None
    for _ in range(200):
        body = expect_json_answer(
            call(served, {**query, **({"cursor": cursor} if cursor else {})}, path=path), served
        )
        found += body[items]
        cursor = body["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError(f"{served.key}: the walk did not end")


def misused_cursors(
    served: HttpRoute,
    query: dict[str, str],
    cursor: str,
    variants: list[dict[str, str]],
    foreign: str | None = None,
    path: dict[str, str] | None = None,
) -> list[str]:
    """A cursor used where it was not issued is a 400 naming `cursor`: forged, altered, with other
    parameters (`variants`), for another site (the member's too), or another route's (`foreign`)."""
    middle = len(cursor) // 2
    altered = cursor[:middle] + ("B" if cursor[middle] == "A" else "A") + cursor[middle + 1 :]
    tried = {"forged": "abc", "altered": altered, "empty body": "A" * 22, "not base64": "%%%%"}
    cases = [
        Case(f"{name} cursor", "cursor", {**query, "cursor": value}, path) for name, value in tried.items()
    ]
    cases += [Case(f"cursor with {v}", "cursor", {**query, **v, "cursor": cursor}, path) for v in variants]
    if foreign is not None:
        cases.append(Case("another route's cursor", "cursor", {**query, "cursor": foreign}, path))
    sites_dal.add_member(OTHER_SITE, MEMBER)
    cases.append(
        Case("another site's", "cursor", {**query, "siteId": str(OTHER_SITE), "cursor": cursor}, path)
    )
    try:
        return refused(served, cases)
    finally:
        sites_dal.remove_member(OTHER_SITE, MEMBER)
