"""The auth matrix over HTTP: every authenticated route × every way a credential can be wrong (or right).

Each case gets exactly the status and code of PRODUCT.md §1 and §13, through the local gateway and the
real handlers on DynamoDB Local. Decisions where the contract is silent (also in docs/openapi.yaml):

- Only the cookie named exactly `session` counts (names are case-sensitive); others are ignored.
- Several `session` cookies (in one header or across several Cookie headers): the first one wins,
  even when it is malformed and a later one is valid.
- Whitespace around a cookie pair and around its value is ignored; a quoted value is unquoted and a
  percent-encoded value decoded before it is checked. `session =x` (space before `=`) is another name.
- A request with an `Authorization` header is authenticated by it alone: `Bearer gk_...` (the scheme in
  any case) with a live key of the site asked for. The cookie beside it is then ignored, so a bad key
  next to a valid cookie is a 401 and a valid key next to any cookie reads the key's site only: the
  explicit credential wins and is never silently replaced by the ambient one.
- Checks run credentials (401) → parameters (400) → membership or the key's site (403) → data (404).

Sign-in, sign-out and CSRF have their own tests below. A last test runs the whole matrix and the
sign-ins again with every logger at DEBUG and shows that no token, key or password is ever logged.
"""

from __future__ import annotations

import io
import json
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
from ghostid.logic import apikeys, auth, users

from tests.support import figures, traffic
from tests.support.routes import read_routes
from tests.support.scenario import NOW, NOW_MS, import_traffic
from tests.support.stack import Reply, Stack, local_stack, member_session, put_session
from tests.support.surface import shipped_query

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
OWN, OTHER = 4, 9
USER, OUTSIDER, REMOVED = "jane@example.com", "other@example.com", "gone@example.com"
PASSWORD, WRONG = "correct horse battery staple", "correct horse battery stapler"

# Every authenticated route (template.yaml and the handlers); must be the spec's credentialed routes.
READS = read_routes()
SITELESS = {"GET /api/me"}  # routes that name no site: no membership to check
ROUTES = sorted([*READS, *SITELESS])
# The routes that name a session or a visitor in their path (404 when it is not the site's).
NAMED = tuple(sorted(key for key, route in READS.items() if route.path_fields))


def route_path(key: str, site: int, named: dict[str, str]) -> str:
    """The route's request in events/ for `site`, its path naming `named[<template parameter>]`."""
    if key in SITELESS:
        return key.split(" ", 1)[1] + "?"
    route = READS[key]
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
    authorization: str | None = None  # an Authorization header; `{name}` placeholders filled with tokens
    siteless: tuple[int, str | None] | None = None  # the answer of a route that names no site, if other


def one(value: str) -> Callable[[dict[str, str]], list[str]]:
    """A single Cookie header; `{name}` placeholders are filled with the named tokens."""
    return lambda tokens: [value.format(**tokens)]


OK = (200, None)
UNAUTHENTICATED = (401, "unauthenticated")
FORBIDDEN = (403, "forbidden")
NO_COOKIE: Callable[[dict[str, str]], list[str]] = lambda tokens: []  # noqa: E731
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
    Case("membership revoked", one("session={removed}"), FORBIDDEN, siteless=OK),
    Case("member of another site only", one("session={outsider}"), FORBIDDEN, siteless=OK),
    Case("member asks for another site", one("session={valid}"), FORBIDDEN, site=OTHER, siteless=OK),
    Case(
        "member asks for a site that does not exist", one("session={valid}"), FORBIDDEN, site=777, siteless=OK
    ),
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
    Case("anonymous with a bad parameter", NO_COOKIE, UNAUTHENTICATED, query="&siteId=x"),
    Case("garbage cookie with a bad parameter", one("session=garbage"), UNAUTHENTICATED, query="&siteId=x"),
    Case(
        "outsider with a bad parameter",
        one("session={outsider}"),
        (400, "invalid_parameter"),
        query="&siteId=x",
        only=("GET /api/stats",),
    ),
    Case("anonymous asks for a session of another site", NO_COOKIE, UNAUTHENTICATED, session="other"),
    Case(
        "outsider asks for a missing session",
        one("session={outsider}"),
        FORBIDDEN,
        session="missing",
        siteless=OK,
    ),
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
    Case("duplicate: outsider first", one("session={outsider}; session={valid}"), FORBIDDEN, siteless=OK),
    # -- API keys
    Case("key of the site", NO_COOKIE, OK, authorization="Bearer {key}"),
    Case("key, scheme in lower case", NO_COOKIE, OK, authorization="bearer {key}"),
    Case("key, scheme in upper case", NO_COOKIE, OK, authorization="BEARER {key}"),
    Case("key of another site", NO_COOKIE, FORBIDDEN, authorization="Bearer {other_key}", siteless=OK),
    Case(
        "key asks for another site",
        NO_COOKIE,
        FORBIDDEN,
        site=OTHER,
        authorization="Bearer {key}",
        siteless=OK,
    ),
    Case("revoked key", NO_COOKIE, UNAUTHENTICATED, authorization="Bearer {revoked_key}"),
    Case("well-formed unknown key", NO_COOKIE, UNAUTHENTICATED, authorization="Bearer {unknown_key}"),
    Case("key with a tail", NO_COOKIE, UNAUTHENTICATED, authorization="Bearer {key}x"),
    Case("key with a second word", NO_COOKIE, UNAUTHENTICATED, authorization="Bearer {key} {key}"),
    Case("key truncated", lambda t: [], UNAUTHENTICATED, authorization="Bearer {key_truncated}"),
    Case("key's hash instead of the key", NO_COOKIE, UNAUTHENTICATED, authorization="Bearer {key_hash}"),
    Case("key without its scheme", NO_COOKIE, UNAUTHENTICATED, authorization="{key}"),
    Case("key as Basic credentials", NO_COOKIE, UNAUTHENTICATED, authorization="Basic {key}"),
    Case("session token as a bearer", NO_COOKIE, UNAUTHENTICATED, authorization="Bearer {valid}"),
    Case("empty Authorization header", NO_COOKIE, UNAUTHENTICATED, authorization=""),
    Case("Bearer and nothing", NO_COOKIE, UNAUTHENTICATED, authorization="Bearer "),
    Case("garbage bearer", NO_COOKIE, UNAUTHENTICATED, authorization="Bearer gk_!!!!!!!!!!!!!!!!!!!!!!!"),
    Case("key in the session cookie", one("session={key}"), UNAUTHENTICATED),
    Case(
        "key with an anonymous bad parameter",
        NO_COOKIE,
        (400, "invalid_parameter"),
        query="&siteId=x",
        authorization="Bearer {key}",
        only=("GET /api/stats",),
    ),
    Case(
        "revoked key with a bad parameter",
        NO_COOKIE,
        UNAUTHENTICATED,
        query="&siteId=x",
        authorization="Bearer {revoked_key}",
    ),
    Case(
        "key asks for a session of another site",
        NO_COOKIE,
        (404, "not_found"),
        session="other",
        authorization="Bearer {key}",
        only=NAMED,
    ),
    # -- a cookie and a key together: the key decides, the cookie is ignored
    Case("valid cookie and valid key", one("session={valid}"), OK, authorization="Bearer {key}"),
    Case("garbage cookie and valid key", one("session=garbage"), OK, authorization="Bearer {key}"),
    Case(
        "valid cookie and revoked key",
        one("session={valid}"),
        UNAUTHENTICATED,
        authorization="Bearer {revoked_key}",
    ),
    Case(
        "valid cookie and garbage bearer", one("session={valid}"), UNAUTHENTICATED, authorization="Bearer x"
    ),
    Case("outsider's cookie and the site's key", one("session={outsider}"), OK, authorization="Bearer {key}"),
    Case(
        "member's cookie for the other site and this site's key",
        one("session={outsider}"),
        FORBIDDEN,
        site=OTHER,
        authorization="Bearer {key}",
        siteless=OK,
    ),
]


def authenticated_routes() -> set[str]:
    """The spec's routes that take a cookie or a key (sign-out has its own tests)."""
    return {
        f"{method.upper()} {path}"
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and {"apiKey": []} in operation.get("security", SPEC.get("security", []))
    }


def matrix() -> list[tuple[str, Case]]:
    return [
        (route, case) for route in sorted(ROUTES) for case in CASES if case.only is None or route in case.only
    ]


def expected(route: str, case: Case) -> tuple[int, str | None]:
    return case.siteless if route in SITELESS and case.siteless is not None else case.expected


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
        tokens["key"] = apikeys.create_key(OWN, "matrix", NOW_MS)
        tokens["other_key"] = apikeys.create_key(OTHER, "matrix", NOW_MS)
        tokens["revoked_key"] = apikeys.create_key(OWN, "revoked", NOW_MS)
        assert apikeys.revoke_key(OWN, "revoked", NOW_MS) == 1
        tokens["unknown_key"] = auth.API_KEY_PREFIX + secrets.token_urlsafe(32)
        tokens["key_truncated"] = tokens["key"][:-1]
        tokens["key_hash"] = auth.hash_token(tokens["key"])
        for email in (USER, OUTSIDER):
            users.create_user(email, PASSWORD, NOW_MS)
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
    if case.authorization is not None:
        headers.append(("Authorization", case.authorization.format(**world.tokens)))
    reply = world.stack.request("GET", path, headers=headers)
    assert reply.headers["content-type"] == answer_type(route, reply.status), (route, case.name)
    assert reply.headers["cache-control"] == "no-store", (route, case.name)
    if reply.status >= 400:
        body = reply.body
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, (route, case.name)
        assert body["error"]["message"], (route, case.name)
    # A counted credential's answers carry its limit, whatever their status; an uncounted one's do not.
    counted = reply.status not in (401,)
    assert ("ratelimit-remaining" in reply.headers) == counted, (route, case.name, reply.headers)
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
        if got != expected(route, case):
            wrong.append(f"{route} / {case.name}: expected {expected(route, case)}, got {got}")
    figures.record("auth-matrix cases", len(cases))
    record_property("auth_matrix_cases", len(cases))
    assert wrong == [], "\n".join(wrong)
    # Membership is read on every request: adding it turns the very next 403 into a 200.
    sites_dal.add_member(OWN, OUTSIDER)
    assert run(world, "GET /api/stats", Case("now a member", one("session={outsider}"), OK)) == OK


@pytest.mark.slow
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
        assert login(world.stack, USER, PASSWORD).status == 200
        assert login(world.stack, USER, WRONG).status == 401
        assert login(world.stack, "nobody@example.com", PASSWORD).status == 401
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
    hashes = ("valid_hash", "key_hash")  # keys of DynamoDB items, in botocore's wire logs: not secrets
    secrets_seen = [name for name, token in world.tokens.items() if name not in hashes and token in output]
    assert secrets_seen == []
    for fragment in ("garbage", "session=", "a" * 64, "caf\u00e9caf\u00e9", PASSWORD, WRONG, "gk_"):
        assert fragment not in output, fragment


def _boom(*_: Any) -> Any:
    raise RuntimeError("simulated fault")


# ------------------------------------------------------------------ sign-in, sign-out, CSRF


def login(stack: Stack, email: str, password: str, origin: str | None = None) -> Reply:
    headers = [("Content-Type", "application/json")] + ([("Origin", origin)] if origin else [])
    body = json.dumps({"email": email, "password": password}).encode()
    return stack.request("POST", "/api/auth/login", headers=headers, body=body)


def logout(stack: Stack, token: str, origin: str | None) -> Reply:
    headers = [("Cookie", f"session={token}")] + ([("Origin", origin)] if origin else [])
    return stack.request("POST", "/api/auth/logout", headers=headers)


def cookie_of(reply: Reply) -> dict[str, str]:
    """The Set-Cookie attributes, by lower-case name (the value under `session`)."""
    parts = [part.strip() for part in reply.headers["set-cookie"].split(";")]
    return {name.lower(): value for name, _, value in (part.partition("=") for part in parts)}


def test_sign_in_reads_and_sign_out_revokes_at_once(world: World) -> None:
    signed_in = login(world.stack, USER.upper(), PASSWORD, origin=world.stack.url)  # case does not matter
    assert signed_in.status == 200
    assert signed_in.body == {
        "user_id": USER,
        "sites": [{"site_id": OWN, "domain": f"site{OWN}.example.com", "name": "", "timezone": "UTC"}],
    }
    cookie = cookie_of(signed_in)
    # HttpOnly, SameSite=Lax, Path=/ and 7 days; no Secure on the local http stack (SecureCookies=false).
    assert cookie.keys() == {"session", "httponly", "samesite", "path", "max-age"}
    assert (cookie["samesite"], cookie["path"], cookie["max-age"]) == ("Lax", "/", str(7 * 24 * 3600))
    token = cookie["session"]
    assert world.stack.get("/api/me", f"session={token}").body["user_id"] == USER
    assert world.stack.get(f"/api/stats?siteId={OWN}", f"session={token}").status == 200

    signed_out = logout(world.stack, token, world.stack.url)
    assert (signed_out.status, signed_out.raw) == (204, b"")
    assert cookie_of(signed_out) == {**cookie, "session": "", "max-age": "0"}
    for path in ("/api/me", f"/api/stats?siteId={OWN}"):
        assert (world.stack.get(path, f"session={token}").code) == "unauthenticated"
    assert logout(world.stack, token, world.stack.url).code == "unauthenticated"


def test_wrong_password_and_unknown_user_get_the_same_answer(world: World) -> None:
    wrong, unknown = login(world.stack, USER, WRONG), login(world.stack, "nobody@example.com", PASSWORD)
    assert (wrong.status, wrong.body) == (unknown.status, unknown.body)
    assert wrong.body == {"error": {"code": "unauthenticated", "message": "Wrong email or password."}}
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers
    empty = login(world.stack, " \v", PASSWORD)  # blank once trimmed: never looked up, the same answer
    assert (empty.status, empty.body) == (wrong.status, wrong.body)


def test_an_account_locks_after_five_failed_sign_ins(world: World) -> None:
    assert [login(world.stack, USER, WRONG).status for _ in range(5)] == [401] * 5
    locked = login(world.stack, USER, PASSWORD)  # the right password too, while locked
    assert (locked.status, locked.code) == (429, "rate_limited")
    retry = int(locked.headers["retry-after"])
    assert 890 <= retry <= 900  # until the oldest failure is 15 minutes old
    assert (locked.headers["ratelimit-limit"], locked.headers["ratelimit-remaining"]) == ("5", "0")
    assert int(locked.headers["ratelimit-reset"]) == retry
    assert "set-cookie" not in locked.headers
    # Unknown emails lock alike (a lock says nothing about which accounts exist); others still sign in.
    assert [login(world.stack, "nobody@example.com", WRONG).status for _ in range(6)][-1] == 429
    sites_dal.add_member(OWN, OUTSIDER)
    assert login(world.stack, OUTSIDER, PASSWORD).status == 200


def test_an_address_locks_after_twenty_failed_sign_ins(world: World) -> None:
    answers = [login(world.stack, f"guess{n}@example.com", WRONG).status for n in range(20)]
    assert answers == [401] * 20
    locked = login(world.stack, USER, PASSWORD)
    assert (locked.status, locked.headers["ratelimit-limit"]) == (429, "20")
    assert "from this address" in locked.body["error"]["message"]


def test_cookie_posts_from_another_origin_are_refused(world: World) -> None:
    """CSRF: sign-out takes the cookie, so it must come from the stack's own origin; a sign-in from a
    page of another origin is refused too (it would sign the browser into someone else's account)."""
    token = member_session(OWN, USER)
    for origin in ("https://evil.example", "null", "http://127.0.0.1", "http://127.0.0.1:1", None):
        refused = logout(world.stack, token, origin)
        assert (refused.status, refused.code) == (403, "forbidden"), origin
        assert "set-cookie" not in refused.headers
    assert world.stack.get("/api/me", f"session={token}").status == 200  # still signed in
    foreign = login(world.stack, USER, PASSWORD, origin="https://evil.example")
    assert (foreign.status, foreign.code) == (403, "forbidden")
    assert "set-cookie" not in foreign.headers
    assert (
        login(world.stack, USER, PASSWORD, origin=world.stack.url.replace("127.0.0.1", "localhost")).status
        == 403
    )
    assert (
        logout(world.stack, token, world.stack.url + "/").status == 204
    )  # a trailing slash is the same origin
