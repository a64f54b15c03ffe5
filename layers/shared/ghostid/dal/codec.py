"""Converting between Python values and DynamoDB attribute values."""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# What DynamoDB numbers can hold; a value that would need rounding is an error (as in boto3).
_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])

# The conversions of boto3.dynamodb.types (TypeSerializer / TypeDeserializer), written out so the
# handlers need not import boto3 (and its s3transfer) for them, with two differences kept from
# before: a float is stored as the Decimal of its repr, and numbers read back are int or float.


def _number(value: int | float | Decimal) -> str:
    number = str(_NUMBERS.create_decimal(Decimal(repr(value)) if isinstance(value, float) else value))
    if number in ("Infinity", "-Infinity", "NaN", "sNaN", "-NaN", "-sNaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def to_attribute(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": value}
    if isinstance(value, Set):
        if all(_is_number(v) for v in value):
            return {"NS": [_number(v) for v in value]}
        if all(isinstance(v, str) for v in value):
            return {"SS": list(value)}
        if all(isinstance(v, bytes | bytearray) for v in value):
            return {"BS": list(value)}
    if isinstance(value, Mapping):
        return {"M": {k: to_attribute(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def _from_number(text: str) -> int | float:
    number = _NUMBERS.create_decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def from_attribute(attribute: dict[str, Any]) -> Any:
    """One DynamoDB attribute value as a Python value (numbers as int or float, binary as bytes)."""
    if not attribute:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, data = next(iter(attribute.items()))
    if kind == "S":
        return data
    if kind == "N":
        return _from_number(data)
    if kind == "M":
        return {k: from_attribute(v) for k, v in data.items()}
    if kind == "L":
        return [from_attribute(v) for v in data]
    if kind == "BOOL":
        return data
    if kind == "NULL":
        return None
    if kind == "B":
        return bytes(data)
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {_from_number(v) for v in data}
    if kind == "BS":
        return {bytes(v) for v in data}
    raise TypeError(f"Dynamodb type {kind} is not supported")


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: to_attribute(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def value_size(value: dict[str, Any]) -> int:
    """DynamoDB's billed size of one attribute value (its item-size rules, rounded up)."""
    kind, data = next(iter(value.items()))
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in data)
    return 1  # BOOL, NULL


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())
