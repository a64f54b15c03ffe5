"""One Logger and Metrics per process, configured from the environment (template Globals).

No Powertools Tracer: it loads the X-Ray SDK on every cold start (more import time than boto3
itself). The functions keep `Tracing: Active` in the template, so Lambda still records an X-Ray
segment per invocation; only the SDK's subsegments per handler method are gone.
"""

from __future__ import annotations

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

logger = Logger()
metrics = Metrics()
