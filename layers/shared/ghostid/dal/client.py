"""One low-level DynamoDB client per process (reused across invocations).

botocore is imported when the first request needs the client, not when a handler module is imported:
`botocore.session` alone costs about as much import time as `import boto3` (README, "Cold import").
The first request pays it instead, on top of creating the client, which it already did.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@cache
def dynamodb() -> DynamoDBClient:
    """Honours AWS_ENDPOINT_URL_DYNAMODB, so the local stack and tests point it at DynamoDB Local.

    botocore's own session, not boto3's: `boto3.client` resolves region, credentials and endpoint
    the same way (it wraps this call), but importing boto3 also loads s3transfer and multiprocessing.
    """
    import botocore.session
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=2,
        read_timeout=5,
        max_pool_connections=32,  # the importer writes from 16 threads
    )
    return cast("DynamoDBClient", botocore.session.get_session().create_client("dynamodb", config=config))


def query_all(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a Query, following LastEvaluatedKey (a Scan when `request` has no key condition)."""
    request = dict(request)
    call = dynamodb().query if "KeyConditionExpression" in request else dynamodb().scan
    while True:
        page = call(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
