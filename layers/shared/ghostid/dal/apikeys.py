"""API keys, keyed by the SHA-256 of the key (`gk_...`, never stored); index `BySite` lists a site's keys.

An item: `key_hash`, `site_id`, `name`, `created_at` and `last_used` (epoch ms; `last_used` moves in the
write that opens a new rate-limit minute, so at most once a minute), `revoked_at` once revoked, and the
request counter of its rate limit (`w`, `c`: see `ghostid.dal.usage`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ghostid.dal.client import dynamodb, query_all
from ghostid.dal.codec import n, s
from ghostid.dal.usage import Outcome, Validity, count_request
from ghostid.models.credentials import ApiKey
from ghostid.settings import api_keys_table

BY_SITE = "BySite"
_VALID = Validity(
    condition="attribute_exists(key_hash) AND attribute_not_exists(revoked_at)",
    values={},
    holds=lambda item: "revoked_at" not in item,
)


def put_api_key(key_hash: str, key: ApiKey) -> None:
    dynamodb().put_item(
        TableName=api_keys_table(),
        Item={
            "key_hash": s(key_hash),
            "site_id": n(key.site_id),
            "name": s(key.name),
            "created_at": n(key.created_at),
        },
        ConditionExpression="attribute_not_exists(key_hash)",
    )


def count_key_request(
    key_hash: str, now_ms: int, minute: int, limit: int
) -> tuple[Outcome, int, ApiKey | None]:
    """Counts a request on a live key: (outcome, requests this minute, the key if it is live)."""
    count = count_request(
        api_keys_table(), _key(key_hash), _VALID, minute, limit, on_new_window={"last_used": n(now_ms)}
    )
    return count.outcome, count.count, _api_key(count.item) if count.item else None


def site_keys(site_id: int) -> list[ApiKey]:
    """Every key of the site, revoked ones too, by name."""
    return sorted((_api_key(item) for item in _items(_hashes(site_id))), key=lambda k: (k.name, k.created_at))


def revoke_api_keys(site_id: int, name: str, now_ms: int) -> int:
    """Revokes the site's live keys of that name (at once: their next request is a 401); how many."""
    client = dynamodb()
    revoked = 0
    for key_hash in _hashes(site_id, name):
        try:
            client.update_item(
                TableName=api_keys_table(),
                Key=_key(key_hash),
                UpdateExpression="SET revoked_at = :now",
                ConditionExpression="attribute_exists(key_hash) AND attribute_not_exists(revoked_at)",
                ExpressionAttributeValues={":now": n(now_ms)},
            )
            revoked += 1
        except client.exceptions.ConditionalCheckFailedException:
            continue  # already revoked
    return revoked


def _hashes(site_id: int, name: str | None = None) -> list[str]:
    condition, values = "site_id = :site", {":site": n(site_id)}
    if name is not None:
        condition, values = f"{condition} AND #name = :name", {**values, ":name": s(name)}
    request: dict[str, Any] = {
        "TableName": api_keys_table(),
        "IndexName": BY_SITE,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
    }
    if name is not None:
        request["ExpressionAttributeNames"] = {"#name": "name"}
    return [item["key_hash"]["S"] for item in query_all(request)]


def _items(key_hashes: list[str]) -> Iterator[dict[str, Any]]:
    table = api_keys_table()
    for start in range(0, len(key_hashes), 100):
        pending: dict[str, Any] = {table: {"Keys": [_key(h) for h in key_hashes[start : start + 100]]}}
        while pending:
            response = dynamodb().batch_get_item(RequestItems=pending)
            yield from response.get("Responses", {}).get(table, [])
            pending = response.get("UnprocessedKeys") or {}


def _key(key_hash: str) -> dict[str, Any]:
    return {"key_hash": s(key_hash)}


def _api_key(item: Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        site_id=int(item["site_id"]["N"]),
        name=item["name"]["S"],
        created_at=int(item["created_at"]["N"]),
        last_used=int(item["last_used"]["N"]) if "last_used" in item else None,
        revoked_at=int(item["revoked_at"]["N"]) if "revoked_at" in item else None,
    )
