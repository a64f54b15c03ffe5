"""Counts DynamoDB requests and capacity units from botocore's own events, as a proxy would see them.

Every request asks for `ReturnConsumedCapacity=TOTAL`; the units are DynamoDB's (Local's) own answer.
Each request and its units are also attributed, so a miss can be explained:
- to an operation and an item kind (`cell.first`, `node.P`, `visitor.registry`...; batches split their
  units over the kinds by the bytes of the items they carried), from the key layouts in `ghostid.dal`;
- to the innermost `scope` open at the time (the bench opens scopes around the consumer's and the
  sealer's steps, see `bench.harness.label_steps`).

DynamoDB Local reports no units for keys of a BatchGetItem that do not exist and for a Query that finds
nothing; DynamoDB bills each the minimum read (0.5 RCU, 1 if strongly consistent). The meter adds those
minimums (`Usage.rcu_minimums` says how much of `rcu` they are).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ghostid.dal.codec import item_size

WITH_CAPACITY = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
}

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


def consumed_units(response: dict[str, Any]) -> float:
    """Capacity units DynamoDB reports in a response (one entry, or one per table for batches)."""
    consumed = response.get("ConsumedCapacity")
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    return sum(float(entry.get("CapacityUnits", 0.0)) for entry in entries)


def item_kind(pk: str, sk: str = "") -> str:
    """What a rollups-table key holds (see the key layouts in ghostid/dal); other tables by their name."""
    parts = pk.split("#")
    if len(parts) >= 3 and parts[1] == "C":
        return "cell.first" if sk.startswith("s#") else "cell.later"
    if len(parts) >= 3 and parts[1] == "N":
        return f"node.{parts[2]}"
    if len(parts) >= 3 and parts[1] == "X":
        return f"presence.{parts[2]}"
    if len(parts) >= 3 and parts[1] == "V":
        return "visitor.head" if sk == "v" else "visitor.registry"
    if len(parts) == 2 and parts[1] == "A":
        return "state" if sk == "state" else "answer"
    if len(parts) == 2 and parts[1] == "R":
        return "realtime"
    return "event" if len(parts) == 2 else "other"


def _table_kind(table: str, pk: str, sk: str) -> str:
    if "Rollups" in table:
        return item_kind(pk, sk)
    if "Events" in table:
        return "event"
    if "Sites" in table:
        return "site"
    if "Sessions" in table:
        return "login"
    return table


def _key_of(item: dict[str, Any]) -> tuple[str, str]:
    return item.get("pk", {}).get("S", ""), item.get("sk", {}).get("S", "")


@dataclass
class Usage:
    requests: Counter[str] = field(default_factory=Counter)
    rcu: float = 0.0
    wcu: float = 0.0
    rcu_minimums: float = 0.0
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0, 0.0]))
    by_scope: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0, 0.0]))

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def add(self, other: Usage) -> None:
        self.requests.update(other.requests)
        self.rcu += other.rcu
        self.wcu += other.wcu
        self.rcu_minimums += other.rcu_minimums
        for mine, theirs in ((self.by_kind, other.by_kind), (self.by_scope, other.by_scope)):
            for name, (requests, rcu, wcu) in theirs.items():
                entry = mine[name]
                entry[0] += requests
                entry[1] += rcu
                entry[2] += wcu

    def scope_usage(self, prefix: str) -> tuple[float, float, int]:
        """(rcu, wcu, requests) of every scope whose name starts with `prefix`."""
        found = [v for name, v in self.by_scope.items() if name.startswith(prefix)]
        return sum(v[1] for v in found), sum(v[2] for v in found), int(sum(v[0] for v in found))

    def only(self, prefix: str, label: str) -> Usage:
        """The scopes whose name starts with `prefix`, their requests counted under `label` (which operations
        and item kinds they were is not kept)."""
        kept = Usage()
        for name, (requests, rcu, wcu) in self.by_scope.items():
            if name.startswith(prefix):
                kept.by_scope[name] = [requests, rcu, wcu]
                kept.requests[label] += int(requests)
                kept.rcu += rcu
                kept.wcu += wcu
        return kept

    def describe(self, top: int = 8) -> str:
        """Where the units went: operations, then the largest item kinds and scopes."""
        ops = ", ".join(f"{op} {count}" for op, count in sorted(self.requests.items()))
        lines = [f"{self.total_requests} requests ({ops}), {self.rcu:.1f} RCU, {self.wcu:.1f} WCU"]
        for title, table in (("item kind", self.by_kind), ("step", self.by_scope)):
            ranked = sorted(table.items(), key=lambda kv: -(kv[1][1] + kv[1][2]))[:top]
            shown = "; ".join(f"{k}: {int(v[0])} req, {v[1]:.1f} RCU, {v[2]:.1f} WCU" for k, v in ranked)
            lines.append(f"  by {title}: {shown}")
        return "\n".join(lines)


_quiet = threading.local()


@contextmanager
def quiet() -> Iterator[None]:
    """Requests this thread makes inside are not counted (setting up, bulk loading). Nests."""
    before = getattr(_quiet, "on", False)
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = before


class Meter:
    """Hooks one botocore client (the product's, `ghostid.dal.client.dynamodb()`)."""

    def __init__(self, client: Any) -> None:
        self.usage = Usage()
        self._lock = threading.Lock()
        self._scopes: list[str] = []
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", self._ask_for_capacity)
        events.register("before-parameter-build.dynamodb.*", self._remember)
        events.register("after-call.dynamodb.*", self._after)

    def reset(self) -> Usage:
        with self._lock:
            used, self.usage = self.usage, Usage()
        return used

    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Attributes every request made until the block ends (from any thread) to `name`."""
        self._scopes.append(name)
        try:
            yield
        finally:
            self._scopes.pop()

    def wrap(self, fn: Callable[..., Any], name: str | Callable[..., str]) -> Callable[..., Any]:
        def scoped(*args: Any, **kwargs: Any) -> Any:
            label = name(*args, **kwargs) if callable(name) else name
            with self.scope(label):
                return fn(*args, **kwargs)

        return scoped

    def _ask_for_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in WITH_CAPACITY:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = dict(params)

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if getattr(_quiet, "on", False):
            return
        units = consumed_units(parsed) if "Error" not in parsed else 0.0
        minimums = _billed_minimums(model.name, context.get("bench_params", {}), parsed)
        units += minimums
        shares = _kind_shares(model.name, context.get("bench_params", {}), parsed)
        scope = self._scopes[-1] if self._scopes else "-"
        read = model.name in READS
        with self._lock:
            usage = self.usage
            usage.requests[model.name] += 1
            if read:
                usage.rcu += units
                usage.rcu_minimums += minimums
            else:
                usage.wcu += units
            entry = usage.by_scope[scope]
            entry[0] += 1
            entry[1 if read else 2] += units
            for number, (kind, share) in enumerate(shares.items()):
                kind_entry = usage.by_kind[kind]
                kind_entry[0] += 1 if number == 0 else 0
                kind_entry[1 if read else 2] += units * share


def _billed_minimums(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> float:
    """What DynamoDB bills and DynamoDB Local leaves out: the minimum read of each requested key that does
    not exist (BatchGetItem) and of a Query that finds nothing."""
    if "Error" in parsed:
        return 0.0
    if operation == "Query" and not parsed.get("ScannedCount") and not consumed_units(parsed):
        return 1.0 if params.get("ConsistentRead") else 0.5
    if operation != "BatchGetItem":
        return 0.0
    billed = 0.0
    for table, request in (params.get("RequestItems") or {}).items():
        returned = len((parsed.get("Responses") or {}).get(table, []))
        unprocessed = len(((parsed.get("UnprocessedKeys") or {}).get(table) or {}).get("Keys", []))
        missing = len(request.get("Keys", [])) - returned - unprocessed
        billed += missing * (1.0 if request.get("ConsistentRead") else 0.5)
    return billed


def _kind_shares(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> dict[str, float]:
    """Item kinds a request touched, each with its share of the request's units (by bytes)."""
    sizes: dict[str, float] = defaultdict(float)
    if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        key = params.get("Key") or params.get("Item") or {}
        sizes[_table_kind(params.get("TableName", ""), *_key_of(key))] = 1.0
    elif operation in ("Query", "Scan"):
        if params.get("IndexName"):
            sizes[f"index.{params['IndexName']}"] = 1.0
        else:
            values = params.get("ExpressionAttributeValues", {})
            pk = values.get(":pk", {}).get("S", "")
            items = parsed.get("Items") or []
            sk = items[0].get("sk", {}).get("S", "") if items else ""
            sizes[_table_kind(params.get("TableName", ""), pk, sk)] = 1.0
    elif operation == "BatchGetItem":
        for table, items in (parsed.get("Responses") or {}).items():
            for item in items:
                sizes[_table_kind(table, *_key_of(item))] += item_size(item)
        if not sizes:
            for table, request in (params.get("RequestItems") or {}).items():
                for key in request.get("Keys", []):
                    sizes[_table_kind(table, *_key_of(key))] += 1
    elif operation == "BatchWriteItem":
        for table, requests in (params.get("RequestItems") or {}).items():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get(
                    "Key"
                )
                sizes[_table_kind(table, *_key_of(item or {}))] += item_size(item or {}) or 1
    total = sum(sizes.values()) or 1.0
    return {kind: size / total for kind, size in sizes.items()} or {"other": 1.0}
