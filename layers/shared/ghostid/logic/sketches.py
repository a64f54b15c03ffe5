"""Distinct counts with Apache DataSketches HLL: mergeable, idempotent (re-adding changes nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ghostid.settings import HLL_LG_K


def _ds() -> Any:
    # Imported on first use: it pulls numpy (~77 ms), which the API handlers only pay when they merge.
    import datasketches

    return datasketches


def union_estimate(serialized: Iterable[bytes]) -> int:
    """Distinct count of the union; exact (rounded coupon estimate) for small sets."""
    ds = _ds()
    union = ds.hll_union(HLL_LG_K)
    empty = True
    for blob in serialized:
        union.update(ds.hll_sketch.deserialize(blob))
        empty = False
    return 0 if empty else round(union.get_estimate())


def of(values: Iterable[str]) -> bytes:
    """A new sketch holding `values`."""
    ds = _ds()
    sketch = ds.hll_sketch(HLL_LG_K, ds.tgt_hll_type.HLL_4)
    for value in values:
        sketch.update(value)
    blob: bytes = sketch.serialize_compact()
    return blob


def union(stored: bytes | None, incoming: bytes) -> bytes | None:
    """`stored` merged with `incoming`; None when `stored` already held everything (skip the write)."""
    if stored is None:
        return incoming
    ds = _ds()
    before = ds.hll_sketch.deserialize(stored).get_estimate()
    merged = ds.hll_union(HLL_LG_K)
    merged.update(ds.hll_sketch.deserialize(stored))
    merged.update(ds.hll_sketch.deserialize(incoming))
    result = merged.get_result(ds.tgt_hll_type.HLL_4)
    if result.get_estimate() == before:
        return None
    blob: bytes = result.serialize_compact()
    return blob
