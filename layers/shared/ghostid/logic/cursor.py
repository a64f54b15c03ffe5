"""Opaque, signed cursors: a client can walk pages, but cannot forge a cursor into another site's data or
another query (a forged, altered or foreign cursor is a 400)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from ghostid.errors import InvalidParameter
from ghostid.settings import cursor_secret

_TAG_BYTES = 16


def _scope(route: str, site_id: int, query: dict[str, Any]) -> bytes:
    """What a cursor is bound to: the route, the site and every other parameter of the query."""
    return json.dumps([route, site_id, sorted(query.items())], separators=(",", ":"), default=str).encode()


def encode(route: str, site_id: int, query: dict[str, Any], position: Any) -> str:
    body = json.dumps(position, separators=(",", ":"), ensure_ascii=False).encode()
    tag = hmac.new(cursor_secret(), _scope(route, site_id, query) + b"\0" + body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(tag[:_TAG_BYTES] + body).decode().rstrip("=")


def decode(route: str, site_id: int, query: dict[str, Any], cursor: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raise _invalid() from None
    tag, body = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
    expected = hmac.new(
        cursor_secret(), _scope(route, site_id, query) + b"\0" + body, hashlib.sha256
    ).digest()
    if len(raw) <= _TAG_BYTES or not hmac.compare_digest(tag, expected[:_TAG_BYTES]):
        raise _invalid()
    try:
        return json.loads(body)
    except ValueError:
        raise _invalid() from None


def _invalid() -> InvalidParameter:
    return InvalidParameter(
        "cursor is not one this route returned for this site and query: start again without it."
    )
