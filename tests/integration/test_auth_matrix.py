"""The auth matrix over HTTP: every authenticated route × every way a cookie can be wrong (or right).

Each case gets exactly the status and code of PRODUCT.md §1, through the local gateway and the real
handlers on DynamoDB Local. Decisions where the contract is silent (also in docs/openapi.yaml):

- Only the cookie named exactly `session` counts (names are case-sensitive); others are ignored.
- Several `session` cookies (in one header or across several Cookie headers): the first one wins,
  even when it is malformed and a later one is valid.
- Whitespace around a cookie pair and around its value is ignored; a quoted value is unquoted and a
  percent-encoded value decoded before it is checked. `session =x` (space before `=`) is another name.
- Checks run cookie (401) → parameters (400) → membership (403) → data (404).

A second test runs the whole matrix again with every logger at DEBUG and shows that no raw token
and no cookie value is ever logged.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import yaml
from ghostid.dal import sites as sites_dal
from ghostid.logic import auth

from tests.support import figures, traffic
from tests.support.routes import read_routes
from tests.support.scenario import NOW, import_traffic
from tests.support.stack import Stack, local_stack, member_session, put_session
from tests.support.surface import shipped_query

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
OWN, OTHER = 4, 9
USER, OUTSIDER, REMOVED = "jane@example.com", "other@example.com", "gone@example.com"

# Every authenticated route (template.yaml and the handlers); must be the spec's cookie routes.
ROUTES = read_routes()
# The routes that name a session or a visitor in their path (404 when it is not the site's).
NAMED = tuple(sorted(key for key, route in ROUTES.items() if route.path_fields))


def route_path(key: str, site: int, named: dict[str, str]) -> str:
    """The route's request in events/ for `site`, its path naming `named[<template parameter>]`."""
    route = ROUTES[key]
    path = route.path.format(**{name: quote(named[name], safe="") for name in route.path_fields})
    return f"{path}?{urlencode({**shipped_query(route), 'siteId': str(site)})}"


@dataclass
class World:
    stack: Stack
    tokens: dict[str, str]
    own: dict[str, str]  # template path parameter -> a session (`id`) or visitor (`ghost_vid`) of OWN
    other: dict[str, str]  # the same of OTHER


@dataclass(frozen=True)
class Case:
    name: str
    cookies: Callable[[dict[str, str]], list[str]]  # one entry per Cookie header
    expected: tuple[int, str | None]  # (status, error code or None for success)
    site: int = OWN
    session: str = "own"  # the path's session or visitor: own | other (only under the other site) | missing
    only: tuple[str, ...] | None = None  # the routes the case applies to, when not all
    query: str = ""  # extra query text (to put a bad parameter in)


def one(value: str) -> Callable[[dict[str, str]], list[str]]:
    """A single Cookie header; `{name}` placeholders are filled with the named tokens."""
    return lambda tokens: [value.format(**tokens)]


OK = (200, None)
UNAUTHENTICATED = (401, "unauthenticated")
FORBIDDEN = (403, "forbidden")
CASES = [
    # -- no cookie, or no session cookie
    Case("no Cookie header", lambda tokens: [], UNAUTHENTICATED),
    Case("other cookies only", one("theme=dark; _ga=GA1.1.1"), UNAUTHENTICATED),
    Case("empty session value", one("session="), UNAUTHENTICATED),
    Case("session without =", one("session"), UNAUTHENTICATED),
    Case("name in other case", one("Session={valid}"), UNAUTHENTICATED),
    Case("name with space before =", one("session ={valid}"), UNAUTHENTICATED),
    Case("prefixed name", one("xsession={valid}"), UNAUTHENTICATED),
    # -- garbage
    Case("garbage", one("session=garbage"), UNAUTHENTICATED),
    Case("punctuation", one("session=!!!!!!!!!!!!!!!!!!!!!!!!"), UNAUTHENTICATED),
    Case("too long", one("session=" + "a" * 5000), UNAUTHENTICATED),
    Case("percent-encoded NULs", one("session=" + "%00" * 24), UNAUTHENTICATED),
    Case("latin-1 bytes", one("session=caf\u00e9caf\u00e9caf\u00e9caf\u00e9caf\u00e9"), UNAUTHENTICATED),
    Case("valid token with a tail", one("session={valid}x"), UNAUTHENTICATED),
    Case("valid token truncated", lambda t: [f"session={t['valid'][:-1]}"], UNAUTHENTICATED),
    Case("token hash instead of token", one("session={valid_hash}"), UNAUTHENTICATED),
    # -- well-formed but not a live session
    Case("well-formed unknown token", one("session={unknown}"), UNAUTHENTICATED),
    Case("expired session, item still stored", one("session={expired}"), UNAUTHENTICATED),
    Case("revoked session", one("session={revoked}"), UNAUTHENTICATED),
    # -- authenticated, but not for this site
    Case("membership revoked", one("session={removed}"), FORBIDDEN),
    Case("member of another site only", one("session={outsider}"), FORBIDDEN),
    Case("member asks for another site", one("session={valid}"), FORBIDDEN, site=OTHER),
    Case("member asks for a site that does not exist", one("session={valid}"), FORBIDDEN, site=777),
    Case(
        "session id that exists under another site",
        one("session={valid}"),
        (404, "not_found"),
        session="other",
        only=NAMED,
    ),
    Case(
        "session id that exists nowhere",
        one("session={valid}"),
        (404, "not_found"),
        session="missing",
        only=NAMED,
    ),
    # -- the order of checks
    Case("anonymous with a bad parameter", lambda tokens: [], UNAUTHENTICATED, query="&siteId=x"),
    Case("garbage cookie with a bad parameter", one("session=garbage"), UNAUTHENTICATED, query="&siteId=x"),
    Case(
        "outsider with a bad parameter",
        one("session={outsider}"),
        (400, "invalid_parameter"),
        query="&siteId=x",
    ),
    Case("anonymous asks for a session of another site", lambda tokens: [], UNAUTHENTICATED, session="other"),
    Case("outsider asks for a missing session", one("session={outsider}"), FORBIDDEN, session="missing"),
    # -- the right cookie among others, and odd encodings
    Case("alone", one("session={valid}"), OK),
    Case("among several others", one("theme=dark; session={valid}; _ga=GA1.1.1; lang=en"), OK),
    Case("last of several", one("a=1; b=2; c=3; session={valid}"), OK),
    Case("in its own Cookie header", lambda t: ["theme=dark", f"session={t['valid']}", "lang=en"], OK),
    Case("trailing semicolon", one("session={valid};"), OK),
    Case("whitespace around pair and value", one("  theme=dark ;   session=  {valid}  ;  "), OK),
    Case("quoted", one('session="{valid}"'), OK),
    Case("percent-encoded", lambda t: ["session=" + "".join(f"%{ord(c):02X}" for c in t["valid"])], OK),
    Case(
        "partly percent-encoded",
        lambda t: [f"session={t['valid'][:5]}%{ord(t['valid'][5]):02x}{t['valid'][6:]}"],
        OK,
    ),
    Case("duplicate: valid first", one("session={valid}; session=garbage"), OK),
    Case("duplicate: garbage first", one("session=garbage; session={valid}"), UNAUTHENTICATED),
    Case("duplicate: unknown first", one("session={unknown}; session={valid}"), UNAUTHENTICATED),
    Case(
        "duplicate: valid first, across headers", lambda t: [f"session={t['valid']}", "session=garbage"], OK
    ),
    Case(
        "duplicate: expired first, across headers",
        lambda t: [f"session={t['expired']}", f"session={t['valid']}"],
        UNAUTHENTICATED,
    ),
    Case("duplicate: outsider first", one("session={outsider}; session={valid}"), FORBIDDEN),
]


def authenticated_routes() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and operation.get("security", SPEC.get("security")) == [{"sessionCookie": []}]
    }


def matrix() -> list[tuple[str, Case]]:
    return [
        (route, case) for route in sorted(ROUTES) for case in CASES if case.only is None or route in case.only
    ]


@pytest.fixture
def world(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    with local_stack(local_aws_env, cfn_template, monkeypatch) as stack:
        own_events = traffic.generate(NOW, seed=51, visitors=2)
        other_events = [
            {**e, "session_id": "o" + e["session_id"], "ghost_vid": "o" + e["ghost_vid"]}
            for e in traffic.generate(NOW, 52, 2)
        ]
        import_traffic(own_events, site=OWN)
        import_traffic(other_events, site=OTHER)
        stack.poller.drain(timeout=120)  # the visitor route reads the rollups
        tokens = {
            "valid": member_session(OWN, USER),
            "outsider": member_session(OTHER, OUTSIDER),
            "removed": member_session(OWN, REMOVED),
            "unknown": secrets.token_urlsafe(32),
            "expired": secrets.token_urlsafe(32),
            "revoked": secrets.token_urlsafe(32),
        }
        put_session(tokens["expired"], USER, expires_in_s=-5)
        put_session(tokens["revoked"], USER, expires_in_s=3600, revoked=True)
        sites_dal.remove_member(OWN, REMOVED)
        tokens["valid_hash"] = auth.hash_token(tokens["valid"])
        own, other = own_events[0], other_events[0]
        yield World(
            stack,
            tokens,
            {"id": own["session_id"], "ghost_vid": own["ghost_vid"]},
            {"id": other["session_id"], "ghost_vid": other["ghost_vid"]},
        )


def run(world: World, route: str, case: Case) -> tuple[int, str | None]:
    named = {
        "own": world.own,
        "other": world.other,
        "missing": {"id": "gs_nowhere", "ghost_vid": "gv_nowhere"},
    }
    path = route_path(route, case.site, named[case.session]) + case.query
    headers = [("Cookie", value) for value in case.cookies(world.tokens)]
    reply = world.stack.request("GET", path, headers=headers)
    assert reply.headers["content-type"] == answer_type(route, reply.status), (route, case.name)
    assert reply.headers["cache-control"] == "no-store", (route, case.name)
    if reply.status >= 400:
        body = reply.body
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, (route, case.name)
        assert body["error"]["message"], (route, case.name)
    return reply.status, reply.code


def answer_type(route: str, status: int) -> str:
    """The content type the spec gives the route's answer with this status (JSON, or the export's NDJSON)."""
    method, path = route.split(" ", 1)
    response = SPEC["paths"][path][method.lower()]["responses"][str(status)]
    while "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    (content_type,) = response["content"]
    return str(content_type)


def test_matrix_covers_every_authenticated_route() -> None:
    assert set(ROUTES) == authenticated_routes()
    assert len({case.name for case in CASES}) == len(CASES)


def test_auth_matrix(world: World, record_property: Any) -> None:
    cases = matrix()
    wrong = []
    for route, case in cases:
        got = run(world, route, case)
        if got != case.expected:
            wrong.append(f"{route} / {case.name}: expected {case.expected}, got {got}")
    figures.record("auth-matrix cases", len(cases))
    record_property("auth_matrix_cases", len(cases))
    assert wrong == [], "\n".join(wrong)
    # Membership is read on every request: adding it turns the very next 403 into a 200.
    sites_dal.add_member(OWN, OUTSIDER)
    assert run(world, "GET /api/stats", Case("now a member", one("session={outsider}"), OK)) == OK


def test_no_token_or_cookie_value_is_ever_logged(
    world: World, cfn_template: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    from ghostid.observability import logger
    from ghostid_local import serve

    # What keeps the event (and so the cookies) out of the logs in Lambda: the template's setting.
    _, per_function = serve.combined_environment(cfn_template, world.stack.tables)
    for function in ("StatsFunction", "SessionFunction"):
        assert per_function[function]["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"

    captured = io.StringIO()
    powertools = logging.StreamHandler(captured)
    powertools.setFormatter(logger.registered_formatter)
    everything = logging.StreamHandler(captured)
    everything.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    levels = (logger.log_level, root.level)
    logger.addHandler(powertools)
    root.addHandler(everything)
    logger.setLevel("DEBUG")
    root.setLevel(logging.DEBUG)  # botocore's wire logs, the gateway's request lines, everything
    try:
        for route, case in matrix():
            run(world, route, case)
        from ghostid.dal import state

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(state, "state_and_answer", _boom)  # what GET /api/stats reads first
            crash = Case("crash", one("session={valid}"), OK)
            assert run(world, "GET /api/stats", crash) == (500, "internal")
    finally:
        logger.setLevel(levels[0])
        root.setLevel(levels[1])
        logging.getLogger(logger.name).removeHandler(powertools)
        root.removeHandler(everything)
    output = captured.getvalue() + "".join(capfd.readouterr())
    assert "request rejected" in output and "unhandled error" in output  # the handlers did log
    secrets_seen = [name for name, token in world.tokens.items() if name != "valid_hash" and token in output]
    assert secrets_seen == []
    for fragment in ("garbage", "session=", "a" * 64, "caf\u00e9caf\u00e9"):
        assert fragment not in output, fragment


def _boom(*_: Any) -> Any:
    raise RuntimeError("simulated fault")
