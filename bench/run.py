"""`make bench`: what each call and each event costs, against DynamoDB Local; writes bench/results.json.

Sites (all in UTC, so the peers' 30 days are ours):
- small: about 1,000 events over 30 days, folded by the rollup function in stream batches like real traffic;
- large: about 200,000 events, loaded through the bulk loader (the rebuild path for a big site);
- ingest sites holding a month of their own traffic, 30,000 events a month (a small site, rebuilt) and
  1,000,000 (a big one, bulk-loaded; 2,000 distinct pages a day), then receiving more at that rate
  (`bench/ingest.py`).
Requests and capacity units are DynamoDB Local's own `ConsumedCapacity` (`bench/meter.py`); times are
reported only as ratios measured in the same run. `make bench-scale` (`bench/scale.py`) adds the 10M site.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from bench import compare, harness, ingest, load, reads, report
from bench.traffic import Shape, Traffic, import_events

SMALL, LARGE, INGEST_30K, INGEST_1M = 1, 2, 3, 4
HOUR_MS = 3_600_000
INGEST_MARGIN_MS = 2 * 60_000  # past the last hour turn of the span
INGEST_SAMPLE_MS_1M = 10 * 60_000  # the 1m site's counted span: this much either side of midnight
LATENCY_RUNS = 15


def shapes() -> dict[str, Shape]:
    """`BENCH_QUICK=N` divides the big sites by N (a look at the bench itself; its figures say nothing)."""
    quick = int(os.environ.get("BENCH_QUICK", "1"))
    return {
        "small": Shape(events=1_000, visitors=250, pages=300, pages_per_day=300, countries=20, seed=SMALL),
        "large": Shape(events=200_000 // quick, visitors=40_000 // quick, seed=LARGE),
        "30k": Shape(events=30_000, visitors=7_000, pages=2_000, pages_per_day=500, seed=INGEST_30K),
        "1m": Shape(events=1_000_000 // quick, visitors=200_000 // quick, seed=INGEST_1M),
    }


def simulated_now() -> int:
    """23:00:01 UTC two days ago: an hour (and a day) turns an hour later, in the real clock's past."""
    from ghostid.timeutil import DAY_MS, now_ms

    midnight = now_ms() // DAY_MS * DAY_MS
    return midnight - 2 * DAY_MS + 23 * HOUR_MS + 1_000


def main() -> int:
    started = time.perf_counter()
    results: dict[str, float] = {}
    missing: dict[str, str] = {}
    details: list[str] = []
    now = simulated_now()
    with harness.dynamodb_local() as meter:
        harness.label_steps(meter)
        clock = harness.Clock(now)
        sites = {site_id: harness.add_site(site_id) for site_id in (SMALL, LARGE, INGEST_30K, INGEST_1M)}
        api = harness.Api(harness.login_token())
        batch_size, window_s = harness.stream_settings()
        results |= {"stream_batch_size": batch_size, "stream_window_s": window_s}
        stream = ingest.Stream(api, meter, clock, batch_size, window_s)

        ingested = [
            _ingest_small_site(stream, sites[INGEST_30K], now, details),
            _ingest_big_site(stream, sites[INGEST_1M], now, details),
        ]
        for result, size in zip(ingested, ("30k", "1m"), strict=True):
            results |= ingest.figures(result, size)
        results["ingest_freshness_s"] = round(ingest.freshness(ingested), 2)

        clock.set(now)
        small = load.through_consumer(api, clock, SMALL, Traffic(shapes()["small"], now))
        print(f"small site: {small.events} events folded in {small.seconds:.0f} s", flush=True)
        large_events = load.Spool()
        large = load.bulk(
            sites[LARGE],
            Traffic(shapes()["large"], now),
            keep_cells_from=_day(now) - timedelta(days=30),
            spool=large_events,
            keep_events_from=now - load.EVENTS_NEEDED_MS,
        )
        print(f"large site: {large.events} events bulk-loaded in {large.seconds:.0f} s", flush=True)
        results |= {"small_site_events": small.events, "large_site_events": large.events}
        results |= {"large_site_hot_leads": large.hot_leads, "large_site_identified": large.identified}

        measured: dict[str, reads.SiteReads] = {}
        for label, site_id in (("small", SMALL), ("large", LARGE)):
            clock.set(now + 60_000)
            reader = reads.Reader(api, meter, clock, site_id, sites[site_id].zone)
            reader.stats()
            reader.charts()
            reader.people(reader.past_ranges(oldest_kept=_day(now) - timedelta(days=30)))
            reader.latencies(LATENCY_RUNS)
            measured[label] = reader.out
            results |= {f"{name}_{label}": value for name, value in reader.out.figures.items()}
            details += [f"{label} {name}: {where}" for name, where in reader.out.where.items()]
        clock.set(now + 60_000)
        results |= reads.access(api, meter, clock, SMALL)
        results |= {
            f"{k}_large_over_small": v
            for k, v in reads.latency_ratios(measured["large"], measured["small"]).items()
        }

        events = {
            "small": lambda: import_events(Traffic(shapes()["small"], now).sessions()),
            "large": large_events.read,
        }
        for label, site_id in (("small", SMALL), ("large", LARGE)):
            print(f"peers, {label} site:", flush=True)
            seconds = measured[label].seconds
            found, why = compare.ratios(
                label,
                events[label],
                site_id,
                now + 60_000,
                {"current": seconds["stats_30d"], "behind": seconds["stats_30d_behind"]},
                runs=LATENCY_RUNS,
                postgres=label == "large",
            )
            results |= found
            missing |= why
        large_events.close()
        clock.restore()
        results |= {f"bench_{k}": v for k, v in harness.cpu_minutes().items()}
    results |= fold_cpu() | cold_imports()
    _finish(results, missing, details, started, "bench")
    return 0


def _day(ms: int) -> Any:
    from ghostid.timeutil import Zone

    return Zone("UTC").date_of(ms)


def _ingest_small_site(stream: ingest.Stream, site: Any, now: int, details: list[str]) -> ingest.IngestResult:
    """30,000 events a month: a small site (day nodes only), rebuilt from a month of its own events, then a
    whole day of arrivals (every hour turn and one day turn)."""
    start = now - 23 * HOUR_MS  # 00:00:01: the span ends just past the next midnight
    traffic = Traffic(shapes()["30k"], start, stop_ms=start + 24 * HOUR_MS + INGEST_MARGIN_MS)
    stream.clock.set(start)
    loaded = load.rebuilt(site, traffic)
    print(
        f"30k site: {loaded.events} events rebuilt in {loaded.seconds:.0f} s; "
        f"ingesting {len(loaded.held_back)}",
        flush=True,
    )
    result = ingest.simulate(stream, site.site_id, loaded.held_back)
    details.append(f"ingest 30k: {ingest.describe(result)}")
    return result


def _ingest_big_site(stream: ingest.Stream, site: Any, now: int, details: list[str]) -> ingest.IngestResult:
    """1,000,000 events a month: bulk-loaded (cells and events of the last two days kept), then arrivals
    from 23:00 on, counted from 23:50 to 00:10 (every batch re-reads the current hour's cells, so a whole
    counted hour costs the bench minutes for the same average)."""
    midnight = now - 1_000 + HOUR_MS
    traffic = Traffic(shapes()["1m"], now, stop_ms=midnight + INGEST_SAMPLE_MS_1M)
    stream.clock.set(now)
    loaded = load.bulk(
        site,
        traffic,
        keep_cells_from=_day(now) - timedelta(days=1),
        hour_nodes_from=now - 48 * HOUR_MS,
        keep_events_from=now - load.EVENTS_NEEDED_MS,
    )
    print(
        f"1m site: {loaded.events} events bulk-loaded in {loaded.seconds:.0f} s "
        f"(peak RSS {loaded.peak_rss_mb:.0f} MB); ingesting {len(loaded.held_back)}",
        flush=True,
    )
    result = ingest.simulate(
        stream,
        site.site_id,
        loaded.held_back,
        history=loaded.unregistered,
        measure_from=midnight - INGEST_SAMPLE_MS_1M,
    )
    details.append(f"ingest 1m: {ingest.describe(result)}")
    return result


def fold_cpu() -> dict[str, float]:
    """The fold alone, no I/O, per event: a session's cells (`fold_session`) and adding them to hour
    aggregates (`add_cell`), what the bulk loader does for every event (the floor of its CPU time)."""
    from ghostid.logic.aggregate import add_cell
    from ghostid.logic.cells import fold_session
    from ghostid.models.rollups import Aggregate
    from ghostid.models.sites import LeadRules
    from ghostid.timeutil import Zone

    sessions = list(Traffic(Shape(events=30_000, visitors=6_000, seed=9), simulated_now()).sessions())
    events = sum(len(facts) for _, facts in sessions)
    zone, rules = Zone("UTC"), LeadRules()
    started = time.process_time()
    folds = [fold_session(session_id, facts, zone, rules) for session_id, facts in sessions]
    folded = time.process_time()
    hours: dict[int, Aggregate] = {}
    for fold in folds:
        for hour, cell in fold.cells.items():
            add_cell(hours.setdefault(hour, Aggregate()), cell)
    added = time.process_time()
    return {
        "fold_session_cpu_us_per_event": round((folded - started) / events * 1e6, 1),
        "add_cell_cpu_us_per_event": round((added - folded) / events * 1e6, 1),
    }


def cold_imports() -> dict[str, float]:
    """Each function's `import app` in a fresh interpreter, over `import boto3` (medians of 5)."""
    from ghostid_local.target import TABLE_ENV

    env = {**os.environ, **TABLE_ENV, "PYTHONPATH": str(harness.ROOT / "layers" / "shared")}

    def seconds(code: str, cwd: Any) -> float:
        runs = []
        for _ in range(5):
            script = f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"
            done = subprocess.run(
                [sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, check=True
            )
            runs.append(float(done.stdout.strip().splitlines()[-1]))
        return statistics.median(runs)

    boto3_seconds = seconds("import boto3", harness.ROOT)
    out = {"import_boto3_ms": round(boto3_seconds * 1000, 1)}
    for function in sorted(p.name for p in (harness.ROOT / "functions").iterdir() if (p / "app.py").exists()):
        out[f"cold_import_ratio_{function}"] = round(
            seconds("import app", harness.ROOT / "functions" / function) / boto3_seconds, 3
        )
    return out


def _finish(
    results: dict[str, float], missing: dict[str, str], details: list[str], started: float, owned: str
) -> None:
    path = harness.ROOT / "bench" / f"where-{owned}.txt"  # generated, like results.json
    path.write_text("\n".join(details) + "\n")
    merged = report.write(results, owned)
    print()
    print(report.table(results, missing, time.perf_counter() - started))
    lacking = report.unwritten(merged)
    print(
        f"named keys not in results.json yet: {', '.join(lacking)}" if lacking else "every named key written"
    )
    print(f"where each figure's units went: {path.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
