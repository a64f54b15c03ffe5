"""`make bench-scale`: a site of 10,000,000 events over 30 days (about 2 million visitors, 100 countries,
20,000 pages (2,000 a day), 500 referrer hosts, 200 campaigns), loaded through the bulk loader with bounded
memory, then what each call and each event costs there; merges its keys into bench/results.json.

Only what a measurement reads is written: hour nodes of the last 48 hours (the sealer's day and the 24h
prefix read those), cells of the last two days (today's and yesterday's lists, sessions in progress), and
events of the sessions a new event can still join (the consumer and the session route read those).
Everything else the loader folds is written: day, week and month nodes, prefixes, presence, the lead
lists, the state and the realtime item.

`BENCH_SCALE_EVENTS=N` runs it on a smaller site (a look at the bench itself: its figures say nothing).
"""

from __future__ import annotations

import os
import resource
import time
from datetime import timedelta
from typing import Any

from bench import compare, harness, ingest, load, reads, report
from bench.run import HOUR_MS, LATENCY_RUNS, shapes, simulated_now
from bench.traffic import Shape, Traffic

SCALE, SMALL = 10, 11
EVENTS = 10_000_000
INGEST_SAMPLE_MS = 2 * 60_000  # the counted ingest span: this much either side of midnight (~900 events)


def scale_shape() -> Shape:
    events = int(os.environ.get("BENCH_SCALE_EVENTS", EVENTS))
    return Shape(events=events, visitors=events // 5, seed=SCALE)


def main() -> int:
    started = time.perf_counter()
    results: dict[str, float] = {}
    missing: dict[str, str] = {}
    details: list[str] = []
    now = simulated_now()
    shape = scale_shape()
    with harness.dynamodb_local() as meter:
        harness.label_steps(meter)
        clock = harness.Clock(now)
        sites = {site_id: harness.add_site(site_id) for site_id in (SCALE, SMALL)}
        api = harness.Api(harness.login_token())
        batch_size, window_s = harness.stream_settings()

        load.through_consumer(api, clock, SMALL, Traffic(shapes()["small"], now))
        today = sites[SCALE].zone.date_of(now)
        cpu = time.process_time()
        spool = load.Spool()
        loaded = load.bulk(
            sites[SCALE],
            Traffic(shape, now, stop_ms=now - 1_000 + HOUR_MS + INGEST_SAMPLE_MS),
            keep_cells_from=today - timedelta(days=1),
            hour_nodes_from=now - 48 * HOUR_MS,
            spool=spool,
            keep_events_from=now - load.EVENTS_NEEDED_MS,
        )
        results |= _load_figures(loaded, time.process_time() - cpu)
        print(
            f"scale site: {loaded.events:,} events, {loaded.visitors:,} visitors bulk-loaded in "
            f"{loaded.seconds / 60:.1f} min, peak RSS {loaded.peak_rss_mb:,.0f} MB; "
            f"{loaded.rollup_items:,} rollup items and {loaded.event_items:,} events written",
            flush=True,
        )

        clock.set(now + 60_000)
        big = reads.Reader(api, meter, clock, SCALE, sites[SCALE].zone)
        big.stats()
        big.charts()
        big.people(big.past_ranges(oldest_kept=today - timedelta(days=1)))
        big.latencies(LATENCY_RUNS)
        small = reads.Reader(api, meter, clock, SMALL, sites[SMALL].zone)
        small.latencies(LATENCY_RUNS)
        results |= {f"scale_{name}": value for name, value in big.out.figures.items()}
        results |= {
            f"scale_{name}": value for name, value in reads.latency_ratios(big.out, small.out).items()
        }
        details += [f"scale {name}: {where}" for name, where in big.out.where.items()]
        results |= _twelve_months_of_history(big, sites[SCALE], details)
        print(f"reads measured ({(time.perf_counter() - started) / 60:.1f} min so far)", flush=True)
        report.write(results, "scale")  # a run stopped during the ingest sample keeps its reads
        print(report.table(results, missing, time.perf_counter() - started), flush=True)

        result = ingest.simulate(
            ingest.Stream(api, meter, clock, batch_size, window_s),
            SCALE,
            loaded.held_back,
            history=loaded.unregistered,
            measure_from=now - 1_000 + HOUR_MS - INGEST_SAMPLE_MS,
        )
        results |= ingest.figures(result, "10m")
        results["ingest_freshness_s_10m"] = round(ingest.freshness([result]), 2)
        details.append(f"ingest 10m: {ingest.describe(result)}")
        print(f"ingest measured ({(time.perf_counter() - started) / 60:.1f} min so far)", flush=True)

        clock.set(now + 60_000)
        found, why = compare.ratios(
            "scale",
            spool.read,
            SCALE,
            now + 60_000,
            {"current": big.out.seconds["stats_30d"], "behind": big.out.seconds["stats_30d_behind"]},
            runs=LATENCY_RUNS,
            postgres=os.environ.get("BENCH_PG_SCALE") == "1",
        )
        results |= found
        missing |= why
        if os.environ.get("BENCH_PG_SCALE") != "1":
            missing["ratio_pg_over_ours_current_scale"] = "PostgreSQL at 10M is opt-in (BENCH_PG_SCALE=1)"
        spool.close()
        clock.restore()
        results |= {f"scale_bench_{k}": v for k, v in harness.cpu_minutes().items()}
    if shape.events != EVENTS:
        results["scale_site_not_10m"] = 1
    results["scale_bench_minutes"] = round((time.perf_counter() - started) / 60, 1)
    _finish(results, missing, details, started)
    return 0


def _load_figures(loaded: load.LoadReport, cpu_seconds: float) -> dict[str, float]:
    return {
        "scale_site_events": loaded.events,
        "scale_site_sessions": loaded.sessions,
        "scale_site_visitors": loaded.visitors,
        "scale_site_hot_leads": loaded.hot_leads,
        "scale_site_identified": loaded.identified,
        "scale_load_minutes": round(loaded.seconds / 60, 1),
        "scale_load_cpu_minutes": round(cpu_seconds / 60, 1),
        "scale_load_peak_rss_mb": round(loaded.peak_rss_mb),
        "scale_load_rollup_items": loaded.rollup_items,
        "scale_load_event_items": loaded.event_items,
        "scale_load_items_not_written": loaded.skipped_items,
    }


def _twelve_months_of_history(reader: reads.Reader, site: Any, details: list[str]) -> dict[str, float]:
    """The custom 12-month range again, as on a site that has had this traffic for a year: the 11 months
    before the current one get month nodes (and presence) copied from the loaded 30 days, and the site's
    big-site nodes start a year ago. Measured last: it changes the site."""
    from ghostid.dal import state as state_dal
    from ghostid.dal import tree as tree_dal
    from ghostid.dal.tree import NodeRef
    from ghostid.models.dimensions import FAMILIES
    from ghostid.timeutil import add_months_first, month_key

    from bench.meter import quiet

    today = reader.today
    with quiet():
        month = tree_dal.read_tree(SCALE, [(NodeRef("P", "30d"), FAMILIES)]).nodes[NodeRef("P", "30d")]
        presence = tree_dal.read_tree(SCALE, [], [("M", month_key(today))]).presence[("M", month_key(today))]
        items: list[dict[str, Any]] = []
        for back in range(1, 12):
            key = month_key(add_months_first(today, -back))
            items += tree_dal.node_items(SCALE, NodeRef("M", key), month.aggregate, FAMILIES)
            items.append(tree_dal.presence_items(SCALE, "M", key, presence))
        tree_dal.put_nodes(items)
        state = state_dal.get_state(SCALE)
        first = site.zone.day_start(add_months_first(today, -11))
        state_dal.settle(SCALE, state.until, {}, True, first)
    params = {"from": str(add_months_first(today, -11)), "to": str(today)}
    reader.one("custom_12mo_with_history", "stats", params)
    details.append(f"scale custom_12mo_with_history: {reader.out.where['custom_12mo_with_history']}")
    return {
        "scale_custom_12mo_with_history_requests": reader.out.figures["custom_12mo_with_history_requests"],
        "scale_custom_12mo_with_history_rcu": reader.out.figures["custom_12mo_with_history_rcu"],
    }


def _finish(results: dict[str, float], missing: dict[str, str], details: list[str], started: float) -> None:
    path = harness.ROOT / "bench" / "where-scale.txt"
    path.write_text("\n".join(details) + "\n")
    merged = report.write(results, "scale")
    print()
    print(report.table(results, missing, time.perf_counter() - started))
    lacking = report.unwritten(merged)
    print(
        f"named keys not in results.json yet: {', '.join(lacking)}" if lacking else "every named key written"
    )
    print(f"peak RSS of the whole run {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    print(f"where each figure's units went: {path.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
