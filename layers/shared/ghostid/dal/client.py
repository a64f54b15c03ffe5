"""One low-level DynamoDB client per process (reused across invocations)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=32,  # the importer writes from 16 threads
)


@cache
def dynamodb() -> DynamoDBClient:
    """Honours AWS_ENDPOINT_URL_DYNAMODB, so the local stack and tests point it at DynamoDB Local."""
    return boto3.client("dynamodb", config=_CONFIG)


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
