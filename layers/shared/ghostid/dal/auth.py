"""Login sessions, keyed by the SHA-256 of the cookie token (the raw token is never stored)."""

from __future__ import annotations

from ghostid.dal.client import dynamodb
from ghostid.models.sites import LoginSession
from ghostid.settings import sessions_table


def get_login_session(token_hash: str) -> LoginSession | None:
    item = dynamodb().get_item(TableName=sessions_table(), Key={"token_hash": {"S": token_hash}}).get("Item")
    if item is None:
        return None
    return LoginSession(
        user_id=item["user_id"]["S"],
        expires_at=int(item["expires_at"]["N"]),
        revoked=item.get("revoked", {}).get("BOOL", False),
    )


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
