"""One low-level DynamoDB client per process (reused across invocations).

botocore is imported when the first request needs the client, not when a handler module is imported:
`botocore.session` alone costs about as much import time as `import boto3` (README, "Cold import").
The first request pays it instead, on top of creating the client, which it already did.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def query_all(request: dict[str, Any], first_page: int | None = None) -> Iterator[dict[str, Any]]:
    """Every item of a Query, following LastEvaluatedKey (a Scan when `request` has no key condition).

    `first_page`: a reader that stops early (a page of a list) asks for that many items first, then twice
    as many per request (a filter may drop some), rather than DynamoDB's 1 MB a request."""
    request = dict(request)
    call = dynamodb().query if "KeyConditionExpression" in request else dynamodb().scan
    limit = first_page
    while True:
        if limit is not None:
            request["Limit"] = limit
            limit = min(limit * 2, 1000)
        page = call(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


MAX_BATCH_GET = 100
MAX_BATCH_WRITE = 25
Key = tuple[str, str]  # (pk, sk) of the rollups-style tables


def _backoff(attempt: int) -> None:
    import random
    import time

    time.sleep(min(1.0, 0.02 * 2**attempt) * random.random())


def batch_get(table: str, keys: list[Key], consistent: bool = False) -> dict[Key, dict[str, Any]]:
    """Every existing item among `keys` (any number), in as few BatchGetItem requests as DynamoDB allows."""
    unique = list(dict.fromkeys(keys))
    found: dict[Key, dict[str, Any]] = {}
    for start in range(0, len(unique), MAX_BATCH_GET):
        chunk = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in unique[start : start + MAX_BATCH_GET]]
        pending: dict[str, Any] = {table: {"Keys": chunk, "ConsistentRead": consistent}}
        attempt = 0
        while pending:
            response = dynamodb().batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(table, []):
                found[(item["pk"]["S"], item["sk"]["S"])] = item
            pending = response.get("UnprocessedKeys") or {}
            if pending:
                attempt += 1
                _backoff(attempt)
    return found


def batch_write(table: str, puts: list[dict[str, Any]], deletes: Sequence[Key] = ()) -> None:
    """BatchWriteItem of any number of puts and deletes, retrying unprocessed ones."""
    requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in puts]
    requests += [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in deletes]
    for start in range(0, len(requests), MAX_BATCH_WRITE):
        pending: dict[str, Any] = {table: requests[start : start + MAX_BATCH_WRITE]}
        attempt = 0
        while pending:
            pending = dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if pending:
                attempt += 1
                _backoff(attempt)


def put_if(request: dict[str, Any]) -> bool:
    """A conditional PutItem: False when its condition failed (someone else's write won)."""
    from botocore.exceptions import ClientError

    try:
        dynamodb().put_item(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def update_if(request: dict[str, Any]) -> dict[str, Any] | None:
    """A conditional UpdateItem: its response, or None when its condition failed."""
    from botocore.exceptions import ClientError

    try:
        return dict(dynamodb().update_item(**request))
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
