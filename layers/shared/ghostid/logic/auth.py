"""Who is asking (PRODUCT §2, §13): a `session` cookie or an API key, each counted against its rate
limit in the same DynamoDB write that checks it; and whether they may read a site.

A request with an `Authorization` header is authenticated by that header alone: the cookie is then
ignored, so a bad key is a 401 even next to a valid cookie (a script's explicit credential wins over a
browser's ambient one, and is never silently replaced by it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from ghostid import settings, timeutil
from ghostid.dal import apikeys as apikeys_dal
from ghostid.dal import auth as auth_dal
from ghostid.dal import sites as sites_dal
from ghostid.dal.usage import Outcome
from ghostid.errors import Forbidden, Unauthenticated
from ghostid.logic.ratelimit import Usage, limited, minute_of, minute_usage
from ghostid.models.sites import LoginSession, Site

COOKIE_NAME = "session"
API_KEY_PREFIX = "gk_"
_TOKEN = re.compile(r"^[A-Za-z0-9_\-.~]{16,512}$")
_API_KEY = re.compile(r"^gk_[A-Za-z0-9_\-]{16,256}$")
_BEARER = re.compile(r"^bearer +(\S+) *$", re.IGNORECASE)
BAD_KEY = "Send a live API key as Authorization: Bearer gk_... (this one is missing, malformed or revoked)."

Credential = Literal["session", "api_key"]


@dataclass(frozen=True)
class Caller:
    """An authenticated request: its credential, whose it is, and its rate limit so far."""

    credential: Credential
    token_hash: str
    user_id: str | None  # the session's user (None for an API key)
    site_id: int | None  # the API key's one site (None for a session)
    key_name: str | None
    usage: Usage

    @property
    def principal(self) -> str:
        """Who asks, for logs and handlers: the user id, or `apikey:<site>/<name>`."""
        return self.user_id if self.user_id is not None else f"apikey:{self.site_id}/{self.key_name}"


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


def bearer_key(authorization: str) -> str | None:
    """The API key in `Authorization: Bearer gk_...`, None when the header says anything else."""
    match = _BEARER.match(authorization)
    return match.group(1) if match and _API_KEY.match(match.group(1)) else None


def authenticate(cookies: list[str] | None, authorization: str | None, now_ms: int | None = None) -> Caller:
    """The caller, counted against its rate limit: Unauthenticated (401) when the credential is absent,
    malformed, unknown, expired or revoked; RateLimited (429) when it is over its limit this minute."""
    if authorization is not None:
        return authenticate_key(authorization, now_ms)
    return authenticate_session(cookies, now_ms)


def authenticate_session(cookies: list[str] | None, now_ms: int | None = None) -> Caller:
    token = session_token(cookies)
    if not token:
        raise Unauthenticated()
    token_hash, now = hash_token(token), _now(now_ms)
    limit = settings.rate_limit_per_minute()
    outcome, count, session = auth_dal.count_session_request(token_hash, time.time(), minute_of(now), limit)
    usage = minute_usage(limit, count, now)
    if outcome is Outcome.INVALID or session is None:
        raise Unauthenticated()
    if outcome is Outcome.LIMITED:
        raise limited(f"This session made {limit} requests this minute, its limit.", usage)
    return Caller("session", token_hash, session.user_id, None, None, usage)


def authenticate_key(authorization: str, now_ms: int | None = None) -> Caller:
    key = bearer_key(authorization)
    if key is None:
        raise Unauthenticated(BAD_KEY)
    key_hash, now = hash_token(key), _now(now_ms)
    limit = settings.rate_limit_per_minute()
    outcome, count, api_key = apikeys_dal.count_key_request(key_hash, now, minute_of(now), limit)
    usage = minute_usage(limit, count, now)
    if outcome is Outcome.INVALID or api_key is None:
        raise Unauthenticated(BAD_KEY)
    if outcome is Outcome.LIMITED:
        raise limited(f"This API key made {limit} requests this minute, its limit.", usage)
    return Caller("api_key", key_hash, None, api_key.site_id, api_key.name, usage)


def authorize(caller: Caller, site_id: int, with_site: bool = False) -> Site | None:
    """Forbidden (403) unless the caller may read the site: membership is read on every request, so a
    removed member is refused at once; an API key reads its own site only. `with_site`: the route needs
    the site's settings too, read in the same request as the membership (None if the site is unknown)."""
    if caller.credential == "api_key":
        if caller.site_id != site_id:
            raise Forbidden(f"This API key reads site {caller.site_id} only.")
        return sites_dal.get_site(site_id) if with_site else None
    if caller.user_id is None:
        raise Forbidden()
    if with_site:
        site, member = sites_dal.site_and_membership(site_id, caller.user_id)
    else:
        site, member = None, sites_dal.is_member(site_id, caller.user_id)
    if not member:
        raise Forbidden()
    return site


def create_login_session(user_id: str, hours: float = 24 * 7) -> str:
    """A new login session; returns the raw token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    expires_at = int(time.time() + hours * 3600)
    auth_dal.put_login_session(hash_token(token), LoginSession(user_id=user_id, expires_at=expires_at))
    return token


def revoke_login_session(caller: Caller) -> None:
    auth_dal.revoke_login_session(caller.token_hash)


def _now(now_ms: int | None) -> int:
    return timeutil.now_ms() if now_ms is None else now_ms
