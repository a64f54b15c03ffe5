"""Schemathesis against the local stack over HTTP: every route of docs/openapi.yaml, with a valid
cookie and without, data that fits the spec and data that does not.

The gateway runs the real handlers on DynamoDB Local with a seeded site, traffic and folded rollups.
Every response must be no 5xx, a documented status, the documented content type and a body that
matches the documented schema. `FUZZ_SEED` replays a run; `FUZZ_REQUESTS` asks for more requests.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import figures, traffic
from tests.support.scenario import NOW, import_traffic, stored_events, stored_items
from tests.support.stack import Stack, local_stack, member_session

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs/openapi.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MIN_REQUESTS = 1000
TARGET = max(MIN_REQUESTS, int(os.environ.get("FUZZ_REQUESTS", "1200")))
TIME_BUDGET_S = 90 * TARGET / 1200  # about 30 s for the default 1,200 requests here
OWN_SITE = 4
OWN_ORIGIN = f"https://site{OWN_SITE}.example.com"  # the domain member_session registers


@pytest.fixture
def seeded(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Stack, list[str], str]]:
    """Site 4 (our member) and site 9 (someone else's), both with folded traffic."""
    with local_stack(local_aws_env, cfn_template, monkeypatch) as stack:
        token = member_session(4, "jane@example.com")
        member_session(9, "other@example.com")
        import_traffic(traffic.generate(NOW, seed=41, visitors=10), site=4)
        import_traffic(traffic.generate(NOW, seed=42, visitors=3), site=9)
        stack.poller.drain(timeout=120)
        assert stack.dead_letters == []
        session_ids = sorted(
            {e["session_id"] for e in stored_events(stored_items(stack.tables["EventsTable"]))}
        )
        yield stack, session_ids, token


def _plans(
    operations: list[schemathesis.APIOperation[Any, Any, Any, Any]], token: str, session_ids: list[str]
) -> list[tuple[str, Any, str | None]]:
    """(name, strategy, cookie) for each operation, with data that fits the spec and data that does not:
    anonymous and with a member's cookie; for the read routes also pinned to the member's own site and
    to its existing sessions; for the collector also pinned to a registered site and its origin."""
    plans: list[tuple[str, Any, str | None]] = []
    for operation in operations:
        names = {p.name for p in operation.query} | {p.name for p in operation.path_parameters}
        authenticated = bool(operation.definition.raw.get("security", [{}]))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} {mode.value}"
            plans.append((f"{label} anonymous", operation.as_strategy(generation_mode=mode), None))
            plans.append((f"{label} any site", operation.as_strategy(generation_mode=mode), token))
            if authenticated and "siteId" in names:
                own = operation.as_strategy(generation_mode=mode, query={"siteId": OWN_SITE})
                plans.append((f"{label} own site", own, token))
            if not authenticated:
                own = operation.as_strategy(generation_mode=mode).map(_registered_site)
                plans.append((f"{label} registered site", own, None))
        if "siteId" in names and "id" in names:
            existing = st.sampled_from(session_ids).flatmap(partial(_own_session, operation))
            plans.append((f"{operation.label} positive own sessions", existing, token))
    return plans


def _own_session(operation: schemathesis.APIOperation[Any, Any, Any, Any], session_id: str) -> Any:
    return operation.as_strategy(path_parameters={"id": session_id}, query={"siteId": OWN_SITE})


def _registered_site(case: schemathesis.Case[Any]) -> schemathesis.Case[Any]:
    """The collector's case aimed at the registered site: its site id in the events, the URL and Origin."""
    body = case.body
    events = body.get("events") if isinstance(body, dict) else None
    for event in events if isinstance(events, list) else [body]:
        if isinstance(event, dict) and "site_id" in event:
            event["site_id"] = OWN_SITE
    if case.query and "siteId" in case.query:
        case.query["siteId"] = OWN_SITE
    if case.headers and "Origin" in case.headers:
        case.headers["Origin"] = OWN_ORIGIN
    return case


def _fuzzer(
    url: str, strategy: Any, cookie: str | None, examples: int, seed: int, statuses: Counter[tuple[str, int]]
) -> Any:
    """A hypothesis test that sends `examples` generated requests and runs the spec's checks on each."""
    cookies = {"session": cookie} if cookie else None

    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @hypothesis.given(case=strategy)
    def fuzz(case: schemathesis.Case[Any]) -> None:
        # A fresh connection each time (the local gateway is slow with keep-alive).
        response = case.call(base_url=url, cookies=cookies)
        statuses[(case.operation.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    return fuzz


def test_fuzz_every_route_with_and_without_cookie(
    seeded: tuple[Stack, list[str], str], record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stack, session_ids, token = seeded
    seed = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))
    schema = schemathesis.openapi.from_path(str(SPEC))
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    plans = _plans(operations, token, session_ids)
    per_plan = math.ceil(TARGET / len(plans))
    statuses: Counter[tuple[str, int]] = Counter()
    started = time.monotonic()

    for name, strategy, cookie in plans:
        fuzz = _fuzzer(stack.url, strategy, cookie, per_plan, seed, statuses)
        try:
            fuzz()
        except Exception as error:
            error.add_note(f"replay with FUZZ_SEED={seed} ({name})")
            raise

    elapsed = time.monotonic() - started
    requests_made = sum(statuses.values())
    figures.record("requests fuzzed", requests_made)
    record_property("fuzz_requests", requests_made)
    record_property("fuzz_seed", seed)
    with capsys.disabled():
        print(
            f"\nfuzz: {requests_made} requests in {elapsed:.1f}s over {len(plans)} plans (FUZZ_SEED={seed})"
        )
        for (label, status), count in sorted(statuses.items()):
            print(f"  {label:<28} {status}  x{count}")
    assert requests_made >= MIN_REQUESTS
    assert elapsed < TIME_BUDGET_S
    assert not any(status >= 500 for _, status in statuses)
    # The fuzzer got past each check: anonymous, refused, invalid and served requests all happened.
    for label in ("GET /api/stats", "GET /api/session/{id}"):
        assert {status for lab, status in statuses if lab == label} >= {200, 400, 401, 403}, label
    assert statuses[("GET /api/session/{id}", 404)] > 0
