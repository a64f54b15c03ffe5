"""Users (PRODUCT §13): created and given passwords by the `ghostid` command; they sign in themselves."""

from __future__ import annotations

from ghostid.dal import users as users_dal
from ghostid.logic import passwords
from ghostid.logic.signin import normalize_email
from ghostid.models.credentials import MAX_EMAIL, User


def create_user(email: str, password: str, now_ms: int) -> User:
    """ValueError for an unusable email or password; users_dal.UserExists when the email is taken."""
    email = _checked_email(email)
    passwords.check_new_password(password)
    user = User(user_id=email, email=email, password_hash=passwords.hash_password(password))
    users_dal.put_new_user(user, now_ms)
    return user


def set_password(email: str, password: str, now_ms: int) -> bool:
    """False when there is no such user. Sessions already signed in stay valid (revoke them apart)."""
    passwords.check_new_password(password)
    return users_dal.set_password_hash(normalize_email(email), passwords.hash_password(password), now_ms)


def _checked_email(email: str) -> str:
    email = normalize_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise ValueError(f"{email!r} is not an email address")
    return email
