"""Login sessions, keyed by the SHA-256 of the cookie token (the raw token is never stored).

An item: `token_hash`, `user_id`, `expires_at` (epoch seconds, checked in code: TTL only cleans up),
`revoked`, and the request counter of its rate limit (`w`, `c`: see `ghostid.dal.usage`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ghostid.dal.client import dynamodb
from ghostid.dal.usage import Count, Outcome, Validity, count_request
from ghostid.models.sites import LoginSession
from ghostid.settings import sessions_table


def put_login_session(token_hash: str, session: LoginSession) -> None:
    dynamodb().put_item(
        TableName=sessions_table(),
        Item={
            "token_hash": {"S": token_hash},
            "user_id": {"S": session.user_id},
            "expires_at": {"N": str(session.expires_at)},
            "revoked": {"BOOL": session.revoked},
        },
    )


def count_session_request(
    token_hash: str, now_s: float, minute: int, limit: int
) -> tuple[Outcome, int, LoginSession | None]:
    """Counts a request on a live session: (outcome, requests this minute, the session if it is live)."""
    validity = Validity(
        condition="attribute_exists(token_hash) AND expires_at > :now "
        "AND (attribute_not_exists(revoked) OR revoked = :false)",
        values={":now": {"N": str(int(now_s))}, ":false": {"BOOL": False}},
        holds=lambda item: _session(item).expires_at > now_s and not _session(item).revoked,
    )
    count: Count = count_request(sessions_table(), _key(token_hash), validity, minute, limit)
    return count.outcome, count.count, _session(count.item) if count.item else None


def revoke_login_session(token_hash: str) -> None:
    """Revokes the session at once (the next request with its cookie is a 401)."""
    client = dynamodb()
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):  # none: nothing to revoke
        client.update_item(
            TableName=sessions_table(),
            Key=_key(token_hash),
            UpdateExpression="SET revoked = :true",
            ConditionExpression="attribute_exists(token_hash)",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )


def _key(token_hash: str) -> dict[str, Any]:
    return {"token_hash": {"S": token_hash}}


def _session(item: Mapping[str, Any]) -> LoginSession:
    return LoginSession(
        user_id=item["user_id"]["S"],
        expires_at=int(item["expires_at"]["N"]),
        revoked=item.get("revoked", {}).get("BOOL", False),
    )
