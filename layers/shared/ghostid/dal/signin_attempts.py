"""Recent sign-in attempts per account and per address (PRODUCT §13's brute-force limits).

An item: `pk` (`ACCOUNT#<SHA-256 of the email>` or `ADDRESS#<source ip>`), `attempts` (a list of
`<epoch ms>:<nonce>`), `v` (its version, for compare-and-swap writes) and `expires_at` (TTL: the item
goes away once its last attempt is out of the window; expiry is also checked in code).
"""

from __future__ import annotations

from typing import Any

from ghostid.dal.client import dynamodb
from ghostid.dal.codec import n, s
from ghostid.models.credentials import SignInAttempt, SignInAttempts
from ghostid.settings import sign_in_attempts_table


def account_key(email_hash: str) -> str:
    return f"ACCOUNT#{email_hash}"


def address_key(address: str) -> str:
    return f"ADDRESS#{address}"


def get_attempts(key: str) -> SignInAttempts:
    """The recorded attempts (a strongly consistent read: the next write is conditional on what it saw)."""
    item = (
        dynamodb()
        .get_item(TableName=sign_in_attempts_table(), Key={"pk": s(key)}, ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        return SignInAttempts(attempts=(), version=0)
    entries = (entry["S"].split(":", 1) for entry in item.get("attempts", {}).get("L", []))
    return SignInAttempts(
        attempts=tuple(SignInAttempt(int(at), nonce) for at, nonce in entries), version=int(item["v"]["N"])
    )


def replace_attempts(key: str, attempts: SignInAttempts, expires_at_s: int) -> bool:
    """Stores `attempts` with version `attempts.version`, if the stored version is still the one before it
    (compare-and-swap); False when another request changed the item first."""
    client = dynamodb()
    previous = attempts.version - 1
    condition: dict[str, Any] = (
        {"ConditionExpression": "attribute_not_exists(pk)"}
        if previous == 0
        else {"ConditionExpression": "v = :previous", "ExpressionAttributeValues": {":previous": n(previous)}}
    )
    try:
        client.put_item(
            TableName=sign_in_attempts_table(),
            Item={
                "pk": s(key),
                "attempts": {"L": [s(f"{a.at_ms}:{a.nonce}") for a in attempts.attempts]},
                "v": n(attempts.version),
                "expires_at": n(expires_at_s),
            },
            **condition,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def delete_attempts(key: str) -> None:
    dynamodb().delete_item(TableName=sign_in_attempts_table(), Key={"pk": s(key)})
