"""Credentials and who holds them (PRODUCT §13): users, API keys, recent sign-in attempts."""

from __future__ import annotations

from typing import Annotated, NamedTuple

from pydantic import BaseModel, Field, StringConstraints

MAX_EMAIL = 254
MAX_PASSWORD = 1024
KeyName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]


class User(BaseModel):
    """A person who signs in; the user id is the email in lower case (memberships name it)."""

    user_id: str
    email: str
    password_hash: str  # argon2id, in PHC string format (its parameters are part of it)


class ApiKey(BaseModel):
    """A long-lived credential of one site for programs; only the SHA-256 of the key is stored."""

    site_id: int = Field(ge=1)
    name: KeyName
    created_at: int  # epoch ms
    last_used: int | None = None  # epoch ms, moved at most once a minute
    revoked_at: int | None = None


class SignInAttempt(NamedTuple):
    at_ms: int
    nonce: str  # tells concurrent attempts of the same millisecond apart


class SignInAttempts(BaseModel):
    """The recent sign-in attempts of one account or address, and the version they were read at."""

    attempts: tuple[SignInAttempt, ...]
    version: int
