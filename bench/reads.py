"""What each read route costs on one site: requests and read units of one call, counted by the meter.

Every figure is one call measured after an unmeasured one (warm, and a preset's answer stored), except the
"behind" presets: each is measured once right after a new stream batch (its stored answer is then behind).
Names are generic (`stats_preset_rcu_max`); the commands add the site (`_large`, `scale_`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from bench.harness import Api, Clock, event_item, median_seconds
from bench.meter import Meter, Usage, quiet

PEOPLE_PAGE = "50"


@dataclass
class SiteReads:
    figures: dict[str, float] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # figure -> where its units went
    seconds: dict[str, float] = field(default_factory=dict)  # warm medians


def measured(meter: Meter, call: Callable[[], Any]) -> tuple[Any, Usage]:
    meter.reset()
    result = call()
    return result, meter.reset()


class Reader:
    def __init__(self, api: Api, meter: Meter, clock: Clock, site_id: int, zone: Any) -> None:
        self.api, self.meter, self.clock, self.site_id, self.zone = api, meter, clock, site_id, zone
        self.out = SiteReads()

    @property
    def today(self) -> date:
        day: date = self.zone.date_of(self.clock.ms)
        return day

    def query(self, **params: str) -> dict[str, str]:
        return {"siteId": str(self.site_id), **params}

    def one(self, name: str, route: str, params: dict[str, str], path_id: str | None = None) -> Any:
        """Measures one warm call of a route; records requests and RCU under `name`."""
        query = self.query(**params)
        self.api.call(route, query, path_id)
        body, used = measured(self.meter, lambda: self.api.call(route, query, path_id))
        self.record(name, used)
        return body

    def record(self, name: str, used: Usage) -> None:
        self.out.figures[f"{name}_requests"] = used.total_requests
        self.out.figures[f"{name}_rcu"] = round(used.rcu, 2)
        self.out.where[name] = used.describe()

    def worst(self, name: str, parts: list[str], keys: tuple[str, str] = ("requests_max", "rcu_max")) -> None:
        """`<name>_requests_max` and `<name>_rcu_max` (or other `keys`) over measured parts."""
        figures = self.out.figures
        figures[f"{name}_{keys[0]}"] = max(figures[f"{p}_requests"] for p in parts)
        figures[f"{name}_{keys[1]}"] = max(figures[f"{p}_rcu"] for p in parts)

    def new_batch(self) -> None:
        """One new event in a new session, stored and folded as the stream would deliver it (not counted)."""
        self.clock.set(self.clock.ms + 1_000)
        event = {
            "session_id": f"gs_bench_{self.clock.ms}",
            "ghost_vid": f"gv_bench_{self.clock.ms}",
            "event_id": f"ev_bench_{self.clock.ms}",
            "type": "pageview",
            "page": "/",
            "timestamp": _iso(self.clock.ms - 500),
            "country": "Country 000",
        }
        item = event_item(self.site_id, event)
        with quiet():
            from ghostid.dal.client import dynamodb
            from ghostid.settings import events_table

            dynamodb().put_item(TableName=events_table(), Item=item)
            self.api.fold([item])

    # --- the routes -------------------------------------------------------------------------------------

    def stats(self) -> None:
        from ghostid.logic.periods import PRESETS

        for preset in PRESETS:
            self.one(f"stats_{preset}", "stats", {"timeRange": preset})
        self.worst("stats_preset", [f"stats_{p}" for p in PRESETS])
        self.new_batch()
        for preset in PRESETS:  # each one's stored answer is now behind: the call folds and stores it
            query = self.query(timeRange=preset)
            _, used = measured(self.meter, partial(self.api.call, "stats", query))
            self.record(f"stats_{preset}_behind", used)
        self.worst("stats_preset_behind", [f"stats_{p}_behind" for p in PRESETS])
        today = self.today
        self.one("custom_30d", "stats", {"from": str(today - timedelta(days=29)), "to": str(today)})
        from ghostid.timeutil import add_months_first

        first = add_months_first(today, -11)
        self.one("custom_12mo", "stats", {"from": str(first), "to": str(today)})

    def charts(self) -> None:
        from ghostid.models.dimensions import DIMENSIONS

        self.one("timeseries_30d", "timeseries", {"timeRange": "30d", "interval": "day"})
        names = []
        for dimension in DIMENSIONS:
            self.one(
                f"breakdown_30d_{dimension.name}",
                "breakdown",
                {"timeRange": "30d", "dimension": dimension.name},
            )
            names.append(f"breakdown_30d_{dimension.name}")
        self.worst("breakdown_30d", names, keys=("max_requests", "max_rcu"))  # issue 9's names
        self.one("realtime", "realtime", {})

    def people(self, past: list[tuple[str, dict[str, str]]]) -> None:
        """Lists for a range that ends now, then for past ranges; a visitor profile and a session."""
        leads = self.one("leads_page", "leads", {"timeRange": "30d", "status": "hot", "limit": PEOPLE_PAGE})
        self.one(
            "leads_identified_page",
            "leads",
            {"timeRange": "30d", "status": "identified", "limit": PEOPLE_PAGE},
        )
        sessions = self.one("sessions_page", "sessions", {"timeRange": "30d", "limit": PEOPLE_PAGE})
        for label, params in past:
            self.one(f"leads_page_{label}", "leads", {**params, "status": "hot", "limit": PEOPLE_PAGE})
            self.one(f"sessions_page_{label}", "sessions", {**params, "limit": PEOPLE_PAGE})
        # The most recently seen lead whose profile is there (a bulk load keeps recent sessions' cells only).
        kept = (
            r["ghost_vid"]
            for r in leads["leads"][:10]
            if self.api.status("visitor", self.query(), r["ghost_vid"]) == 200
        )
        visitor = next(kept, None)
        if visitor is not None:
            self.one("visitor", "visitor", {}, path_id=visitor)
        # The longest listed session whose events are there (a bulk load keeps recent sessions' events only).
        by_length = sorted(sessions["sessions"], key=lambda s: -s["event_count"])[:10]
        stored = (s for s in by_length if self.api.status("session", self.query(), s["session_id"]) == 200)
        longest = next(stored, None)
        if longest is not None:
            self.one("session", "session", {}, path_id=longest["session_id"])
            self.out.figures["session_events"] = longest["event_count"]

    def past_ranges(self, oldest_kept: date) -> list[tuple[str, dict[str, str]]]:
        """yesterday, last_month, and custom ranges of 7 and 28 days ending yesterday (when their cells are
        loaded: a range whose last day has no cells would measure an empty partition)."""
        yesterday = self.today - timedelta(days=1)
        ranges = [("yesterday", {"timeRange": "yesterday"})]
        if self.today.replace(day=1) - timedelta(days=1) >= oldest_kept:
            ranges.append(("last_month", {"timeRange": "last_month"}))
        for days in (7, 28):
            ranges.append(
                (f"custom_{days}d", {"from": str(yesterday - timedelta(days=days - 1)), "to": str(yesterday)})
            )
        return ranges

    # --- latency ------------------------------------------------------------------------------------------

    def latencies(self, runs: int) -> None:
        """Warm medians (seconds) of the calls the latency ratios and the peers compare."""
        from ghostid.dal import state as state_dal
        from ghostid.logic.periods import PRESETS

        def call(params: dict[str, str]) -> Callable[[], Any]:
            query = self.query(**params)
            return lambda: self.api.call(self._route(params), query)

        def behind() -> None:
            with quiet():
                state_dal.advance(self.site_id, self.zone.name)

        seconds = self.out.seconds
        lambda_heap()
        for preset in PRESETS:
            seconds[f"stats_{preset}"] = median_seconds(call({"timeRange": preset}), runs)
        seconds["stats_30d_behind"] = median_seconds(call({"timeRange": "30d"}), max(5, runs // 2), behind)
        today = self.today
        custom = {"from": str(today - timedelta(days=29)), "to": str(today)}
        seconds["custom_30d"] = median_seconds(call(custom), max(5, runs // 2))
        for dimension in ("page", "country", "source"):
            seconds[f"breakdown_30d_{dimension}"] = median_seconds(
                call({"timeRange": "30d", "dimension": dimension}), max(5, runs // 2)
            )

    @staticmethod
    def _route(params: dict[str, str]) -> str:
        return "breakdown" if "dimension" in params else "stats"


def lambda_heap() -> None:
    """Times are taken with the bench's own heap (loaded traffic, spools: hundreds of MB no Lambda holds)
    frozen, as a function freezes its import-time heap at cold start (`ghostid.http.api_entry_point`):
    otherwise every full collection a big site's read triggers walks it, and the ratios measure the bench."""
    import gc

    gc.collect()
    gc.freeze()


def access(api: Api, meter: Meter, clock: Clock, site_id: int, calls: int = 20) -> dict[str, float]:
    """What authentication and the rate limit cost in a stats call whose answers are current, with a session
    cookie and with an API key: the credential's one conditional UpdateItem (it checks the credential and
    counts the request in the same write), and for a session the membership GetItem (a key names its site).
    `rate_limit_wcu_per_call` is that UpdateItem's write units, the same for both credentials. Then the
    first call of a new minute (`..._new_minute_...`): the instance guesses the minute it last saw, and a
    wrong guess is a refused write and a second one (DynamoDB Local reports no units for the refused one;
    DynamoDB bills it 1 WCU)."""
    from ghostid import timeutil
    from ghostid.dal import apikeys as apikeys_dal
    from ghostid.dal import auth as auth_dal
    from ghostid.logic import apikeys

    counting = "auth.count_request"
    auth_dal.count_session_request = meter.wrap(auth_dal.count_session_request, counting)
    apikeys_dal.count_key_request = meter.wrap(apikeys_dal.count_key_request, counting)
    with quiet():
        key = apikeys.create_key(site_id, "bench", timeutil.now_ms())
    query = {"siteId": str(site_id), "timeRange": "7d"}
    out: dict[str, float] = {}
    for label, credential in (("session", {}), ("api_key", {"authorization": f"Bearer {key}"})):
        api.call("stats", query, credential=credential)  # warm, and the answer stored
        meter.reset()
        for _ in range(calls):
            api.call("stats", query, credential=credential)
        used = meter.reset()
        rcu, wcu, requests = used.scope_usage(counting)
        out[f"stats_requests_per_call_with_{label}"] = round(used.total_requests / calls, 2)
        out[f"stats_rcu_per_call_with_{label}"] = round(used.rcu / calls, 3)
        out[f"stats_wcu_per_call_with_{label}"] = round(used.wcu / calls, 3)
        out[f"rate_limit_requests_per_call_with_{label}"] = round(requests / calls, 2)
        out[f"rate_limit_wcu_per_call_with_{label}"] = round(wcu / calls, 3)
        out[f"rate_limit_rcu_per_call_with_{label}"] = round(rcu / calls, 3)
        clock.set(clock.ms + 60_000)
        api.call("stats", query, credential=credential)
        _, wcu, requests = meter.reset().scope_usage(counting)
        out[f"rate_limit_requests_new_minute_with_{label}"] = requests
        out[f"rate_limit_wcu_new_minute_with_{label}"] = round(wcu, 3)
    out["rate_limit_wcu_per_call"] = max(
        out["rate_limit_wcu_per_call_with_session"], out["rate_limit_wcu_per_call_with_api_key"]
    )
    return out


def _iso(ms: int) -> str:
    from ghostid.timeutil import format_timestamp

    return format_timestamp(ms)


def latency_ratios(big: SiteReads, small: SiteReads) -> dict[str, float]:
    """Warm latency of a big site over the small site's: presets (their summed medians, and the worst
    preset), custom 30 days, breakdowns (summed over the dimensions measured)."""
    from ghostid.logic.periods import PRESETS

    def ratio(names: list[str]) -> float:
        return round(sum(big.seconds[n] for n in names) / sum(small.seconds[n] for n in names), 3)

    presets = [f"stats_{p}" for p in PRESETS]
    breakdowns = [n for n in big.seconds if n.startswith("breakdown_")]
    return {
        "latency_ratio_presets": ratio(presets),
        "latency_ratio_presets_worst": max(ratio([p]) for p in presets),
        "latency_ratio_custom": ratio(["custom_30d"]),
        "latency_ratio_breakdowns": ratio(breakdowns),
    }
