"""Users, keyed by their email in lower case (which is also their user id): `email`, `user_id`,
`password_hash` (argon2id, PHC string), `created_at` and `password_changed_at` (epoch ms)."""

from __future__ import annotations

from ghostid.dal.client import dynamodb
from ghostid.dal.codec import n, s
from ghostid.models.credentials import User
from ghostid.settings import users_table


class UserExists(Exception):
    """`put_new_user` found the email taken."""


def get_user(email: str) -> User | None:
    item = dynamodb().get_item(TableName=users_table(), Key={"email": s(email)}).get("Item")
    if item is None:
        return None
    return User(
        user_id=item["user_id"]["S"], email=item["email"]["S"], password_hash=item["password_hash"]["S"]
    )


def put_new_user(user: User, now_ms: int) -> None:
    client = dynamodb()
    try:
        client.put_item(
            TableName=users_table(),
            Item={
                "email": s(user.email),
                "user_id": s(user.user_id),
                "password_hash": s(user.password_hash),
                "created_at": n(now_ms),
                "password_changed_at": n(now_ms),
            },
            ConditionExpression="attribute_not_exists(email)",
        )
    except client.exceptions.ConditionalCheckFailedException:
        raise UserExists(user.email) from None


def set_password_hash(email: str, password_hash: str, now_ms: int, replacing: str | None = None) -> bool:
    """Stores a new hash for an existing user (only if the stored one is still `replacing`, when given:
    a rehash at sign-in never overwrites a password changed meanwhile). False when nothing was written."""
    client = dynamodb()
    condition = "attribute_exists(email)" + (" AND password_hash = :old" if replacing else "")
    values = {":hash": s(password_hash), ":now": n(now_ms)} | ({":old": s(replacing)} if replacing else {})
    try:
        client.update_item(
            TableName=users_table(),
            Key={"email": s(email)},
            UpdateExpression="SET password_hash = :hash, password_changed_at = :now",
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
