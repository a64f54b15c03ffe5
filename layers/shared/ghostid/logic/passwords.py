"""Passwords, stored as argon2id hashes only, with OWASP's parameters (Password Storage Cheat Sheet:
19 MiB of memory, 2 passes, 1 lane). A hash carries its parameters, so a sign-in can tell an old hash
and store a new one when these change."""

from __future__ import annotations

import secrets
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1
MIN_LENGTH = 12
MAX_LENGTH = 1024


@cache
def hasher() -> PasswordHasher:
    from argon2 import PasswordHasher, Type  # only the sign-in function and the CLI hash passwords

    return PasswordHasher(
        time_cost=TIME_COST,
        memory_cost=MEMORY_KIB,
        parallelism=PARALLELISM,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def check_new_password(password: str) -> None:
    """ValueError unless the password is long enough to stand an offline guess (NIST SP 800-63B)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValueError(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with other parameters than today's."""
    from argon2.exceptions import InvalidHashError

    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash no password matches, verified when the email is unknown so that costs the same time."""
    return hash_password(secrets.token_urlsafe(32))
