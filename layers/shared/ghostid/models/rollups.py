"""State the rollup consumer keeps per visitor and per session cell."""

from __future__ import annotations

from dataclasses import dataclass, field

from ghostid.logic.fold import Cell
from ghostid.models.sites import LeadRules


@dataclass
class VisitorState:
    """Lead-score parts, identity and where the visitor was active (for reaching back)."""

    sessions: dict[str, tuple[int, int]] = field(
        default_factory=dict
    )  # session -> (high-intent views, custom)
    hours: set[int] = field(default_factory=set)
    days: set[int] = field(default_factory=set)
    identity_key: str | None = None
    user_id: str | None = None
    # Buckets whose identified / hot-lead sketch already holds this visitor.
    identified_hours: set[int] = field(default_factory=set)
    identified_days: set[int] = field(default_factory=set)
    hot_hours: set[int] = field(default_factory=set)
    hot_days: set[int] = field(default_factory=set)

    @property
    def high_intent(self) -> int:
        return sum(hi for hi, _ in self.sessions.values())

    @property
    def custom(self) -> int:
        return sum(cu for _, cu in self.sessions.values())

    @property
    def identified(self) -> bool:
        return self.user_id is not None

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
