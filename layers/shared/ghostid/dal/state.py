"""A site's rollup state and its precomputed answers: partition `<site>#A`.

- `state`: `g` (moved by every batch the consumer applies), `tz` (the zone the rollups are built in),
  `mv` (the rollup model version), `until` (every node of a period ending by this instant is built:
  days, weeks and months, and for a `big` site hours too), `claim` (a sealer is building up to this
  instant: a batch that changes anything before it marks it dirty), `dirty` (periods that changed after
  they were sealed, `H:<hour ms>` or `D:<date>` -> the generation that marked them, or for a day whose
  rebuild waits a token unique to the sealing run that deferred it), `big` (the site keeps
  hour nodes, the current hour's node and the prefixes: reading its cells would cost too much), `lf` the
  lead lists' format (`dal.visitors.LISTS_FORMAT`; absent: 1), written when the state starts and by a
  rebuild, so a site's lists are in it from then on.
- `a#<preset>`: GET /api/stats answers (`g` the generation they were computed at, `w` their period,
  `b` the body as zlib JSON). A reader fetches the state and one answer in one BatchGetItem.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from ghostid.dal.client import batch_get, dynamodb, put_if, update_if
from ghostid.dal.codec import n
from ghostid.dal.visitors import LISTS_FORMAT
from ghostid.settings import rollups_table

MODEL_VERSION = 2
STATE = "state"


def partition(site_id: int) -> str:
    return f"{site_id}#A"


@dataclass
class SiteState:
    gen: int = 0
    timezone: str | None = None
    model: int = 0
    until: int | None = None
    claim: int | None = None
    dirty: dict[str, int] = field(default_factory=dict)
    big: bool = False
    since: int | None = None  # a big site keeps hour, week and month nodes of periods from this instant on
    lists_format: int = 1

    def has_fine_nodes(self, start: int) -> bool:
        """Hour, week and month nodes exist for a big site's periods since it became big."""
        return self.big and self.since is not None and start >= self.since

    @property
    def settled_until(self) -> int | None:
        """Before this instant every change is either in the nodes or marked dirty."""
        return max(filter(None, (self.until, self.claim)), default=None)


@dataclass
class StoredAnswer:
    gen: int
    window: str
    body: dict[str, Any]


def decode_state(item: dict[str, Any] | None) -> SiteState:
    if item is None:
        return SiteState()
    return SiteState(
        gen=int(item.get("g", {}).get("N", "0")),
        timezone=item.get("tz", {}).get("S"),
        model=int(item.get("mv", {}).get("N", "0")),
        until=int(item["until"]["N"]) if "until" in item else None,
        claim=int(item["claim"]["N"]) if "claim" in item else None,
        dirty={k: int(v["N"]) for k, v in item.get("dirty", {}).get("M", {}).items()},
        big=item.get("big", {}).get("BOOL", False),
        since=int(item["since"]["N"]) if "since" in item else None,
        lists_format=int(item.get("lf", {}).get("N", "1")),
    )


def _key(site_id: int) -> dict[str, Any]:
    return {"pk": {"S": partition(site_id)}, "sk": {"S": STATE}}


def get_state(site_id: int, consistent: bool = True) -> SiteState:
    item = (
        dynamodb()
        .get_item(TableName=rollups_table(), Key=_key(site_id), ConsistentRead=consistent)
        .get("Item")
    )
    return decode_state(item)


def state_and_answer(site_id: int, preset: str | None) -> tuple[SiteState, StoredAnswer | None]:
    """The state and (when asked) one stored answer, in one request."""
    pk = partition(site_id)
    keys = [(pk, STATE)] + ([(pk, f"a#{preset}")] if preset else [])
    found = batch_get(rollups_table(), keys)
    answer = found.get((pk, f"a#{preset}")) if preset else None
    stored = None
    if answer is not None:
        stored = StoredAnswer(
            int(answer["g"]["N"]), answer["w"]["S"], json.loads(zlib.decompress(bytes(answer["b"]["B"])))
        )
    return decode_state(found.get((pk, STATE))), stored


def put_answer(site_id: int, preset: str, answer: StoredAnswer) -> bool:
    """Stores an answer unless one computed at a later generation is there."""
    body = zlib.compress(json.dumps(answer.body, separators=(",", ":"), ensure_ascii=False).encode())
    return put_if(
        {
            "TableName": rollups_table(),
            "Item": {
                "pk": {"S": partition(site_id)},
                "sk": {"S": f"a#{preset}"},
                "g": n(answer.gen),
                "w": {"S": answer.window},
                "b": {"B": body},
            },
            "ConditionExpression": "attribute_not_exists(g) OR g <= :g",
            "ExpressionAttributeValues": {":g": n(answer.gen)},
        }
    )


def advance(site_id: int, timezone: str) -> SiteState:
    """After a batch's writes: moves the generation (answers computed before are now behind). Returns the
    state after the update, whose `settled_until` tells which changed periods must be marked dirty."""
    response = dynamodb().update_item(
        TableName=rollups_table(),
        Key=_key(site_id),
        UpdateExpression="ADD g :one SET tz = if_not_exists(tz, :tz), mv = if_not_exists(mv, :mv), "
        "dirty = if_not_exists(dirty, :empty)",
        ExpressionAttributeValues={
            ":one": n(1),
            ":tz": {"S": timezone},
            ":mv": n(MODEL_VERSION),
            ":empty": {"M": {}},
        },
        ReturnValues="ALL_NEW",
    )
    return decode_state(response["Attributes"])


def mark_dirty(site_id: int, periods: set[str], gen: int) -> None:
    names = {f"#p{i}": period for i, period in enumerate(sorted(periods))}
    dynamodb().update_item(
        TableName=rollups_table(),
        Key=_key(site_id),
        UpdateExpression="SET " + ", ".join(f"dirty.{name} = :g" for name in names),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={":g": n(gen)},
    )


def start_at(site_id: int, until: int) -> bool:
    """A site's first batch: nothing before `until` is expected (anything older arriving later is dirty)."""
    return (
        update_if(
            {
                "TableName": rollups_table(),
                "Key": _key(site_id),
                "UpdateExpression": "SET #u = :u, lf = :lf",
                "ConditionExpression": "attribute_not_exists(#u)",
                "ExpressionAttributeNames": {"#u": "until"},
                "ExpressionAttributeValues": {":u": n(until), ":lf": n(LISTS_FORMAT)},
            }
        )
        is not None
    )


def claim(site_id: int, seen: SiteState, up_to: int) -> bool:
    """Announces that nodes up to `up_to` are being built (so batches from now on mark their changes there
    dirty). False when another sealer moved the state first."""
    condition = "#u = :u" if seen.until is not None else "attribute_not_exists(#u)"
    values: dict[str, Any] = {":c": n(up_to)}
    if seen.until is not None:
        values[":u"] = n(seen.until)
    return (
        update_if(
            {
                "TableName": rollups_table(),
                "Key": _key(site_id),
                "UpdateExpression": "SET claim = :c",
                "ConditionExpression": condition + " AND (attribute_not_exists(claim) OR claim <= :c)",
                "ExpressionAttributeNames": {"#u": "until"},
                "ExpressionAttributeValues": values,
            }
        )
        is not None
    )


def settle(
    site_id: int,
    until: int | None,
    cleaned: dict[str, int],
    big: bool,
    since: int | None = None,
    marked: dict[str, int] | None = None,
) -> bool:
    """Records finished sealing work: everything before `until` is built, removes the dirty marks that
    were rebuilt (only if nobody marked them again meanwhile) and sets the `marked` ones (periods whose
    rebuild waits)."""
    assert not (marked or {}).keys() & cleaned.keys()
    names: dict[str, str] = {"#u": "until"}
    values: dict[str, Any] = {":big": {"BOOL": big}}
    conditions, removes = [], []
    for i, (period, gen) in enumerate(sorted(cleaned.items())):
        names[f"#d{i}"] = period
        values[f":d{i}"] = n(gen)
        conditions.append(f"dirty.#d{i} = :d{i}")
        removes.append(f"dirty.#d{i}")
    sets = ["big = :big"]
    for i, (period, gen) in enumerate(sorted((marked or {}).items())):
        names[f"#m{i}"] = period
        values[f":m{i}"] = n(gen)
        sets.append(f"dirty.#m{i} = :m{i}")
    if since is not None:
        values[":since"] = n(since)
        sets.append("since = :since")
    if until is not None:
        values[":u"] = n(until)
        sets.append("#u = :u")
        conditions.append("(attribute_not_exists(#u) OR #u <= :u)")
    request: dict[str, Any] = {
        "TableName": rollups_table(),
        "Key": _key(site_id),
        "UpdateExpression": "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if conditions:
        request["ConditionExpression"] = " AND ".join(conditions)
    return update_if(request) is not None


def reset(
    site_id: int, timezone: str, until: int | None, big: bool, gen: int, since: int | None = None
) -> None:
    """The state a rebuild leaves: built in `timezone`, every node before `until` built, nothing dirty."""
    item: dict[str, Any] = {
        "pk": {"S": partition(site_id)},
        "sk": {"S": STATE},
        "g": n(gen),
        "tz": {"S": timezone},
        "mv": n(MODEL_VERSION),
        "dirty": {"M": {}},
        "big": {"BOOL": big},
        "lf": n(LISTS_FORMAT),
    }
    if until is not None:
        item["until"] = n(until)
    if since is not None:
        item["since"] = n(since)
    dynamodb().put_item(TableName=rollups_table(), Item=item)
