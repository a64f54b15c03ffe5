"""Test-wide environment: no real AWS, Powertools quiet."""

from __future__ import annotations

import os
from typing import Any

import pytest

TEST_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "ghostid-analytics",
    "POWERTOOLS_METRICS_NAMESPACE": "GhostIDTest",
    "POWERTOOLS_DEV": "false",
    "LOG_LEVEL": "WARNING",
    "CURSOR_SECRET": "test-cursor-secret-not-for-production-0123456789",
    # Test traffic is dated around fixed days (some a year back); DynamoDB Local really expires items
    # whose TTL has passed, so the events' TTL must not run from the real clock's 400 days.
    "EVENT_RETENTION_DAYS": "3650",
    "POWERTOOLS_METRICS_DISABLED": "false",
}
os.environ.update(TEST_ENVIRONMENT)


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Every test starts from these values: a module imported at collection may have changed them (the
    bench's harness quiets Powertools for its own runs, which would hide the metrics some tests read).
    A unit test also starts with no AWS endpoint an earlier local stack in the process pointed boto3 at."""
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RATE_LIMIT_PER_MINUTE", raising=False)  # the settings' default (the bench raises it)
    if "unit" in request.node.path.parts:
        for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
            monkeypatch.delenv(name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Prints the figures the adversarial tests measured (tests/support/figures.py)."""
    from tests.support.figures import FIGURES

    if FIGURES:
        terminalreporter.section("figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value:,}")


def pytest_sessionfinish(session: Any) -> None:
    """Under pytest-xdist, a worker hands its figures to the controller (which prints them)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from tests.support.figures import FIGURES

        workeroutput["figures"] = dict(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: add up the figures each worker measured."""
    from tests.support.figures import record

    for name, value in getattr(node, "workeroutput", {}).get("figures", {}).items():
        record(name, value)
