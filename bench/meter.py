"""Counts DynamoDB requests and capacity units from botocore's own events, as a proxy would see them."""

from __future__ import annotations

import math
import threading
from collections import Counter
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


@dataclass
class Usage:
    requests: Counter[str] = field(default_factory=Counter)
    rcu: float = 0.0
    wcu: float = 0.0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class Meter:
    """Hooks one boto3 client. DynamoDB Local under-reports transactions, so their write units are
    recomputed as DynamoDB bills them: twice the size (1 KB units) of every item written."""

    def __init__(self, client: Any, side_client: Any) -> None:
        self.usage = Usage()
        self._side = side_client
        self._lock = threading.Lock()
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", self._ask_for_capacity)
        events.register("before-parameter-build.dynamodb.*", self._remember)
        events.register("before-call.dynamodb.*", self._before)
        events.register("after-call.dynamodb.*", self._after)

    def reset(self) -> Usage:
        used, self.usage = self.usage, Usage()
        return used

    def _ask_for_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in WITH_CAPACITY:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["ghostid_params"] = dict(params)

    def _before(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.usage.requests[model.name] += 1

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if model.name == "TransactWriteItems":
            units = self._transaction_units(context["ghostid_params"]) if "Error" not in parsed else 0.0
        else:
            units = consumed_units(parsed)
        with self._lock:
            if model.name in READS:
                self.usage.rcu += units
            else:
                self.usage.wcu += units

    def _transaction_units(self, params: dict[str, Any]) -> float:
        units = 0.0
        for action in params["TransactItems"]:
            if "Put" in action:
                size = item_size(action["Put"]["Item"])
            else:
                ((kind, body),) = action.items()
                got = self._side.get_item(TableName=body["TableName"], Key=body["Key"], ConsistentRead=True)
                size = item_size(got.get("Item", {})) if kind != "ConditionCheck" else 0
            units += 2 * max(1, math.ceil(size / 1024)) if size else 0
        return units
