"""Ingest as a site sees it: events arrive at a steady rate, each stored as it arrives (the collector's
conditional PutItem), and reach the rollup function in stream batches of the events that arrived within
the batching window (at most BatchSize), at the window's end. The clock (`ghostid.timeutil.now_ms`) follows
the simulated time, so hours and days turn and the sealer runs when they do.

Everything is counted: the event item, the consumer's reads and writes, sealing, realtime. A day turn's
sealing (day, week and month nodes and the day-based prefixes) happens once a day: when the simulated span
is shorter than a day, that part is weighted by span / 24 h (the span always holds one day turn), so the
figure per event is the one a whole day of this traffic would give. An hour turn's sealing (hour node and
the hour-based prefixes) likewise by span / 1 h when the span is shorter than an hour. Sealing that a
batch's changes to sealed periods bring (`seal.late`: sessions going on past a turn) is counted as it
comes, unweighted. A big site's day changed by sessions going on past midnight is rebuilt at the next hour
turn (`ghostid.logic.sealing`): when the span ends before it, that run is made after the span and its day
part counted with the day turn's.

On a big site a measured span may be a sample: the events before `measure_from` are folded first, in full
batches and not counted (the site's state is the same whatever the batching), and the counted span is
centred on the day turn, so the current hour's size over it averages what it is over a whole hour.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from ghostid.models.rollups import EventFacts
from ghostid.timeutil import DAY_MS, HOUR_MS

from bench.harness import DAY_TURN, HOUR_TURN, LATE, Api, Clock, Timed, chunks, event_item
from bench.meter import Meter, Usage, quiet
from bench.traffic import import_event

Arrival = tuple[str, EventFacts]


@dataclass
class IngestResult:
    events: int
    batches: int
    span_ms: int
    usage: Usage
    fold: Timed
    window_s: float
    missing_history_rcu: float = 0.0  # reads the loaded history could not give (see `missing_history`)
    figures: dict[str, float] = field(default_factory=dict)

    def per_event(self) -> tuple[float, float]:
        """(WCU, RCU) per event, the day turn's and the hour turn's sealing weighted to the span."""
        wcu, rcu = self.usage.wcu, self.usage.rcu
        for scope, period in ((DAY_TURN, DAY_MS), (HOUR_TURN, HOUR_MS)):
            turn_rcu, turn_wcu, _ = self.usage.scope_usage(scope)
            weight = min(1.0, self.span_ms / period)
            wcu -= turn_wcu * (1 - weight)
            rcu -= turn_rcu * (1 - weight)
        return wcu / self.events, rcu / self.events


def batches(arrivals: list[Arrival], window_s: float, batch_size: int) -> list[list[Arrival]]:
    """What the event source mapping hands over: records of a window opened by the first one, cut at
    BatchSize."""
    found: list[list[Arrival]] = []
    window_ms = int(window_s * 1000)
    for arrival in arrivals:
        current = found[-1] if found else None
        if current and len(current) < batch_size and arrival[1].ts < current[0][1].ts + window_ms:
            current.append(arrival)
        else:
            found.append([arrival])
    return found


@dataclass(frozen=True)
class Stream:
    """What every simulated ingest shares: the API that folds, the meter, the clock, and the template's
    stream settings (`harness.stream_settings`)."""

    api: Api
    meter: Meter
    clock: Clock
    batch_size: int
    window_s: float


def simulate(
    stream: Stream,
    site_id: int,
    arrivals: list[Arrival],
    history: Counter[str] | None = None,
    measure_from: int | None = None,
) -> IngestResult:
    """`arrivals` in time order. `history`: per visitor, sessions the bulk load left unregistered. Arrivals
    before `measure_from` are folded first, uncounted, in full batches."""
    from ghostid.dal import events as events_dal
    from ghostid.models.events import Event, StoredEvent

    api, meter, clock = stream.api, stream.meter, stream.clock
    window_s, batch_size = stream.window_s, stream.batch_size
    if measure_from is not None:
        _warm_up(api, clock, site_id, [a for a in arrivals if a[1].ts < measure_from], batch_size)
        arrivals = [a for a in arrivals if a[1].ts >= measure_from]
    groups = batches(arrivals, window_s, batch_size)
    fold = Timed()
    missing = 0.0
    meter.reset()
    for group in groups:
        items = []
        for session_id, facts in group:
            clock.set(facts.ts)
            event = Event.model_validate(import_event(session_id, facts))
            stored = StoredEvent(site_id=site_id, **event.model_dump())
            with meter.scope("collector.put_event"):
                events_dal.put_event(stored)
            items.append(event_item(site_id, import_event(session_id, facts)))
        full = len(group) == batch_size
        clock.set(group[-1][1].ts if full else group[0][1].ts + int(window_s * 1000))
        started = time.perf_counter()
        api.fold(items)
        fold.seconds.append(time.perf_counter() - started)
        if history:
            missing += sum(history.get(v, 0) for v in {facts.ghost_vid for _, facts in group})
    usage = meter.reset()
    span = arrivals[-1][1].ts - arrivals[0][1].ts if arrivals else 0
    if arrivals and span < DAY_MS:
        usage.add(_next_turn(stream, site_id, arrivals[-1][1].ts))
    return IngestResult(len(arrivals), len(groups), span, usage, fold, window_s, missing)


def _next_turn(stream: Stream, site_id: int, last: int) -> Usage:
    """The day work of the sealing run at the hour turn after `last`, when a day waits for it (the span's
    own turns are in the span)."""
    from ghostid.dal import state as state_dal
    from ghostid.logic import sealing
    from ghostid.timeutil import Zone

    with quiet():
        state = state_dal.get_state(site_id)
    if state.timezone is None or not any(period.startswith("D:") for period in state.dirty):
        return Usage()
    zone = Zone(state.timezone)
    stream.clock.set(zone.hour_start(last) + HOUR_MS + 1_000)
    sealing.seal(site_id, zone, stream.clock.now())
    return stream.meter.reset().only(DAY_TURN, "seal at the next hour turn")


WARM_UP_BATCHES = 10  # a catch-up batch holds this many BatchSizes: each batch re-reads the current hour


def _warm_up(api: Api, clock: Clock, site_id: int, arrivals: list[Arrival], batch_size: int) -> None:
    """Stores and folds arrivals in large batches, uncounted (the stream catching up after a pause)."""
    from ghostid.dal.client import batch_write
    from ghostid.settings import events_table

    with quiet():
        for group in chunks(arrivals, batch_size * WARM_UP_BATCHES):
            items = [event_item(site_id, import_event(session_id, facts)) for session_id, facts in group]
            batch_write(events_table(), items)
            clock.set(group[-1][1].ts)
            api.fold(items)


def figures(result: IngestResult, size: str) -> dict[str, float]:
    wcu, rcu = result.per_event()
    day_rcu, day_wcu, _ = result.usage.scope_usage(DAY_TURN)
    hour_rcu, hour_wcu, _ = result.usage.scope_usage(HOUR_TURN)
    late_rcu, late_wcu, _ = result.usage.scope_usage(LATE)
    out = {
        f"ingest_wcu_per_event_{size}": round(wcu, 3),
        f"ingest_rcu_per_event_{size}": round(rcu, 3),
        f"ingest_events_{size}": result.events,
        f"ingest_batches_{size}": result.batches,
        f"ingest_span_minutes_{size}": round(result.span_ms / 60_000, 1),
        f"ingest_fold_p95_ms_{size}": round(result.fold.percentile(0.95) * 1000, 1),
        f"ingest_day_turn_wcu_{size}": round(day_wcu, 1),
        f"ingest_day_turn_rcu_{size}": round(day_rcu, 1),
        f"ingest_hour_turn_wcu_{size}": round(hour_wcu, 1),
        f"ingest_hour_turn_rcu_{size}": round(hour_rcu, 1),
        f"ingest_late_seal_wcu_per_event_{size}": round(late_wcu / result.events, 3),
        f"ingest_late_seal_rcu_per_event_{size}": round(late_rcu / result.events, 3),
    }
    if result.missing_history_rcu:
        out[f"ingest_rcu_per_event_{size}_missing_history"] = round(
            result.missing_history_rcu / result.events, 3
        )
    return out


def describe(result: IngestResult) -> str:
    wcu, rcu = result.per_event()
    return (
        f"{result.events} events in {result.batches} batches over {result.span_ms / 60_000:.0f} simulated "
        f"minutes: {wcu:.2f} WCU and {rcu:.2f} RCU per event\n{result.usage.describe(12)}"
    )


def freshness(results: list[IngestResult]) -> float:
    """The batching window plus the fold time of a batch (p95 over every batch measured)."""
    fold = Timed([s for r in results for s in r.fold.seconds])
    return max(r.window_s for r in results) + fold.percentile(0.95)
