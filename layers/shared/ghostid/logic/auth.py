"""Authentication (the `session` cookie) and authorization (site membership), PRODUCT §2."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from urllib.parse import unquote

from ghostid.dal import auth as auth_dal
from ghostid.dal import sites as sites_dal
from ghostid.errors import Forbidden, Unauthenticated
from ghostid.models.sites import LoginSession

COOKIE_NAME = "session"
_TOKEN = re.compile(r"^[A-Za-z0-9_\-.~]{16,512}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_token(cookies: list[str] | None) -> str | None:
    """The `session` cookie's value among any others (HTTP API v2 passes one `name=value` per entry)."""
    for entry in cookies or []:
        for part in entry.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME:
                value = unquote(value.strip().strip('"'))
                return value if _TOKEN.match(value) else ""
    return None


def authenticate(cookies: list[str] | None, now_s: float | None = None) -> str:
    """The user id behind the cookie; Unauthenticated when absent, malformed, unknown, expired or revoked."""
    token = session_token(cookies)
    if not token:
        raise Unauthenticated()
    session = auth_dal.get_login_session(hash_token(token))
    now = time.time() if now_s is None else now_s
    if session is None or session.revoked or session.expires_at <= now:
        raise Unauthenticated()
    return session.user_id


def authorize(user_id: str, site_id: int) -> None:
    if not sites_dal.is_member(site_id, user_id):
        raise Forbidden()


def create_login_session(user_id: str, hours: float = 24 * 7) -> str:
    """What the dashboard's login service does: returns the raw token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    expires_at = int(time.time() + hours * 3600)
    auth_dal.put_login_session(hash_token(token), LoginSession(user_id=user_id, expires_at=expires_at))
    return token
