"""NDJSON import (PRODUCT §7): validate every line first; write nothing unless all are valid."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from ghostid.dal import events as events_dal
from ghostid.models.events import Event, StoredEvent

MAX_ERRORS_REPORTED = 100


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRejected(Exception):
    """The input had invalid lines; nothing was written."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} invalid line(s); nothing was imported")
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    read: int
    written: int

    @property
    def already_present(self) -> int:
        return self.read - self.written


def _describe(error: ValidationError) -> str:
    parts = []
    for detail in error.errors():
        where = ".".join(str(p) for p in detail["loc"]) or "event"
        parts.append(f"{where}: {detail['msg']}")
    return "; ".join(parts)


def parse_ndjson(lines: Iterable[str], site_id: int) -> list[StoredEvent]:
    """Every valid line as a stored event; raises ImportRejected listing every bad line (1-based)."""
    events: list[StoredEvent] = []
    errors: list[LineError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("each line must be a JSON object")
            event = Event.model_validate(data).with_event_id()
            events.append(StoredEvent(site_id=site_id, **event.model_dump()))
        except ValidationError as error:
            errors.append(LineError(number, _describe(error)))
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            errors.append(
                LineError(number, f"not valid JSON ({error})" if "JSON" not in str(error) else str(error))
            )
    if errors:
        raise ImportRejected(errors)
    return events


def import_events(site_id: int, lines: Iterable[str]) -> ImportResult:
    events = parse_ndjson(lines, site_id)
    unique = list({(event.session_id, event.event_id): event for event in events}.values())
    return ImportResult(read=len(events), written=events_dal.put_events(unique))
