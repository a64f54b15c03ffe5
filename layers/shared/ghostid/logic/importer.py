"""NDJSON import (PRODUCT §7) of any size, in bounded memory.

Two passes over a seekable file: the first checks every line (each bad one is reported with its
number, and nothing is written if any is bad), the second writes. A stream (standard input, a
generator of lines) is spooled to a temporary file first. Each line is checked and normalised by the
collector's own rules (`ghostid.models.inputs`): the page becomes its path with the UTM parameters
as properties, the referrer its `scheme://host/path`. Events are written a hundred at a time, only those
not stored yet (`events_dal.put_new_events`), so a second import writes nothing; at most IN_FLIGHT
hundreds are in flight: memory does not grow with the input.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, NoReturn

from pydantic import ValidationError

from ghostid.dal import events as events_dal
from ghostid.models import inputs
from ghostid.models.events import StoredEvent
from ghostid.models.inputs import ImportEvent

MAX_LINE_BYTES = 256 * 1024  # four times the collector's whole request
MAX_ERRORS_KEPT = 1000
WORKERS = 8
IN_FLIGHT = 16  # chunks of a hundred events
_BOM = b"\xef\xbb\xbf"

# progress(phase, unit, done, total): "checking" counts bytes of the file, "writing" counts events.
Progress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRejected(Exception):
    """The input had invalid lines; nothing was written. `errors` holds the first MAX_ERRORS_KEPT."""

    def __init__(self, errors: list[LineError], count: int) -> None:
        super().__init__(f"{count} invalid line{'s' if count != 1 else ''}; nothing was imported")
        self.errors = errors
        self.count = count


class InputChanged(Exception):
    """A line that was valid in the first pass is not in the second: the file changed meanwhile."""


@dataclass(frozen=True)
class ImportResult:
    read: int
    written: int

    @property
    def already_present(self) -> int:
        return self.read - self.written


class _Invalid(Exception):
    pass


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_line(raw: bytes) -> ImportEvent | None:
    """One line as an event; None for a blank line; raises _Invalid with a message a person can act on."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("is not UTF-8 text") from None
    if not text.strip():
        return None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise _Invalid(f"not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise _Invalid("each line must be a JSON object")
    try:
        return ImportEvent.model_validate(data)
    except ValidationError as error:
        raise _Invalid("; ".join(inputs.problems(error))) from None


def _event_of(raw: bytes | None) -> ImportEvent | None:
    if raw is None:
        raise _Invalid(f"is longer than {MAX_LINE_BYTES:,} bytes")
    return parse_line(raw)


def _numbered_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, its bytes or None when longer than MAX_LINE_BYTES, bytes read so far)."""
    handle.seek(0)
    offset, number = 0, 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        offset += len(raw)
        if number == 1:
            raw = raw.removeprefix(_BOM)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line without holding it
                raw = handle.readline(MAX_LINE_BYTES)
                offset += len(raw)
            yield number, None, offset
            continue
        yield number, raw, offset


def _size(handle: IO[bytes]) -> int:
    try:
        return os.fstat(handle.fileno()).st_size
    except (OSError, ValueError):
        return 0


def check(
    handle: IO[bytes], on_error: Callable[[LineError], None] | None = None, progress: Progress | None = None
) -> int:
    """First pass: the number of events; raises ImportRejected after reporting every bad line."""
    size, events, bad = _size(handle), 0, 0
    kept: list[LineError] = []
    for number, raw, offset in _numbered_lines(handle):
        try:
            events += _event_of(raw) is not None
        except _Invalid as invalid:
            bad += 1
            error = LineError(number, str(invalid))
            if len(kept) < MAX_ERRORS_KEPT:
                kept.append(error)
            if on_error is not None:
                on_error(error)
        if progress is not None:
            progress("checking", "bytes", offset, size)
    if bad:
        raise ImportRejected(kept, bad)
    return events


def _stored_events(handle: IO[bytes], site_id: int) -> Iterator[StoredEvent]:
    for number, raw, _ in _numbered_lines(handle):
        try:
            event = _event_of(raw)
        except _Invalid as invalid:
            raise InputChanged(f"line {number} changed while it was imported: {invalid}") from None
        if event is not None:
            yield event.stored(site_id)


def _chunks(events: Iterator[StoredEvent]) -> Iterator[list[StoredEvent]]:
    chunk: list[StoredEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) == events_dal.BATCH_GET:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write(site_id: int, handle: IO[bytes], total: int, progress: Progress | None = None) -> int:
    """Second pass: stores every event not stored yet, a hundred at a time (IN_FLIGHT hundreds at most
    in flight); returns how many were new. An event that appears twice in the file within a few thousand
    lines may be counted as new twice (it is stored once)."""
    written = done = 0
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        pending: deque[tuple[int, Future[int]]] = deque()
        for chunk in _chunks(_stored_events(handle, site_id)):
            pending.append((len(chunk), pool.submit(events_dal.put_new_events, chunk)))
            while len(pending) >= IN_FLIGHT or (pending and pending[0][1].done()):
                size, future = pending.popleft()
                written, done = written + future.result(), done + size
                if progress is not None:
                    progress("writing", "events", done, total)
        for size, future in pending:
            written, done = written + future.result(), done + size
            if progress is not None:
                progress("writing", "events", done, total)
    return written


def import_file(
    site_id: int,
    handle: IO[bytes],
    progress: Progress | None = None,
    on_error: Callable[[LineError], None] | None = None,
) -> ImportResult:
    """Checks every line of a seekable binary file, then writes its events (nothing if a line is bad)."""
    total = check(handle, on_error, progress)
    return ImportResult(read=total, written=write(site_id, handle, total, progress))


def spool(chunks: Iterable[bytes]) -> IO[bytes]:
    """A temporary file (deleted when closed) holding `chunks`, rewound."""
    spooled = tempfile.TemporaryFile(prefix="ghostid-import-")  # noqa: SIM115 (the caller closes it)
    try:
        for chunk in chunks:
            spooled.write(chunk)
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return spooled


def _as_lines(lines: Iterable[str]) -> Iterator[bytes]:
    for line in lines:
        yield (line if line.endswith("\n") else line + "\n").encode("utf-8", "surrogatepass")


def import_events(
    site_id: int,
    lines: Iterable[str],
    progress: Progress | None = None,
    on_error: Callable[[LineError], None] | None = None,
) -> ImportResult:
    """Imports NDJSON lines from any iterable (spooled to a temporary file for the two passes)."""
    with spool(_as_lines(lines)) as handle:
        return import_file(site_id, handle, progress, on_error)
