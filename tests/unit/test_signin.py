"""`ghostid.logic.signin` and `ghostid.logic.passwords`: argon2id with OWASP's parameters, rehash when
they change, the same answer in the same time for a wrong email and a wrong password, and the
brute-force limits per account and per address (PRODUCT §13)."""

from __future__ import annotations

import statistics
import time

import pytest
from argon2 import PasswordHasher
from ghostid.dal import users as users_dal
from ghostid.errors import RateLimited, Unauthenticated
from ghostid.logic import passwords, signin, users
from ghostid.models.credentials import User

pytestmark = pytest.mark.usefixtures("aws")

PASSWORD = "correct horse battery staple"
NOW_MS = 1_780_000_000_000


def test_passwords_are_argon2id_with_owasp_parameters() -> None:
    user = users.create_user("Jane@Example.com ", PASSWORD, NOW_MS)
    assert (user.user_id, user.email) == ("jane@example.com", "jane@example.com")
    stored = users_dal.get_user("jane@example.com")
    assert stored is not None and PASSWORD not in stored.password_hash
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password(stored.password_hash, PASSWORD)
    assert not passwords.verify_password(stored.password_hash, PASSWORD + "!")
    assert not passwords.verify_password("not a hash", PASSWORD)


@pytest.mark.parametrize(
    ("email", "password"),
    [("jane", PASSWORD), ("jane@localhost", PASSWORD), ("ja ne@example.com", PASSWORD), ("j@e.com", "short")],
)
def test_unusable_emails_and_passwords_are_refused(email: str, password: str) -> None:
    with pytest.raises(ValueError, match=r"email address|password has"):
        users.create_user(email, password, NOW_MS)


def test_an_email_is_one_user() -> None:
    users.create_user("jane@example.com", PASSWORD, NOW_MS)
    with pytest.raises(users_dal.UserExists):
        users.create_user("JANE@example.com", PASSWORD, NOW_MS)
    assert users.set_password("JANE@example.com", "another long password", NOW_MS)
    assert signin.sign_in("jane@example.com", "another long password", "10.0.0.1").account.user_id
    assert not users.set_password("nobody@example.com", "another long password", NOW_MS)


def test_a_hash_of_older_parameters_is_replaced_at_sign_in() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    users_dal.put_new_user(
        User(user_id="jane@example.com", email="jane@example.com", password_hash=old), NOW_MS
    )
    assert passwords.needs_rehash(old)
    signin.sign_in("jane@example.com", PASSWORD, "10.0.0.1")
    stored = users_dal.get_user("jane@example.com")
    assert stored is not None and stored.password_hash != old
    assert not passwords.needs_rehash(stored.password_hash)
    assert passwords.verify_password(stored.password_hash, PASSWORD)


def test_a_sign_in_gives_a_session_of_seven_days() -> None:
    users.create_user("jane@example.com", PASSWORD, NOW_MS)
    signed_in = signin.sign_in("jane@example.com", PASSWORD, "10.0.0.1")
    assert signed_in.max_age_s == 7 * 24 * 3600
    assert signin.session_cookie(signed_in.token, 60) == (
        f"session={signed_in.token}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=60"
    )
    assert signin.cleared_cookie() == "session=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0"


def _refused_ms(email: str, password: str, address: str) -> float:
    started = time.perf_counter()
    with pytest.raises(Unauthenticated):
        signin.sign_in(email, password, address)
    return (time.perf_counter() - started) * 1000


def test_an_unknown_email_costs_about_what_a_wrong_password_costs() -> None:
    """Both verify an argon2id hash: medians of interleaved runs, each from its own address."""
    runs = 15
    for n in range(runs):
        users.create_user(f"user{n}@example.com", PASSWORD, NOW_MS)
    passwords.dummy_hash()  # made once per process, before either measurement
    wrong, unknown, verify = [], [], []
    for n in range(runs):  # interleaved, so a slower moment of the machine hits both alike
        wrong.append(_refused_ms(f"user{n}@example.com", "wrong!", f"10.1.0.{n}"))
        unknown.append(_refused_ms(f"nobody{n}@example.com", PASSWORD, f"10.2.0.{n}"))
        started = time.perf_counter()
        assert not passwords.verify_password(passwords.dummy_hash(), PASSWORD)
        verify.append((time.perf_counter() - started) * 1000)
    wrong_ms, unknown_ms, verify_ms = (statistics.median(v) for v in (wrong, unknown, verify))
    print(f"sign-in medians: wrong password {wrong_ms:.0f} ms, unknown email {unknown_ms:.0f} ms")
    assert unknown_ms >= 0.8 * verify_ms  # the unknown email paid for a hash verification
    assert abs(wrong_ms - unknown_ms) <= 0.25 * max(wrong_ms, unknown_ms)


def test_five_failures_lock_an_account_for_fifteen_minutes() -> None:
    users.create_user("jane@example.com", PASSWORD, NOW_MS)
    for n in range(5):
        with pytest.raises(Unauthenticated):
            signin.sign_in("jane@example.com", "wrong!", f"10.0.0.{n}")  # from five addresses
    with pytest.raises(RateLimited) as locked:
        signin.sign_in("JANE@example.com", PASSWORD, "10.9.9.9")
    assert locked.value.headers["RateLimit-Limit"] == "5"
    assert 899 <= int(locked.value.headers["Retry-After"]) <= 900


def test_a_success_clears_the_account_and_takes_its_attempt_off_the_address() -> None:
    users.create_user("jane@example.com", PASSWORD, NOW_MS)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            signin.sign_in("jane@example.com", "wrong!", "10.0.0.1")
    signin.sign_in("jane@example.com", PASSWORD, "10.0.0.1")
    for _ in range(5):  # five more failures are allowed again
        with pytest.raises(Unauthenticated):
            signin.sign_in("jane@example.com", "wrong!", "10.0.0.2")
    # The address counts its 4 failures (not the success): 16 more from it, then it is locked.
    for n in range(16):
        with pytest.raises(Unauthenticated):
            signin.sign_in(f"guess{n}@example.com", "wrong!", "10.0.0.1")
    with pytest.raises(RateLimited) as locked:
        signin.sign_in("other@example.com", PASSWORD, "10.0.0.1")
    assert locked.value.headers["RateLimit-Limit"] == "20"
    assert "from this address" in locked.value.message
