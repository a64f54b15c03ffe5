"""`ghostid.dal.codec` converts values as boto3's TypeSerializer / TypeDeserializer do (it replaced them
so the handlers need not import boto3), plus its own two rules: floats go in as the Decimal of their
repr, numbers come out as int or float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from ghostid.dal import codec
from hypothesis import given
from hypothesis import strategies as st

SERIALIZER = TypeSerializer()
DESERIALIZER = TypeDeserializer()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**37), max_value=10**37),
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20),
    st.text(max_size=20),
    st.binary(max_size=20),
)
values = st.recursive(
    st.one_of(
        scalars,
        st.frozensets(st.text(max_size=5), max_size=4),
        st.frozensets(st.integers(min_value=-1000, max_value=1000), max_size=4),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def _plain(value: Any) -> Any:
    """What the codec promises on reading: int or float for numbers, bytes for binary."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return bytes(getattr(value, "value"))  # noqa: B009 (the stubs do not declare it)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return {_plain(v) for v in value}
    return value


@given(values)
def test_writes_what_boto3_writes(value: Any) -> None:
    assert codec.to_attribute(value) == SERIALIZER.serialize(value)


@given(values)
def test_reads_what_boto3_reads(value: Any) -> None:
    attribute = SERIALIZER.serialize(value)
    read = codec.from_attribute(dict(attribute))
    expected = _plain(DESERIALIZER.deserialize(attribute))
    assert read == expected
    assert type(read) is type(expected)


@pytest.mark.parametrize(("value", "number"), [(1.5, "1.5"), (0.1, "0.1"), (-2.0, "-2.0"), (1e-7, "1E-7")])
def test_floats_are_stored_as_the_decimal_of_their_repr(value: float, number: str) -> None:
    assert codec.to_attribute(value) == {"N": number}
    assert codec.to_item({"x": {"y": [value]}}) == {"x": {"M": {"y": {"L": [{"N": number}]}}}}


def test_items_skip_none_and_numbers_read_back_as_int_or_float() -> None:
    item = codec.to_item({"a": None, "n": 3, "f": 2.5, "s": "x"})
    assert item == {"n": {"N": "3"}, "f": {"N": "2.5"}, "s": {"S": "x"}}
    assert codec.from_item({**item, "e": {"N": "1E+2"}}) == {"n": 3, "f": 2.5, "s": "x", "e": 100}


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10**40, object(), {1, "a"}])
def test_what_dynamodb_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises((TypeError, ArithmeticError)):
        codec.to_attribute(value)
