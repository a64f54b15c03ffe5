"""Cells → an hour's aggregate; aggregates merge into days, weeks, months and prefixes. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from ghostid.distinct import Distinct, visitor_hash
from ghostid.models.dimensions import BY_NAME
from ghostid.models.rollups import Aggregate, Cell


def aggregate_cells(cells: Iterable[Cell]) -> Aggregate:
    """The aggregate of some cells (each session's cell of an hour counted once: see `latest_cells`)."""
    total = Aggregate()
    for cell in cells:
        add_cell(total, cell)
    return total


def add_cell(total: Aggregate, cell: Cell) -> None:
    hashed = visitor_hash(cell.visitor)
    total.pageviews += cell.pageviews
    total.events += cell.events
    total.sessions += cell.first
    total.visitors.add(hashed)
    for dimension, values in cell.rows.items():
        rows = total.rows.setdefault(dimension, {})
        with_visitors = BY_NAME[dimension].has_visitors
        sketches: dict[str, Distinct] | None = None
        for value, row in values.items():
            current = rows.get(value)
            if current is None:
                rows[value] = row.copy()
            else:  # the aggregate's own copy: added to in place
                current[0] += row[0]
                current[1] += row[1]
                current[2] += row[2]
            if with_visitors and row[2]:
                if sketches is None:
                    sketches = total.row_visitors.setdefault(dimension, {})
                sketch = sketches.get(value)
                if sketch is None:
                    sketch = sketches[value] = Distinct()
                elif total.borrowed:
                    sketch = total.sketch_to_add(dimension, value)
                sketch.add(hashed)


def latest_cells(cells: Iterable[Cell]) -> list[Cell]:
    """One cell per (session, hour): the one computed from the most events. Two consumers racing on a
    session, or a session whose first event moved, can leave an older cell behind for a moment."""
    best: dict[tuple[str, int], Cell] = {}
    for cell in cells:
        key = (cell.session_id, cell.hour)
        if key not in best or cell.n > best[key].n:
            best[key] = cell
    return list(best.values())


def merge_all(parts: Iterable[Aggregate], borrow: bool = False) -> Aggregate:
    total = Aggregate()
    for part in parts:
        total.merge(part, borrow)
    return total
