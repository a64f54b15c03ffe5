"""API keys (PRODUCT §13): `gk_` + 256 random bits, shown once; only the key's SHA-256 is stored."""

from __future__ import annotations

import secrets

from ghostid.dal import apikeys as apikeys_dal
from ghostid.logic.auth import API_KEY_PREFIX, hash_token
from ghostid.models.credentials import ApiKey


class KeyNameTaken(Exception):
    """The site already has a live key of that name."""


def create_key(site_id: int, name: str, now_ms: int) -> str:
    """A new key for the site; returns it (the only time it is ever shown)."""
    key = ApiKey(site_id=site_id, name=name, created_at=now_ms)  # validates the name
    if any(k.name == name and k.revoked_at is None for k in apikeys_dal.site_keys(site_id)):
        raise KeyNameTaken(name)
    token = API_KEY_PREFIX + secrets.token_urlsafe(32)
    apikeys_dal.put_api_key(hash_token(token), key)
    return token


def list_keys(site_id: int) -> list[ApiKey]:
    return apikeys_dal.site_keys(site_id)


def revoke_key(site_id: int, name: str, now_ms: int) -> int:
    """Revokes the site's live keys of that name; how many (0: none)."""
    return apikeys_dal.revoke_api_keys(site_id, name, now_ms)
