"""Putting a month of traffic into a site, three ways:

- `through_consumer`: every event stored and folded by the rollup function in stream batches, the clock at
  each batch's time (a small site, like real traffic);
- `rebuilt`: events stored, then `logic.rebuild.rebuild_site` (in memory; fine for a small site);
- `bulk`: `logic.bulk.load_site`, the rebuild path with bounded memory for a big site. Its items are written
  from background threads while it folds. Events are written for the days whose cells are kept; events at
  or after the load's `now` are held back for the ingest measurement.
"""

from __future__ import annotations

import pickle
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ghostid.models.rollups import EventFacts

from bench.harness import Api, Clock, Writer, chunks, event_item, peak_rss_mb
from bench.meter import quiet
from bench.traffic import Traffic, import_event

Arrival = tuple[str, EventFacts]
# The oldest session start whose events a later event can still join: the bulk loader's longest session
# (`logic.bulk.MAX_SESSION_MS`), and an hour more for the measured span.
EVENTS_NEEDED_MS = 7 * 3_600_000


@dataclass
class LoadReport:
    events: int = 0
    sessions: int = 0
    visitors: int = 0
    rollup_items: int = 0
    event_items: int = 0
    skipped_items: int = 0
    hot_leads: int = 0
    identified: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    held_back: list[Arrival] = field(default_factory=list)  # events at or after `now`, by time
    # Per visitor not on the lead lists: its sessions before the kept days, which have no registry entry
    # (the consumer would read their first cells when the visitor comes back).
    unregistered: Counter[str] = field(default_factory=Counter)
    leads: set[str] = field(default_factory=set)


class Spool:
    """Events in the import shape, written once while a site loads and read back for the peers (reading them
    back costs a fifth of generating them again). Compressed chunks in a temporary file."""

    CHUNK = 20_000

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (open until `close`)
        self._pending: list[dict[str, Any]] = []
        self.events = 0

    def add(self, session_id: str, facts: list[EventFacts]) -> None:
        self._pending += [import_event(session_id, event) for event in facts]
        self.events += len(facts)
        if len(self._pending) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            blob = zlib.compress(pickle.dumps(self._pending, protocol=pickle.HIGHEST_PROTOCOL), 1)
            self._file.write(len(blob).to_bytes(8, "little") + blob)
            self._pending = []

    def read(self) -> Iterator[dict[str, Any]]:
        self._flush()
        self._file.seek(0)
        while header := self._file.read(8):
            yield from pickle.loads(zlib.decompress(self._file.read(int.from_bytes(header, "little"))))

    def close(self) -> None:
        self._file.close()


def _store_events(items: list[dict[str, Any]]) -> None:
    from ghostid.dal.client import batch_write
    from ghostid.settings import events_table

    with quiet():
        batch_write(events_table(), items)


def through_consumer(api: Api, clock: Clock, site_id: int, traffic: Traffic, batch: int = 100) -> LoadReport:
    """Stores each batch's events and folds them at the time of the batch's last event."""
    report = LoadReport()
    started = time.perf_counter()
    arrivals = sorted(
        ((sid, e) for sid, facts in traffic.sessions() for e in facts if e.ts < traffic.end_ms),
        key=lambda pair: pair[1].order,
    )
    for group in chunks(arrivals, batch):
        items = [event_item(site_id, import_event(sid, facts)) for sid, facts in group]
        _store_events(items)
        clock.set(group[-1][1].ts + 1_000)
        with quiet():
            api.fold(items)
    clock.set(traffic.end_ms)
    report.events = len(arrivals)
    report.sessions = len({sid for sid, _ in arrivals})
    report.visitors = len({e.ghost_vid for _, e in arrivals})
    report.seconds = time.perf_counter() - started
    return report


def rebuilt(site: Any, traffic: Traffic) -> LoadReport:
    """Stores the events before `traffic.end_ms` (later ones are held back) and writes what the in-memory
    rebuild (`logic.rebuild.rollup_items`, what `rebuild_site` writes) makes of them. The site is empty,
    so there is nothing to delete and nothing to fold again."""
    from ghostid.dal import realtime as live_dal
    from ghostid.dal import state as state_dal
    from ghostid.logic.rebuild import rollup_items
    from ghostid.settings import events_table, rollups_table

    report = LoadReport()
    started = time.perf_counter()
    sessions: dict[str, list[EventFacts]] = {}
    for session_id, facts in traffic.sessions():
        report.held_back += [(session_id, e) for e in facts if e.ts >= traffic.end_ms]
        before = [e for e in facts if e.ts < traffic.end_ms]
        if before:
            sessions[session_id] = before
            report.events += len(before)
    events = Writer(events_table)
    for group in chunks(((sid, e) for sid, facts in sessions.items() for e in facts), 2_000):
        events([event_item(site.site_id, import_event(sid, facts)) for sid, facts in group])
    events.close()
    stored = time.perf_counter()
    result = rollup_items(site.site_id, sessions, site, traffic.end_ms)
    if result.big:
        raise ValueError("a big site has a current hour node too: load it with `bulk`")
    writer = Writer(rollups_table)
    with quiet():
        writer(result.items)
        writer.close()
        live_dal.put_live_unconditionally(site.site_id, result.live)
        state_dal.reset(site.site_id, site.timezone, result.until, result.big, 1, result.since)
    report.held_back.sort(key=lambda pair: pair[1].order)
    report.sessions, report.visitors, report.rollup_items = (
        result.sessions,
        result.visitors,
        len(result.items),
    )
    print(
        f"  events stored in {stored - started:.0f} s, rollups in {time.perf_counter() - stored:.0f} s",
        flush=True,
    )
    report.seconds = time.perf_counter() - started
    return report


def bulk(
    site: Any,
    traffic: Traffic,
    keep_cells_from: date,
    hour_nodes_from: int | None = None,
    spool: Spool | None = None,
    keep_events_from: int | None = None,
) -> LoadReport:
    """`logic.bulk.load_site` over the traffic before `traffic.end_ms`; events after it are held back.

    `hour_nodes_from`: hour nodes of earlier hours are not written (no measurement reads them; the sealer
    reads the hours of the day it seals, and the 24h prefix its last 24). Events are written for sessions
    that start at `keep_events_from` (an instant; default: the start of `keep_cells_from`) or later: only
    the session route (a recent session) and the consumer (the sessions a new event joins, at most
    `EVENTS_NEEDED_MS` old) read them. `spool` keeps the loaded events."""
    events_from = site.zone.day_start(keep_cells_from) if keep_events_from is None else keep_events_from
    from ghostid.logic.bulk import load_site
    from ghostid.settings import events_table, rollups_table

    report = LoadReport()
    zone = site.zone
    now = traffic.end_ms
    rollups = Writer(rollups_table)
    events = Writer(events_table)
    started = time.perf_counter()

    def loaded_sessions() -> Iterator[tuple[str, list[EventFacts]]]:
        pending: list[dict[str, Any]] = []
        for session_id, facts in traffic.sessions():
            before = [e for e in facts if e.ts < now]
            report.held_back += [(session_id, e) for e in facts if e.ts >= now]
            if not before:
                continue
            if spool is not None:
                spool.add(session_id, before)
            report.events += len(before)
            first_day = zone.date_of(before[0].ts)
            if first_day < keep_cells_from:
                report.unregistered[before[0].ghost_vid] += 1
            if before[0].ts >= events_from:
                pending += [event_item(site.site_id, import_event(session_id, e)) for e in before]
                if len(pending) >= 2_000:
                    events(pending)
                    report.event_items += len(pending)
                    pending = []
            yield session_id, before
        events(pending)
        report.event_items += len(pending)

    def write(items: list[dict[str, Any]]) -> None:
        kept = [item for item in items if _wanted(item, hour_nodes_from)]
        report.skipped_items += len(items) - len(kept)
        report.rollup_items += len(kept)
        _count_leads(kept, report)
        rollups(kept)

    with quiet():
        result = load_site(site.site_id, site, loaded_sessions(), now, write, keep_cells_from)
        rollups.close()
        events.close()
    report.sessions, report.visitors = result.sessions, result.visitors
    for visitor in report.leads:
        report.unregistered.pop(visitor, None)
    report.held_back.sort(key=lambda pair: pair[1].order)
    report.seconds = time.perf_counter() - started
    report.peak_rss_mb = peak_rss_mb()
    return report


def _wanted(item: dict[str, Any], hour_nodes_from: int | None) -> bool:
    from ghostid.timeutil import hour_of_key

    from bench.meter import item_kind

    if hour_nodes_from is None or item_kind(item["pk"]["S"]) != "node.H":
        return True
    hour = item["sk"]["S"].split("#")[1]
    return hour_of_key(hour) >= hour_nodes_from


def _count_leads(items: list[dict[str, Any]], report: LoadReport) -> None:
    import json

    for item in items:
        if item["sk"]["S"] == "v" and "lk" in item:
            report.leads.add(item["pk"]["S"].split("#V#", 1)[1])
            report.hot_leads += item["lk"]["S"].endswith("#H")
            report.identified += json.loads(item["row"]["S"])["identified_user_id"] is not None
