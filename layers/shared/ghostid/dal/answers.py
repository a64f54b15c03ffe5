"""A site's precomputed stats answers: partition `<site>#A`, two small items read by one Query.

- `version` (`v`): moved by the consumer after every batch it applies to the site.
- `answers` (`av`, `b`): the three ranges' responses (zlib JSON), computed from data read after the
  version `av` was taken. They are current only while `av == v`; readers check that.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from ghostid.dal.client import dynamodb
from ghostid.dal.codec import key, n
from ghostid.settings import rollups_table

VERSION_SK = "version"
ANSWERS_SK = "answers"


def answers_partition(site_id: int) -> str:
    return f"{site_id}#A"


def bump_version(site_id: int) -> int:
    """Tells readers the site's rollups changed; returns the new version."""
    response = dynamodb().update_item(
        TableName=rollups_table(),
        Key=key(answers_partition(site_id), VERSION_SK),
        UpdateExpression="ADD v :one",
        ExpressionAttributeValues={":one": n(1)},
        ReturnValues="UPDATED_NEW",
    )
    return int(response["Attributes"]["v"]["N"])


def put_answers(site_id: int, version: int, payload: bytes) -> bool:
    """Stores answers computed after `version` was taken, unless later ones are already stored."""
    try:
        dynamodb().put_item(
            TableName=rollups_table(),
            Item={**key(answers_partition(site_id), ANSWERS_SK), "av": n(version), "b": {"B": payload}},
            ConditionExpression="attribute_not_exists(av) OR av < :v",
            ExpressionAttributeValues={":v": n(version)},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get_current_answers(site_id: int) -> bytes | None:
    """The stored answers if nothing changed since they were computed (one Query, a fraction of one RCU)."""
    items = {
        item["sk"]["S"]: item
        for item in dynamodb()
        .query(
            TableName=rollups_table(),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": answers_partition(site_id)}},
        )
        .get("Items", [])
    }
    answers, version = items.get(ANSWERS_SK), items.get(VERSION_SK)
    if answers is None or version is None or int(answers["av"]["N"]) != int(version["v"]["N"]):
        return None
    return bytes(answers["b"]["B"])
