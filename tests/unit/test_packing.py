"""`ghostid.dal.packing`: payloads round-trip, and their JSON is byte for byte what the standard library
writes (`separators=(",", ":"), ensure_ascii=False`), which earlier code used: items written before the
switch to orjson read the same, and items written now read with the standard library too."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest
from ghostid.dal.packing import PACK_VERSION, pack, unpack
from hypothesis import given
from hypothesis import strategies as st

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=12),  # unicode included: values are stored unescaped
)
payloads = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)
blob_lists = st.lists(st.binary(max_size=40), max_size=4)


def stdlib_pack(data: Any, blobs: list[bytes]) -> bytes:
    """The format as the standard library's JSON wrote it."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    body = struct.pack("<I", len(text)) + text + struct.pack("<I", len(blobs))
    body += b"".join(struct.pack("<I", len(blob)) + blob for blob in blobs)
    return bytes([PACK_VERSION]) + zlib.compress(body, 6)


@given(payloads, blob_lists)
def test_round_trip(data: Any, blobs: list[bytes]) -> None:
    assert unpack(pack(data, blobs)) == (data, blobs)


@given(payloads, blob_lists)
def test_same_bytes_as_the_standard_library(data: Any, blobs: list[bytes]) -> None:
    assert pack(data, blobs) == stdlib_pack(data, blobs)
    assert unpack(stdlib_pack(data, blobs)) == (data, blobs)


def test_a_newer_format_is_refused() -> None:
    payload = pack([1], [])
    with pytest.raises(ValueError, match="newer"):
        unpack(bytes([PACK_VERSION + 1]) + payload[1:])
