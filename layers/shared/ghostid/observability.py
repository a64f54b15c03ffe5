"""One Logger, Tracer and Metrics per process, configured from the environment (template Globals)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
