"""A visitor as of now, from all its sessions' parts (PRODUCT §4, §12): score, status, identity, hot_since,
where it was active, and its /api/leads row. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ghostid.models.rollups import ScoringEvent, SessionParts
from ghostid.models.sites import LeadRules
from ghostid.timeutil import Zone, day_key, format_timestamp, month_key, week_key


@dataclass
class VisitorView:
    visitor: str
    parts: dict[str, SessionParts]
    high_intent: int = 0
    custom: int = 0
    identity: tuple[int, str, str] | None = None
    score: int = 0
    hot: bool = False
    hot_since: int | None = None
    first_seen: int = 0
    last_seen: int = 0
    latest: SessionParts | None = None
    user_ids: list[str] = field(default_factory=list)
    score_parts: dict[str, int] = field(default_factory=dict)  # points, adding up to the score

    @property
    def identified(self) -> bool:
        return self.identity is not None

    @property
    def identified_user_id(self) -> str | None:
        return self.identity[2] if self.identity else None


def view(visitor: str, parts: dict[str, SessionParts], rules: LeadRules) -> VisitorView:
    """`parts` must hold at least one session."""
    result = VisitorView(visitor, parts)
    sessions = list(parts.values())
    result.high_intent = sum(p.high_intent for p in sessions)
    result.custom = sum(p.custom for p in sessions)
    identities = [p.identity for p in sessions if p.identity]
    result.identity = max(identities, key=lambda i: (i[0], i[1])) if identities else None
    result.score = rules.score(result.high_intent, result.custom, result.identified)
    result.hot = result.score >= rules.threshold
    result.hot_since = hot_since(sessions, rules) if result.hot else None
    result.first_seen = min(p.start for p in sessions)
    result.latest = max(sessions, key=lambda p: (p.end, p.end_event))
    result.last_seen = result.latest.end
    result.user_ids = latest_first(p.user_ids for p in sessions)
    result.score_parts = {
        "high_intent_pageviews": rules.pageview_weight * result.high_intent,
        "custom_events": rules.custom_event_weight * result.custom,
        "identified": rules.identified_weight if result.identified else 0,
    }
    return result


def latest_first(per_session: Iterable[dict[str, tuple[int, str]]]) -> list[str]:
    """Distinct values, the most recently sent first (by the latest event that sent each)."""
    latest: dict[str, tuple[int, str]] = {}
    for values in per_session:
        for value, order in values.items():
            latest[value] = max(order, latest.get(value, order))
    return sorted(latest, key=lambda value: latest[value], reverse=True)


def hot_since(sessions: Iterable[SessionParts], rules: LeadRules) -> int | None:
    """The time of the event with which the score first reached the threshold, in event order."""
    weights = {"hi": rules.pageview_weight, "cu": rules.custom_event_weight}
    scoring: list[ScoringEvent] = sorted(
        (s for part in sessions for s in part.scoring), key=lambda s: (s.ts, s.event_id)
    )
    score, identified = 0, False
    for event in scoring:
        if event.kind == "id":
            if identified:
                continue
            identified = True
            score += rules.identified_weight
        else:
            score += weights[event.kind]
        if score >= rules.threshold:
            return event.ts
    return None


def lead_row(visitor: VisitorView) -> dict[str, Any]:
    latest = visitor.latest
    assert latest is not None
    return {
        "ghost_vid": visitor.visitor,
        "identified_user_id": visitor.identified_user_id,
        "score": visitor.score,
        "score_parts": dict(visitor.score_parts),
        "hot": visitor.hot,
        "hot_since": format_timestamp(visitor.hot_since) if visitor.hot_since is not None else None,
        "first_seen": format_timestamp(visitor.first_seen),
        "last_seen": format_timestamp(visitor.last_seen),
        "sessions": len(visitor.parts),
        "country": latest.last_country,
        "last_session_id": latest.session_id,
        "last_pages": list(latest.last_pages),
    }


def active_periods(parts: Iterable[SessionParts], zone: Zone) -> set[str]:
    """Every period the visitor was active in, as presence notes: `H:<hour>`, `D:`, `W:`, `M:`."""
    from ghostid.timeutil import hour_key

    found: set[str] = set()
    for part in parts:
        for hour in part.hours:
            day = zone.date_of(hour)
            found |= {f"H:{hour_key(hour)}", f"D:{day_key(day)}", f"W:{week_key(day)}", f"M:{month_key(day)}"}
    return found
