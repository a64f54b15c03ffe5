"""Regression tests for what the fuzzing, the auth matrix and the collector-abuse tests turned up.

Each runs the real handler in-process (moto): `siteId=4_0` read as site 40 (and `+4`, ` 4`, `4.0` as
site 4) by pydantic's lax int parsing; the collector's `?siteId=²` and an integer prop too large for
a float, both a 500 before they were fixed.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from ghostid import timeutil
from ghostid.dal import auth as auth_dal
from ghostid.dal import sites as sites_dal
from ghostid.logic import auth
from ghostid.models.sites import LoginSession, Site
from ghostid_local.lambda_context import LambdaContext

from tests.support import lambdas
from tests.support.scenario import NOW_MS, stored_items

pytestmark = pytest.mark.usefixtures("aws")
TOKEN = "demo-token-not-secret"


@pytest.fixture(autouse=True)
def site(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    sites_dal.put_site(Site(site_id=4, domain="demo.ghostid.local"))
    sites_dal.put_site(Site(site_id=40, domain="forty.example.com"))
    for site_id in (4, 40):
        sites_dal.add_member(site_id, "jane@example.com")
    auth_dal.put_login_session(
        auth.hash_token(TOKEN), LoginSession(user_id="jane@example.com", expires_at=int(time.time()) + 3600)
    )


def error_code(response: dict[str, Any]) -> tuple[int, str | None]:
    body = json.loads(response["body"]) if response.get("body") else {}
    return response["statusCode"], body.get("error", {}).get("code")


# ------------------------------------------------------------------ siteId is plain digits


@pytest.mark.parametrize("site_id", ["4_0", "+4", " 4", "4 ", "4.0", "4\n", "1e1", "\u0663", "\uff14", "²"])
def test_site_id_that_is_not_plain_digits_is_400_not_another_site(site_id: str) -> None:
    """pydantic's lax int parsing read `4_0` as site 40 and `+4`, ` 4`, `4.0` as site 4."""
    stats = lambdas.http_event("stats_get.json", query={"siteId": site_id})
    status, code = error_code(lambdas.handler("stats")(stats, LambdaContext("StatsFunction")))
    assert (status, code) == (400, "invalid_parameter")
    session = lambdas.http_event("session_get.json", query={"siteId": site_id}, path_id="gs_123")
    status, code = error_code(lambdas.handler("session")(session, LambdaContext("SessionFunction")))
    assert (status, code) == (400, "invalid_parameter")


def test_leading_zeros_are_still_the_site() -> None:
    stats = lambdas.http_event("stats_get.json", query={"siteId": "004"})
    assert lambdas.handler("stats")(stats, LambdaContext("StatsFunction"))["statusCode"] == 200


# ------------------------------------------------------------------ the collector


def track(body: dict[str, Any], query: str = "") -> dict[str, Any]:
    event = copy.deepcopy(lambdas.event_file("track_post.json"))
    event["body"] = json.dumps(body)
    event["headers"].pop("origin")
    if query:
        event["rawQueryString"] = query
        key, _, value = query.partition("=")
        event["queryStringParameters"] = {key: value}
    response: dict[str, Any] = lambdas.handler("track")(event, LambdaContext("TrackFunction"))
    return response


ONE = {"site_id": 4, "ghost_vid": "gv_reg", "session_id": "gs_reg", "type": "pageview", "page": "/"}


def test_collector_accepts_the_plain_event() -> None:
    assert track(ONE)["statusCode"] == 202


def test_collector_site_hint_with_a_superscript_digit_is_400() -> None:
    assert error_code(track(ONE, query="siteId=²")) == (400, "invalid_parameter")
    assert stored_items() == []


def test_collector_integer_prop_too_large_for_a_float_is_400() -> None:
    assert error_code(track({**ONE, "props": {"n": 10**400}})) == (400, "invalid_parameter")
    assert stored_items() == []
