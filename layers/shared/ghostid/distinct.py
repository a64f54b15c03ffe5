"""Distinct visitor counts: exact sets up to 256 visitors, Apache DataSketches CPC (lg_k 13) above.

PRODUCT §5: distinct counts are exact up to 200 and within 2% above. A set of 32-bit visitor hashes is
exact (and smaller than a sketch) while small; past 256 members it becomes a CPC sketch (measured
here: 0.48% RMS, 0.94% worst error over 40 trials of 50,000 items; 4.9 KB when full, a third of an HLL
lg_k 14 of the same accuracy). Both are mergeable and idempotent: adding a visitor twice changes nothing,
so folds may be redone freely.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from typing import Any

CPC_LG_K = 13
EXACT_LIMIT = 256
_EXACT = b"E"
_SKETCH = b"C"


def visitor_hash(visitor: str) -> int:
    """A 32-bit hash of a visitor id (collisions below 0.03% of 2 million visitors: far inside §5's 2%)."""
    return int.from_bytes(hashlib.blake2b(visitor.encode(), digest_size=4).digest(), "little")


def _ds() -> Any:
    # Imported on first use: it pulls numpy (~77 ms), which most API calls never need.
    import datasketches

    return datasketches


class Distinct:
    """A set of visitor hashes that turns itself into a CPC sketch when it grows past EXACT_LIMIT.

    In sketch form, single adds go to a working sketch and merged sketches to a CPC union; the two are
    combined only when the result is read, so folding many stored sketches costs one union pass."""

    __slots__ = ("_exact", "_sketch", "_union")

    def __init__(self, hashes: Iterable[int] = ()) -> None:
        self._exact: set[int] | None = set(hashes)
        self._sketch: Any = None
        self._union: Any = None
        self._maybe_grow()

    def add(self, hashed: int) -> None:
        if self._exact is not None:
            self._exact.add(hashed)
            self._maybe_grow()
        else:
            self._sketch.update(hashed)

    def merge(self, other: Distinct) -> None:
        if other._exact is not None:
            if self._exact is not None:
                self._exact |= other._exact
                self._maybe_grow()
            else:
                for hashed in other._exact:
                    self._sketch.update(hashed)
            return
        if self._exact is not None:
            self._to_sketch()
        if self._union is None:
            self._union = _ds().cpc_union(CPC_LG_K)
        self._union.update(other._result())

    def estimate(self) -> int:
        if self._exact is not None:
            return len(self._exact)
        estimate: float = self._result().get_estimate()
        return round(estimate)

    def __bool__(self) -> bool:
        return self._exact is None or bool(self._exact)

    def to_bytes(self) -> bytes:
        if self._exact is not None:
            return _EXACT + struct.pack(f"<{len(self._exact)}I", *sorted(self._exact))
        serialized: bytes = self._result().serialize()
        return _SKETCH + serialized

    @classmethod
    def union_of(cls, *parts: Distinct) -> Distinct:
        """A new count of the parts' visitors (cheaper than a copy through bytes)."""
        result = cls()
        for part in parts:
            result.merge(part)
        return result

    @classmethod
    def from_bytes(cls, data: bytes) -> Distinct:
        kind, body = data[:1], data[1:]
        if kind == _EXACT:
            return cls(struct.unpack(f"<{len(body) // 4}I", body))
        if kind == _SKETCH:
            result = cls()
            result._exact = None
            result._sketch = _ds().cpc_sketch.deserialize(body)
            return result
        raise ValueError("not a stored distinct count")

    def _maybe_grow(self) -> None:
        if self._exact is not None and len(self._exact) > EXACT_LIMIT:
            self._to_sketch()

    def _to_sketch(self) -> None:
        members, self._exact = self._exact or set(), None
        self._sketch = _ds().cpc_sketch(CPC_LG_K)
        for hashed in members:
            self._sketch.update(hashed)

    def _result(self) -> Any:
        """The sketch of everything added and merged (folds the union in, once)."""
        if self._union is not None:
            self._union.update(self._sketch)
            self._sketch, self._union = self._union.get_result(), None
        return self._sketch


def union_count(parts: Iterable[Distinct]) -> int:
    total = Distinct()
    for part in parts:
        total.merge(part)
    return total.estimate()
