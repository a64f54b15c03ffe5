"""Test-wide environment: no real AWS, Powertools quiet, X-Ray off."""

from __future__ import annotations

import os
from typing import Any

os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_SERVICE_NAME="ghostid-analytics",
    POWERTOOLS_METRICS_NAMESPACE="GhostIDTest",
    POWERTOOLS_DEV="false",
    LOG_LEVEL="WARNING",
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Prints the figures the adversarial tests measured (tests/support/figures.py)."""
    from tests.support.figures import FIGURES

    if FIGURES:
        terminalreporter.section("figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value:,}")
