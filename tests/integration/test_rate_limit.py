"""Rate limits under concurrency, over HTTP on DynamoDB Local (PRODUCT §13): 600 requests a minute per
session and per API key, whatever mix of functions (each one instance, with its own memory) serves them
and however many threads send them; 5 failed sign-ins per account, also when guessed in parallel.

The local stack's clock is frozen in one minute, so every request here counts in the same window.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from ghostid.logic import apikeys, users

from tests.support import traffic
from tests.support.scenario import NOW, NOW_MS, import_traffic
from tests.support.stack import Reply, Stack, local_stack, member_session

pytestmark = pytest.mark.integration

SITE, USER, LIMIT = 4, "jane@example.com", 600
PASSWORD = "correct horse battery staple"


@pytest.fixture
def stack(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Stack, str]]:
    with local_stack(local_aws_env, cfn_template, monkeypatch) as stack:
        events = traffic.generate(NOW, seed=61, visitors=2)
        import_traffic(events, site=SITE)
        yield stack, events[0]["session_id"]


def hammer(stack: Stack, paths: list[str], headers: list[tuple[str, str]], threads: int = 8) -> list[Reply]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda path: stack.request("GET", path, headers=headers), paths))


def check_limit(replies: list[Reply]) -> None:
    statuses = Counter(reply.status for reply in replies)
    assert statuses[429] == len(replies) - LIMIT, statuses
    served = [reply for reply in replies if reply.status != 429]
    assert len(served) == LIMIT
    # Each counted request saw its own place in the window: the counter is atomic across threads and
    # functions, so `RateLimit-Remaining` took every value from 599 down to 0 exactly once.
    remaining = sorted(int(reply.headers["ratelimit-remaining"]) for reply in served)
    assert remaining == list(range(LIMIT))
    for reply in replies:
        assert reply.headers["ratelimit-limit"] == str(LIMIT)
        assert 1 <= int(reply.headers["ratelimit-reset"]) <= 60
        if reply.status == 429:
            assert reply.body["error"]["code"] == "rate_limited"
            assert reply.headers["ratelimit-remaining"] == "0"
            assert reply.headers["retry-after"] == reply.headers["ratelimit-reset"]


def test_a_session_gets_600_requests_a_minute_across_threads_and_functions(stack: tuple[Stack, str]) -> None:
    server, session_id = stack
    cookie = [("Cookie", f"session={member_session(SITE, USER)}")]
    paths = [f"/api/stats?siteId={SITE}", f"/api/session/{session_id}?siteId={SITE}", "/api/me"] * 240
    replies = hammer(server, paths, cookie)
    check_limit(replies)
    assert {r.status for r in replies} == {200, 429}
    # Another session of the same user has a limit of its own.
    assert server.get(f"/api/stats?siteId={SITE}", f"session={member_session(SITE, USER)}").status == 200


def test_an_api_key_gets_600_requests_a_minute(stack: tuple[Stack, str]) -> None:
    server, _ = stack
    key = [("Authorization", f"Bearer {apikeys.create_key(SITE, 'busy', NOW_MS)}")]
    replies = hammer(server, [f"/api/stats?siteId={SITE}", f"/api/stats?siteId={SITE + 1}"] * 330, key)
    check_limit(replies)
    assert {r.status for r in replies} == {200, 403, 429}  # the other site's requests counted too


def test_parallel_guesses_cannot_pass_the_account_lock(stack: tuple[Stack, str]) -> None:
    server, _ = stack
    users.create_user(USER, PASSWORD, NOW_MS)
    body = json.dumps({"email": USER, "password": "a wrong guess"}).encode()
    headers = [("Content-Type", "application/json")]
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(
            pool.map(
                lambda _: server.request("POST", "/api/auth/login", headers=headers, body=body), range(12)
            )
        )
    # Each attempt is recorded (compare-and-swap) before its password is checked: 5 checked, 7 locked out.
    assert Counter(reply.status for reply in replies) == {401: 5, 429: 7}
