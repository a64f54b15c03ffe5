"""Sign-in, sign-out and the account (PRODUCT §13).

Brute force is limited twice, over a sliding 15 minutes: 5 failed sign-ins per account (by email,
whether or not an account has it, so a lock says nothing about which emails exist) and 20 per source
address. An attempt is recorded *before* its password is checked (compare-and-swap on one item per
account and per address), so parallel guesses cannot slip past the limit; a successful sign-in clears
the account's record and takes its own attempt off the address's. A wrong email and a wrong password
cost the same: both verify an argon2id hash (a dummy one for an unknown email) and answer the same 401.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from ghostid import settings
from ghostid.dal import signin_attempts as attempts_dal
from ghostid.dal import sites as sites_dal
from ghostid.dal import users as users_dal
from ghostid.errors import RateLimited, Unauthenticated
from ghostid.logic import auth, passwords
from ghostid.logic.ratelimit import Usage, limited, seconds_until
from ghostid.models.access import MeResponse, SiteSummary
from ghostid.models.credentials import SignInAttempt, SignInAttempts
from ghostid.models.sites import Site

ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW_MS = 15 * 60_000
SESSION_HOURS = 7 * 24
WRONG_CREDENTIALS = "Wrong email or password."
_CAS_ATTEMPTS = 8


@dataclass(frozen=True)
class SignedIn:
    token: str  # the new session's cookie value
    max_age_s: int
    account: MeResponse


def normalize_email(email: str) -> str:
    """The user id an email stands for: trimmed, in lower case."""
    return email.strip().lower()


def sign_in(email: str, password: str, address: str) -> SignedIn:
    """A new login session for the right email and password; Unauthenticated (401) otherwise, the same
    answer either way; RateLimited (429) while the account or the address is locked."""
    now_ms = time.time_ns() // 1_000_000  # the wall clock, as session expiry (DynamoDB's TTL runs on it)
    email = normalize_email(email)
    account_key = attempts_dal.account_key(hashlib.sha256(email.encode()).hexdigest())
    address_key = attempts_dal.address_key(address or "unknown")
    at_address = _record_attempt(address_key, ADDRESS_FAILURES, now_ms, "from this address")
    try:
        _record_attempt(account_key, ACCOUNT_FAILURES, now_ms, "for this account")
    except RateLimited:
        _forget_attempt(address_key, at_address, now_ms)
        raise
    dummy = passwords.dummy_hash()  # made before the lookup, so both paths pay for it alike
    user = users_dal.get_user(email) if email else None  # "" cannot be a key (nor anyone's email)
    matches = passwords.verify_password(user.password_hash if user else dummy, password)
    if user is None or not matches:
        raise Unauthenticated(WRONG_CREDENTIALS)  # the attempts stay recorded: they were failures
    attempts_dal.delete_attempts(account_key)
    _forget_attempt(address_key, at_address, now_ms)
    if passwords.needs_rehash(user.password_hash):
        users_dal.set_password_hash(
            email, passwords.hash_password(password), now_ms, replacing=user.password_hash
        )
    token = auth.create_login_session(user.user_id, hours=SESSION_HOURS)
    return SignedIn(token, SESSION_HOURS * 3600, account_of_user(user.user_id))


def account_of_user(user_id: str) -> MeResponse:
    sites = (sites_dal.get_site(site_id) for site_id in sites_dal.member_site_ids(user_id))
    return MeResponse(user_id=user_id, sites=[_summary(site) for site in sites if site is not None])


def account(caller: auth.Caller) -> MeResponse:
    """What GET /api/me answers: the user and their sites; for an API key, no user and its one site."""
    if caller.user_id is not None:
        return account_of_user(caller.user_id)
    site = sites_dal.get_site(caller.site_id) if caller.site_id is not None else None
    return MeResponse(user_id=None, sites=[_summary(site)] if site else [])


def session_cookie(token: str, max_age_s: int) -> str:
    secure = "; Secure" if settings.secure_cookies() else ""
    return f"{auth.COOKIE_NAME}={token}; HttpOnly{secure}; SameSite=Lax; Path=/; Max-Age={max_age_s}"


def cleared_cookie() -> str:
    return session_cookie("", 0)


def _summary(site: Site) -> SiteSummary:
    # A site's reporting time zone arrives with PRODUCT §10; until a site has one it reports in UTC.
    timezone = str(getattr(site, "timezone", "UTC"))
    return SiteSummary(site_id=site.site_id, domain=site.domain, name=site.name, timezone=timezone)


def _record_attempt(key: str, limit: int, now_ms: int, whose: str) -> SignInAttempt:
    """Records an attempt unless `limit` are already recorded in the window (then RateLimited)."""
    for _ in range(_CAS_ATTEMPTS):
        stored = attempts_dal.get_attempts(key)
        recent = tuple(a for a in stored.attempts if a.at_ms > now_ms - WINDOW_MS)
        if len(recent) >= limit:
            unlocks = min(a.at_ms for a in recent) + WINDOW_MS
            usage = Usage(limit, len(recent), seconds_until(unlocks, now_ms))
            raise limited(f"Too many failed sign-ins {whose}.", usage)
        mine = SignInAttempt(now_ms, secrets.token_hex(6))
        updated = SignInAttempts(attempts=(*recent, mine), version=stored.version + 1)
        if attempts_dal.replace_attempts(key, updated, _expiry_s(now_ms)):
            return mine
    raise limited(f"Too many sign-ins at once {whose}.", Usage(limit, limit, 1))


def _forget_attempt(key: str, attempt: SignInAttempt, now_ms: int) -> None:
    for _ in range(_CAS_ATTEMPTS):
        stored = attempts_dal.get_attempts(key)
        kept = tuple(a for a in stored.attempts if a != attempt)
        if len(kept) == len(stored.attempts):
            return
        if attempts_dal.replace_attempts(
            key, SignInAttempts(attempts=kept, version=stored.version + 1), _expiry_s(now_ms)
        ):
            return


def _expiry_s(now_ms: int) -> int:
    return (now_ms + WINDOW_MS) // 1000 + 1
