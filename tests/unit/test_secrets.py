"""Webhook secrets at rest: never in clear, bound to their webhook, with KMS (moto) and with the local
stack's key file."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from ghostid import settings
from ghostid.dal import secrets

SECRET = "whsec_abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "state" / "webhook-secrets.key"
    monkeypatch.setenv("WEBHOOK_KEY_ID", f"file:{path}")
    settings.clear_cache()
    yield path
    settings.clear_cache()


def test_the_local_key_file_is_made_once_readable_by_its_owner_only(key_file: Path) -> None:
    sealed = secrets.seal(SECRET, 4, "wh_1")
    assert SECRET.encode() not in sealed and SECRET[6:].encode() not in sealed
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    key = key_file.read_bytes()
    assert secrets.unseal(secrets.seal(SECRET, 4, "wh_1"), 4, "wh_1") == SECRET
    assert key_file.read_bytes() == key  # not replaced
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]  # no draft left behind


def test_a_sealed_secret_is_bound_to_its_webhook_and_tamper_evident(key_file: Path) -> None:
    sealed = secrets.seal(SECRET, 4, "wh_1")
    assert secrets.unseal(sealed, 4, "wh_1") == SECRET
    for site, webhook in ((4, "wh_2"), (5, "wh_1")):
        with pytest.raises(secrets.SecretUnavailable):
            secrets.unseal(sealed, site, webhook)
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(secrets.SecretUnavailable):
        secrets.unseal(flipped, 4, "wh_1")


def test_another_key_file_cannot_open_it(key_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = secrets.seal(SECRET, 4, "wh_1")
    monkeypatch.setenv("WEBHOOK_KEY_ID", f"file:{key_file.parent / 'other.key'}")
    settings.clear_cache()
    with pytest.raises(secrets.SecretUnavailable):
        secrets.unseal(sealed, 4, "wh_1")


def test_processes_racing_to_make_the_key_share_one(key_file: Path) -> None:
    barrier = threading.Barrier(8)
    sealed: list[bytes] = []

    def seal() -> None:
        barrier.wait()
        sealed.append(secrets.seal(SECRET, 4, "wh_1"))

    threads = [threading.Thread(target=seal) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [secrets.unseal(blob, 4, "wh_1") for blob in sealed] == [SECRET] * 8
    assert os.listdir(key_file.parent) == [key_file.name]


@pytest.mark.usefixtures("alerts_aws")
def test_with_kms_the_ciphertext_needs_the_key_and_the_context(monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = secrets.seal(SECRET, 4, "wh_1")
    assert sealed.startswith(b"k1:") and SECRET.encode() not in sealed
    assert secrets.unseal(sealed, 4, "wh_1") == SECRET
    with pytest.raises(secrets.SecretUnavailable):
        secrets.unseal(sealed, 4, "wh_2")
    monkeypatch.setenv("WEBHOOK_KEY_ID", "file:/nonexistent/key")  # a stack without that KMS key
    settings.clear_cache()
    with pytest.raises(secrets.SecretUnavailable, match="another kind of key"):
        secrets.unseal(sealed, 4, "wh_1")
