"""`ghostid.logic.auth`: sessions and API keys, each counted against its rate limit in the one
conditional write that checks it (PRODUCT §13), and authorization by membership or by the key's site."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from ghostid import settings
from ghostid.dal import apikeys as apikeys_dal
from ghostid.dal import auth as auth_dal
from ghostid.dal import client, usage
from ghostid.dal import sites as sites_dal
from ghostid.errors import Forbidden, RateLimited, Unauthenticated
from ghostid.logic import apikeys, auth
from ghostid.models.sites import LoginSession, Site

pytestmark = pytest.mark.usefixtures("aws")

MINUTE = 29_460_000  # a minute, in minutes since the epoch
T0 = MINUTE * 60_000 + 15_000  # 15 s into it
USER = "jane@example.com"


@pytest.fixture
def limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "3")
    settings.clear_cache()
    yield 3
    settings.clear_cache()


def session(user: str = USER, expires_in_s: int = 3600, revoked: bool = False) -> list[str]:
    token = auth.create_login_session(user, hours=1)
    expires_at = int(time.time()) + expires_in_s
    auth_dal.put_login_session(
        auth.hash_token(token), LoginSession(user_id=user, expires_at=expires_at, revoked=revoked)
    )
    return [f"session={token}"]


def key_header(site_id: int = 4, name: str = "ci") -> str:
    return f"Bearer {apikeys.create_key(site_id, name, T0)}"


def test_a_session_is_counted_in_one_write(calls: list[str]) -> None:
    cookies = session()
    calls.clear()
    caller = auth.authenticate(cookies, None, T0)
    assert (caller.credential, caller.user_id, caller.site_id) == ("session", USER, None)
    assert calls == ["UpdateItem"]
    assert caller.usage.headers() == {
        "RateLimit-Limit": "600",
        "RateLimit-Remaining": "599",
        "RateLimit-Reset": "45",
    }
    second = auth.authenticate(cookies, None, T0 + 1_000)
    assert calls == ["UpdateItem", "UpdateItem"]
    assert second.usage.headers()["RateLimit-Remaining"] == "598"


def test_the_limit_holds_and_the_next_minute_opens_a_new_window(limit: int, calls: list[str]) -> None:
    cookies = session()
    assert [auth.authenticate(cookies, None, T0 + n).usage.count for n in range(limit)] == [1, 2, 3]
    with pytest.raises(RateLimited) as refused:
        auth.authenticate(cookies, None, T0 + 44_200)
    assert refused.value.headers == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "1",
        "Retry-After": "1",
    }
    with pytest.raises(RateLimited):  # a refused request is not counted: still 3, still refused
        auth.authenticate(cookies, None, T0 + 44_300)
    calls.clear()
    fresh = auth.authenticate(cookies, None, T0 + 45_000)  # the next minute
    assert fresh.usage.count == 1
    assert calls == ["UpdateItem"]  # this process guessed the new window: one write


def test_another_instance_that_opened_the_window_costs_one_more_write(calls: list[str]) -> None:
    cookies = session()
    auth.authenticate(cookies, None, T0)
    usage.forget_windows()  # a new instance: it guesses a new window, the item says otherwise
    calls.clear()
    assert auth.authenticate(cookies, None, T0 + 1).usage.count == 2
    assert calls == ["UpdateItem", "UpdateItem"]
    calls.clear()
    assert auth.authenticate(cookies, None, T0 + 2).usage.count == 3  # and then it knows
    assert calls == ["UpdateItem"]


def test_a_clock_behind_counts_in_the_newer_window(calls: list[str]) -> None:
    cookies = session()
    auth.authenticate(cookies, None, T0 + 60_000)  # an instance whose clock is a minute ahead
    usage.forget_windows()
    behind = auth.authenticate(cookies, None, T0)
    assert behind.usage.count == 2  # counted in the newer window, which is not moved back


@pytest.mark.parametrize(
    ("cookies", "why"),
    [
        (None, "no cookie"),
        (["session=well-formed-but-unknown-token"], "unknown"),
        (["session=x"], "malformed"),
    ],
)
def test_bad_cookies_are_401_without_a_write(cookies: list[str] | None, why: str, calls: list[str]) -> None:
    with pytest.raises(Unauthenticated):
        auth.authenticate(cookies, None, T0)
    assert calls == (["UpdateItem"] if why == "unknown" else []), why


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_a_dead_session_is_401_and_not_counted(state: str) -> None:
    cookies = session(expires_in_s=-1) if state == "expired" else session(revoked=True)
    with pytest.raises(Unauthenticated):
        auth.authenticate(cookies, None, T0)
    token_hash = auth.hash_token(cookies[0].removeprefix("session="))
    item = client.dynamodb().get_item(TableName="LoginSessionsTable", Key={"token_hash": {"S": token_hash}})
    assert "c" not in item["Item"]


def test_an_api_key_reads_its_site_only() -> None:
    sites_dal.put_site(Site(site_id=4, domain="a.example"))
    caller = auth.authenticate(None, key_header(4), T0)
    assert (caller.credential, caller.user_id, caller.site_id, caller.key_name) == ("api_key", None, 4, "ci")
    assert caller.principal == "apikey:4/ci"
    auth.authorize(caller, 4)
    with pytest.raises(Forbidden):
        auth.authorize(caller, 5)


def test_a_revoked_key_is_401_on_its_next_request() -> None:
    header = key_header(4, "ci")
    auth.authenticate(None, header, T0)
    assert apikeys.revoke_key(4, "ci", T0) == 1
    with pytest.raises(Unauthenticated):
        auth.authenticate(None, header, T0 + 1)
    assert apikeys.revoke_key(4, "ci", T0) == 0  # nothing live of that name any more


def test_last_used_moves_at_most_once_a_minute() -> None:
    header = key_header(4, "ci")
    assert apikeys_dal.site_keys(4)[0].last_used is None
    for n in range(5):
        auth.authenticate(None, header, T0 + n * 1000)
    assert apikeys_dal.site_keys(4)[0].last_used == T0  # the window's first request only
    auth.authenticate(None, header, T0 + 60_000)
    assert apikeys_dal.site_keys(4)[0].last_used == T0 + 60_000


def test_the_key_decides_when_both_are_sent() -> None:
    """A cookie beside an Authorization header is ignored, valid or not."""
    sites_dal.put_site(Site(site_id=4, domain="a.example"))
    sites_dal.add_member(9, USER)
    assert auth.authenticate(session(), key_header(4), T0).credential == "api_key"
    with pytest.raises(Unauthenticated):
        auth.authenticate(session(), "Bearer gk_unknown-but-well-formed-key", T0)
    with pytest.raises(Unauthenticated):
        auth.authenticate(session(), "", T0)


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer gk_abcdefghijklmnop", "gk_abcdefghijklmnop"),
        ("bearer gk_abcdefghijklmnop", "gk_abcdefghijklmnop"),
        ("Bearer  gk_abcdefghijklmnop ", "gk_abcdefghijklmnop"),
        ("Bearer gk_short", None),
        ("Bearer sk_abcdefghijklmnop", None),
        ("Basic gk_abcdefghijklmnop", None),
        ("gk_abcdefghijklmnop", None),
        ("Bearer gk_abcdefghijklmnop extra", None),
        ("Bearer gk_abcdefghijklmnop\u00e9", None),
    ],
)
def test_bearer_keys(header: str, key: str | None) -> None:
    assert auth.bearer_key(header) == key


def test_membership_is_read_on_every_request() -> None:
    caller = auth.authenticate(session(), None, T0)
    with pytest.raises(Forbidden):
        auth.authorize(caller, 4)
    sites_dal.add_member(4, USER)
    auth.authorize(caller, 4)
    sites_dal.remove_member(4, USER)
    with pytest.raises(Forbidden):
        auth.authorize(caller, 4)
