"""One request counted on a credential's own item, in the write that also checks the credential is usable.

A fixed one-minute window on the item: `w` is the minute (epoch seconds // 60), `c` the requests counted
in it. DynamoDB's update expressions have no if/else, so there are two conditional UpdateItems:

- same window: `ADD c 1` if the credential is valid, `w` is this minute and `c` is below the limit;
- new window: `SET w = minute, c = 1` (plus the caller's extras, e.g. `last_used`) if the credential is
  valid and `w` is older.

Which one to try first is guessed from the minute this process last counted the credential in, so a
warm instance nearly always needs one request (1 WCU, no RCU). A wrong guess (another instance opened
the window) costs a second request. A refused write returns the old item, which says why it was
refused (gone, revoked or expired: invalid; this minute at the limit: limited; else: the other write),
so no read is ever needed. Counting in DynamoDB is what makes the limit hold across instances.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ghostid.dal.client import dynamodb
from ghostid.dal.codec import n

WINDOW = "#w"
COUNT = "#c"
_NAMES = {WINDOW: "w", COUNT: "c"}
_ATTEMPTS = 4
_REMEMBERED = 10_000
# Credential key -> the minute this process last counted it in (only a guess of which write to try first).
_last_minute: dict[str, int] = {}


class Outcome(Enum):
    COUNTED = "counted"
    LIMITED = "limited"  # at the limit in this minute; not counted
    INVALID = "invalid"  # no such credential, or revoked or expired


@dataclass(frozen=True)
class Validity:
    """When a credential may be used: as a DynamoDB condition (checked in the write itself) and as the
    same test in Python (to tell why a refused write was refused)."""

    condition: str
    values: Mapping[str, Any]
    holds: Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Count:
    outcome: Outcome
    count: int  # requests counted in `minute`, this one included when counted
    minute: int
    item: Mapping[str, Any] | None  # the credential's wire item (the dal modules turn it into a model)


def count_request(
    table: str,
    key: Mapping[str, Any],
    validity: Validity,
    minute: int,
    limit: int,
    on_new_window: Mapping[str, Any] | None = None,
) -> Count:
    """Counts one request on the credential at `key` (see the module's docstring)."""
    remembered = f"{table}/{next(iter(key.values()))}"
    new_window = _last_minute.get(remembered) != minute
    for _ in range(_ATTEMPTS):
        if new_window:
            counted, item = _open_window(table, key, validity, minute, on_new_window or {})
        else:
            counted, item = _count_in_window(table, key, validity, minute, limit)
        if counted:
            _remember(remembered, minute)
            return Count(Outcome.COUNTED, int(item["c"]["N"]), minute, item)
        if not item or not validity.holds(item):
            return Count(Outcome.INVALID, 0, minute, None)
        stored_minute, stored_count = int(item.get("w", n(-1))["N"]), int(item.get("c", n(0))["N"])
        if stored_minute == minute and stored_count >= limit:
            _remember(remembered, minute)
            return Count(Outcome.LIMITED, stored_count, minute, item)
        # The window is not the one we thought: another instance opened it, or its clock is a little
        # ahead of ours (then count in its window rather than move the window back).
        minute = max(minute, stored_minute)
        new_window = stored_minute < minute
    raise RuntimeError("the credential's request counter kept changing under us")


def _open_window(
    table: str, key: Mapping[str, Any], validity: Validity, minute: int, extra: Mapping[str, Any]
) -> tuple[bool, dict[str, Any]]:
    sets = ", ".join([f"{WINDOW} = :minute", f"{COUNT} = :one", *(f"{k} = :set_{k}" for k in extra)])
    return _update(
        table,
        key,
        update=f"SET {sets}",
        condition=f"{validity.condition} AND (attribute_not_exists({WINDOW}) OR {WINDOW} < :minute)",
        values={**validity.values, ":minute": n(minute), ":one": n(1)}
        | {f":set_{k}": v for k, v in extra.items()},
    )


def _count_in_window(
    table: str, key: Mapping[str, Any], validity: Validity, minute: int, limit: int
) -> tuple[bool, dict[str, Any]]:
    return _update(
        table,
        key,
        update=f"ADD {COUNT} :one",
        condition=f"{validity.condition} AND {WINDOW} = :minute AND {COUNT} < :limit",
        values={**validity.values, ":minute": n(minute), ":one": n(1), ":limit": n(limit)},
    )


def _update(
    table: str, key: Mapping[str, Any], *, update: str, condition: str, values: Mapping[str, Any]
) -> tuple[bool, dict[str, Any]]:
    """(True, the new item) when the write happened, else (False, the item as it was, {} if none)."""
    client = dynamodb()
    try:
        response = client.update_item(
            TableName=table,
            Key=dict(key),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues=dict(values),
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as refused:
        old: dict[str, Any] = refused.response.get("Item") or {}  # type: ignore[assignment]
        return False, old
    return True, dict(response["Attributes"])


def forget_windows() -> None:
    """Forget which minute each credential was last counted in, as a new instance would (tests)."""
    _last_minute.clear()


def _remember(remembered: str, minute: int) -> None:
    if len(_last_minute) >= _REMEMBERED:
        _last_minute.clear()
    _last_minute[remembered] = minute
