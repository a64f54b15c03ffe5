"""Figures the adversarial tests measure (requests fuzzed, faults injected, auth-matrix cases).

Tests call `record`; the root conftest prints every figure in pytest's terminal summary, so the
numbers appear in the test output whatever the capture mode (and they are added to the JUnit XML
as properties when the test asks for `record_property`)."""

from __future__ import annotations

FIGURES: dict[str, int] = {}


def record(name: str, value: int) -> None:
    """Adds `value` to the figure `name` (a figure measured by several tests is their sum)."""
    FIGURES[name] = FIGURES.get(name, 0) + value
