"""Test-wide environment: no real AWS, Powertools quiet, X-Ray off."""

from __future__ import annotations

import os

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
