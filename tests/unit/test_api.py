"""Both read endpoints in-process, fed the very events in `events/` (as `sam local invoke -e` would)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.dal import auth as auth_dal
from ghostid.dal import sites as sites_dal
from ghostid.logic import auth
from ghostid.models.sites import LoginSession, Site

from tests.support import lambdas, reference
from tests.support.scenario import (
    EVENTS_TOKEN,
    MEMBER,
    NOW,
    NOW_MS,
    folded_member_site,
)

pytestmark = pytest.mark.usefixtures("aws")
USER = MEMBER
TOKEN = EVENTS_TOKEN


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Site 4 with a member whose session is the events' cookie, and folded traffic; site 5 beside it."""
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    sites_dal.put_site(Site(site_id=5, domain="other.example.com"))
    return folded_member_site(seed=11, visitors=12)


def stats(
    query: dict[str, str] | None = None, cookies: list[str] | None = None
) -> tuple[int, dict[str, str], Any]:
    return lambdas.call_http("stats", lambdas.http_event("stats_get.json", query=query, cookies=cookies))


def session(session_id: str, query: dict[str, str] | None = None, cookies: list[str] | None = None) -> Any:
    event = lambdas.http_event("session_get.json", query=query, cookies=cookies, path_id=session_id)
    return lambdas.call_http("session", event)


def assert_error(result: tuple[int, dict[str, str], Any], status: int, code: str) -> str:
    got_status, headers, body = result
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert headers["Content-Type"] == "application/json"
    return str(body["error"]["message"])


def test_event_files_as_shipped_serve_stats(site: list[dict[str, Any]]) -> None:
    status, headers, body = lambdas.call_http("stats", lambdas.event_file("stats_get.json"))
    assert status == 200
    assert headers["Content-Type"] == "application/json" and headers["Cache-Control"] == "no-store"
    assert seed_fields(body) == reference.stats(site, "7d", NOW)


def seed_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The seed's fields, exactly; `period` (PRODUCT §10) is added beside them on a UTC site."""
    assert set(body["period"]) == {"start", "end", "timezone"} and body["period"]["timezone"] == "UTC"
    return {key: value for key, value in body.items() if key != "period"}


@pytest.mark.parametrize("time_range", ["24h", "7d", "30d"])
def test_stats_for_each_range(site: list[dict[str, Any]], time_range: str) -> None:
    status, _, body = stats({"siteId": "4", "timeRange": time_range})
    assert status == 200
    assert seed_fields(body) == reference.stats(site, time_range, NOW)


def test_time_range_defaults_to_7d(site: list[dict[str, Any]]) -> None:
    assert seed_fields(stats({"siteId": "4"})[2]) == reference.stats(site, "7d", NOW)


def test_every_session_matches_reference(site: list[dict[str, Any]]) -> None:
    for session_id in sorted({e["session_id"] for e in site}):
        status, headers, body = session(session_id, {"siteId": "4"})
        assert status == 200 and headers["Cache-Control"] == "no-store"
        assert body == reference.session(site, session_id)


def test_session_event_file_shape(site: list[dict[str, Any]]) -> None:
    """The shipped file asks for gs_123, which this site does not have: a clean 404."""
    result = lambdas.call_http("session", lambdas.event_file("session_get.json"))
    assert "gs_123" in assert_error(result, 404, "not_found")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({}, "siteId"),
        ({"siteId": "abc"}, "siteId"),
        ({"siteId": "0"}, "siteId"),
        ({"siteId": "-4"}, "siteId"),
        ({"siteId": "4.5"}, "siteId"),
        ({"siteId": "4", "timeRange": "1y"}, "timeRange"),
        ({"siteId": "4", "timeRange": ""}, "timeRange"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(site: Any, query: dict[str, str], named: str) -> None:
    assert named in assert_error(stats(query), 400, "invalid_parameter")


@pytest.mark.parametrize(
    "cookies",
    [
        [],
        ["other=1"],
        ["session="],
        ["session=garbage"],
        ["session=" + "x" * 43],
        ["session=" + "%00" * 20],
        ["session=" + "a" * 5000],
    ],
)
def test_missing_malformed_or_unknown_cookie_is_401(site: Any, cookies: list[str]) -> None:
    assert_error(stats({"siteId": "4"}, cookies), 401, "unauthenticated")
    assert_error(session("gs_1_0", {"siteId": "4"}, cookies), 401, "unauthenticated")


def test_right_cookie_among_others_and_encoded(site: Any) -> None:
    assert stats({"siteId": "4"}, ["a=b", f"session={TOKEN}", "c=d"])[0] == 200
    assert stats({"siteId": "4"}, [f'session="{TOKEN}"'])[0] == 200


def test_expired_session_whose_item_still_exists_is_401(site: Any) -> None:
    auth_dal.put_login_session(
        auth.hash_token(TOKEN), LoginSession(user_id=USER, expires_at=int(time.time()) - 1)
    )
    assert_error(stats({"siteId": "4"}), 401, "unauthenticated")


def test_revoked_session_is_401(site: Any) -> None:
    auth_dal.put_login_session(
        auth.hash_token(TOKEN), LoginSession(user_id=USER, expires_at=int(time.time()) + 60, revoked=True)
    )
    assert_error(stats({"siteId": "4"}), 401, "unauthenticated")


def test_non_member_is_403_and_removal_takes_effect_at_once(site: Any) -> None:
    assert_error(stats({"siteId": "5"}), 403, "forbidden")
    assert stats({"siteId": "4"})[0] == 200
    sites_dal.remove_member(4, USER)
    assert_error(stats({"siteId": "4"}), 403, "forbidden")
    assert_error(session("gs_1_0", {"siteId": "4"}), 403, "forbidden")


def test_session_of_another_site_is_404(site: list[dict[str, Any]]) -> None:
    sites_dal.add_member(5, USER)
    existing = site[0]["session_id"]
    assert session(existing, {"siteId": "4"})[0] == 200
    assert_error(session(existing, {"siteId": "5"}), 404, "not_found")
    assert_error(session("gs_nope", {"siteId": "4"}), 404, "not_found")


def test_session_needs_site_id(site: Any) -> None:
    assert "siteId" in assert_error(session("gs_1_0", {}), 400, "invalid_parameter")


def test_unknown_route_is_404_envelope(site: Any) -> None:
    event = lambdas.http_event("stats_get.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/nope"
    event["routeKey"] = "$default"
    assert_error(lambdas.call_http("stats", event), 404, "not_found")


def test_crash_is_500_with_request_id_and_no_internals(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from ghostid.dal import state

    def boom(*_: Any) -> Any:
        raise RuntimeError("RollupsTable exploded: secret detail")

    monkeypatch.setattr(state, "state_and_answer", boom)  # what GET /api/stats reads first
    message = assert_error(stats({"siteId": "4"}), 500, "internal")
    assert "RollupsTable" not in message and "secret" not in message and "request id" in message


def test_tokens_are_never_logged(site: Any, capfd: pytest.CaptureFixture[str]) -> None:
    import io
    import logging

    from ghostid.observability import logger

    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logger.setLevel("DEBUG")
    try:
        for cookies in ([f"session={TOKEN}"], ["session=garbage-token-value-123456"]):
            stats({"siteId": "4"}, cookies)
            session("gs_1_0", {"siteId": "4"}, cookies)
    finally:
        logger.setLevel("WARNING")
        logging.getLogger(logger.name).removeHandler(handler)
    output = captured.getvalue() + "".join(capfd.readouterr())
    assert "request rejected" in output  # requests were logged at DEBUG, with the event's context
    for secret in (TOKEN, "garbage-token-value-123456"):
        assert secret not in output
