"""Webhook signing secrets, encrypted at rest.

Signing needs the secret itself (HMAC), so it cannot be stored as a hash the way login tokens and API
keys are. It is encrypted instead, with an encryption context naming its site and webhook (a ciphertext
copied onto another webhook's item does not decrypt):

- deployed, `WEBHOOK_KEY_ID` is a KMS key: `ghostid webhook add` calls kms:Encrypt with the operator's
  credentials; only the sender function may call kms:Decrypt, and only with this context's purpose;
- on the local stack, `WEBHOOK_KEY_ID=file:<path>`: AES-256-GCM with a key kept in that file (created
  on first use, mode 0600, in the local state folder), the context as associated data.

A copy of the table alone therefore never reveals a secret.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from ghostid.settings import webhook_key_id

PURPOSE = "ghostid-webhook-secret"
_KMS, _FILE = b"k1:", b"f1:"
_NONCE_BYTES = 12


class SecretUnavailable(RuntimeError):
    """The secret cannot be decrypted with this stack's key (wrong key, wrong item, or tampered)."""


def _context(site_id: int, webhook_id: str) -> dict[str, str]:
    return {"purpose": PURPOSE, "site_id": str(site_id), "webhook_id": webhook_id}


def _key_file() -> Path | None:
    key_id = webhook_key_id()
    return Path(key_id.removeprefix("file:")) if key_id.startswith("file:") else None


@cache
def kms() -> Any:
    import botocore.session
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=5)
    return botocore.session.get_session().create_client("kms", config=config)


def seal(secret: str, site_id: int, webhook_id: str) -> bytes:
    """The secret encrypted for one webhook."""
    context = _context(site_id, webhook_id)
    path = _key_file()
    if path is None:
        blob = kms().encrypt(KeyId=webhook_key_id(), Plaintext=secret.encode(), EncryptionContext=context)
        return _KMS + bytes(blob["CiphertextBlob"])
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE_BYTES)
    return _FILE + nonce + AESGCM(_local_key(path)).encrypt(nonce, secret.encode(), _aad(context))


def unseal(sealed: bytes, site_id: int, webhook_id: str) -> str:
    """The secret of one webhook; SecretUnavailable when this stack's key cannot decrypt it."""
    context = _context(site_id, webhook_id)
    path = _key_file()
    try:
        if sealed.startswith(_KMS) and path is None:
            blob = sealed.removeprefix(_KMS)
            plain = kms().decrypt(CiphertextBlob=blob, KeyId=webhook_key_id(), EncryptionContext=context)
            return bytes(plain["Plaintext"]).decode()
        if sealed.startswith(_FILE) and path is not None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            body = sealed.removeprefix(_FILE)
            nonce, ciphertext = body[:_NONCE_BYTES], body[_NONCE_BYTES:]
            return AESGCM(_local_key(path)).decrypt(nonce, ciphertext, _aad(context)).decode()
    except Exception as error:  # KMS's InvalidCiphertextException, cryptography's InvalidTag, ...
        raise SecretUnavailable(f"the secret of webhook {webhook_id} cannot be decrypted ({error})") from None
    raise SecretUnavailable(f"the secret of webhook {webhook_id} was sealed with another kind of key")


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True).encode()


def _local_key(path: Path) -> bytes:
    """The local stack's key: 32 random bytes, created once (0600) by whichever process needs it first
    (written aside, then linked into place: a reader never sees a half-written key)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # A draft of its own (threads share a pid): truncating another's linked draft would change the key.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(8).hex()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    key = path.read_bytes()
    if len(key) != 32:
        raise SecretUnavailable(f"{path} is not a 32-byte key")
    return key
