"""State the rollup consumer keeps per visitor and per session cell."""

from __future__ import annotations

from dataclasses import dataclass, field

from ghostid.logic.fold import Cell
from ghostid.models.sites import LeadRules
from ghostid.timeutil import day_of_hour


@dataclass
class VisitorState:
    """What the consumer knows of a visitor: derived from all its stored cells (lead-score parts, where it
    was active, its latest identity) plus its visitor item (the identity it holds, and which identified /
    hot-lead sketches already hold the visitor)."""

    sessions: dict[str, tuple[int, int]] = field(
        default_factory=dict
    )  # session -> (high-intent views, custom)
    hours: set[int] = field(default_factory=set)
    days: set[int] = field(default_factory=set)
    identity: tuple[str, str] | None = None  # (sortable key, user id), the latest over the cells
    stored_identity_key: str | None = None  # the identity key the visitor item holds (`ik`)
    # Buckets whose identified / hot-lead sketch already holds this visitor.
    identified_hours: set[int] = field(default_factory=set)
    identified_days: set[int] = field(default_factory=set)
    hot_hours: set[int] = field(default_factory=set)
    hot_days: set[int] = field(default_factory=set)

    def add_cell(self, session_id: str, cell: Cell) -> None:
        hi, cu = self.sessions.get(session_id, (0, 0))
        self.sessions[session_id] = (hi + cell.high_intent, cu + cell.custom)
        self.hours.add(cell.hour)
        self.days.add(day_of_hour(cell.hour))
        if cell.identity and (self.identity is None or cell.identity > self.identity):
            self.identity = cell.identity

    @property
    def high_intent(self) -> int:
        return sum(hi for hi, _ in self.sessions.values())

    @property
    def custom(self) -> int:
        return sum(cu for _, cu in self.sessions.values())

    @property
    def identified(self) -> bool:
        return self.identity is not None

    def is_hot(self, rules: LeadRules) -> bool:
        return rules.is_hot(self.high_intent, self.custom, self.identified)


@dataclass
class StoredCell:
    session_id: str
    cell: Cell
    version: int


@dataclass
class CellChange:
    """Replace `old` (None: not stored yet) by `new`, moving the rollups by the difference."""

    session_id: str
    old: StoredCell | None
    new: Cell
