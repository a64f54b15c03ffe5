"""The peers beside our figures: the same 30-day dashboard read, on the same events, in two engines.

- **ClickHouse, Plausible-like** (chDB, in process): Plausible's `events_v2` columns in a MergeTree
  `ORDER BY (site_id, toDate(timestamp), user_id)`, read with Plausible's metric expressions.
- **PostgreSQL, Umami** (pgserver: a real PostgreSQL 16 server started from the wheel): Umami's
  `website_event` and `session` tables with every index its migrations create, read with its own
  `getWebsiteStats`, pages (`getPageviewMetrics`) and countries (`getSessionMetrics`) queries,
  translated from Umami v3.1.0 (commit `UMAMI_COMMIT`) as its Prisma `rawQuery` sends them.

The window is ours: the 30 calendar days (UTC) ending with the day of `now`. Events arrive as dicts
in the import shape (README, "Import format") and are loaded in chunks, so memory stays bounded.
Neither engine is imported before a load function is called: the rest of the bench runs without
them. The README's performance section says what is and is not comparable.

    python -m bench.peers --events 1000 200000 2000000 [--shape demo|scale] [--runs 15]
"""

from __future__ import annotations

import argparse
import atexit
import itertools
import os
import re
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ghostid.timeutil import DAY_MS, parse_timestamp

UMAMI_COMMIT = "c0ea3aefbee7a3429ee2f824b06dc4a9dbe0b7e1"  # umami-software/umami, v3.1.0
CHUNK_EVENTS = 50_000  # events held in memory at once while loading
WARM_UP_READS = 2
TOP = 10
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
PAGEVIEW, CUSTOM_EVENT = 1, 2  # Umami's event_type values; Plausible's `name` is 'pageview' or the event's
# One tab-separated row per event, read by both engines (ClickHouse's TabSeparated and PostgreSQL's
# COPY text format escape alike). Empty means unknown.
ROW_COLUMNS = (
    ("site_id", "UInt64", "bigint"),
    ("ts_ms", "Int64", "bigint"),
    ("event_type", "UInt8", "integer"),
    ("event_name", "String", "text"),
    ("path", "String", "text"),
    ("title", "String", "text"),
    ("visitor", "String", "text"),
    ("session", "String", "text"),
    ("referrer", "String", "text"),
    ("referrer_host", "String", "text"),
    ("referrer_path", "String", "text"),
    ("country", "String", "text"),
    ("city", "String", "text"),
    ("device", "String", "text"),
    ("browser", "String", "text"),
    ("os", "String", "text"),
    *((key, "String", "text") for key in UTM_KEYS),
)
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""}
_NEEDS_ESCAPE = re.compile("[\\\\\t\n\r\x00]")


class PeerUnavailable(RuntimeError):
    """The engine cannot run here: its package is not installed, or it failed to start."""


@dataclass(frozen=True)
class PeerDashboard:
    """One engine's answer. What `sessions` and `top_pages` count differs by engine (see the queries)."""

    visitors: int
    sessions: int
    pageviews: int
    total_events: int | None  # Umami's dashboard has no such figure
    top_pages: tuple[tuple[str, int], ...]
    countries: tuple[tuple[str, int], ...]


# --- events to rows (shared by both engines) -------------------------------------------------------


class CountryCodes:
    """Both peers store a country as two characters (Plausible `FixedString(2)`, Umami `CHAR(2)`):
    each distinct name gets a code (AA, AB, ...) as it first appears, and answers are named back."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}
        self._names: dict[str, str] = {}

    def code(self, name: str | None) -> str:
        if not name:
            return ""
        if name not in self._codes:
            number = len(self._codes)
            if number >= 26 * 26:
                raise ValueError("more than 676 distinct countries do not fit two-letter codes")
            self._codes[name] = chr(65 + number // 26) + chr(65 + number % 26)
            self._names[self._codes[name]] = name
        return self._codes[name]

    def name(self, code: str) -> str:
        return self._names[code]


@dataclass
class LoadStats:
    """What a load consumed: events per site, and seconds spent generating (pulling) versus loading."""

    sites: dict[int, int] = field(default_factory=dict)
    chunks: int = 0
    generate_seconds: float = 0.0
    load_seconds: float = 0.0

    @property
    def events(self) -> int:
        return sum(self.sites.values())


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if _NEEDS_ESCAPE.search(text) is None:  # the common case, and much faster than str.translate
        return text
    return _NEEDS_ESCAPE.sub(lambda match: _ESCAPES[match.group()], text)


def _page_path(page: str) -> str:
    """The path both peers store (Plausible `pathname`, Umami `url_path`): no host, query or fragment."""
    if "://" in page:
        page = urlsplit(page).path or "/"
    return page.split("?", 1)[0].split("#", 1)[0]


def _referrer_parts(referrer: str | None) -> tuple[str, str]:
    if not referrer:
        return "", ""
    parts = urlsplit(referrer)
    host = (parts.hostname or "").removeprefix("www.")
    return host, parts.path


def _row(event: Mapping[str, Any], site_id: int, countries: CountryCodes) -> str:
    props = event.get("props") or {}
    host, referrer_path = _referrer_parts(event.get("referrer"))
    values = (
        site_id,
        parse_timestamp(str(event["timestamp"])),
        PAGEVIEW if event["type"] == "pageview" else CUSTOM_EVENT,
        "" if event["type"] == "pageview" else event.get("event_name"),
        _page_path(str(event["page"])),
        event.get("page_title"),
        event["ghost_vid"],
        event["session_id"],
        event.get("referrer"),
        host,
        referrer_path,
        countries.code(event.get("country")),
        event.get("city"),
        event.get("device_type"),
        event.get("browser"),
        event.get("os"),
        *(props.get(key) for key in UTM_KEYS),
    )
    return "\t".join(_text(v) for v in values) + "\n"


def _chunks(
    events: Iterable[Mapping[str, Any]], site_id: int, countries: CountryCodes, stats: LoadStats
) -> Iterator[str]:
    """Tab-separated text of up to CHUNK_EVENTS events at a time; an event's own `site_id` wins."""
    source = iter(events)
    while True:
        pulled = time.perf_counter()
        batch = list(itertools.islice(source, CHUNK_EVENTS))
        stats.generate_seconds += time.perf_counter() - pulled
        if not batch:
            return
        stats.chunks += 1
        rows = []
        for event in batch:
            site = int(event.get("site_id", site_id))
            stats.sites[site] = stats.sites.get(site, 0) + 1
            rows.append(_row(event, site, countries))
        yield "".join(rows)


def _timed_load(load: Callable[[Iterator[str]], None], chunks: Iterator[str], stats: LoadStats) -> None:
    started = time.perf_counter()
    load(chunks)
    stats.load_seconds = time.perf_counter() - started - stats.generate_seconds


def _window_ms(now: int) -> tuple[int, int]:
    """Our 30d window, `[first day, last day + 1)` in epoch milliseconds."""
    from ghostid.logic.periods import preset
    from ghostid.timeutil import Zone

    period = preset("30d", Zone("UTC"), now)  # the 30 local days ending today
    return period.start, period.end


def _median_seconds(read: Callable[[], object], runs: int) -> float:
    for _ in range(WARM_UP_READS):
        read()
    times = []
    for _ in range(max(runs, 1)):
        started = time.perf_counter()
        read()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _scratch_directory(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


# --- ClickHouse, Plausible-like -------------------------------------------------------------------

# Plausible's events_v2 (priv/ingest_repo/structure.sql), the columns our events fill. Its current
# key is (site_id, toDate(timestamp), name, user_id, timestamp); the issue asks for the original one.
_CH_TABLE = """
CREATE TABLE {db}.events_v2 (
    timestamp DateTime CODEC(Delta(4), LZ4),
    name LowCardinality(String),
    site_id UInt64,
    user_id UInt64,
    session_id UInt64,
    hostname String CODEC(ZSTD(3)),
    pathname String CODEC(ZSTD(3)),
    referrer String CODEC(ZSTD(3)),
    referrer_source String CODEC(ZSTD(3)),
    country_code FixedString(2),
    screen_size LowCardinality(String),
    operating_system LowCardinality(String),
    browser LowCardinality(String),
    utm_medium String CODEC(ZSTD(3)),
    utm_source String CODEC(ZSTD(3)),
    utm_campaign String CODEC(ZSTD(3)),
    utm_content String CODEC(ZSTD(3)),
    utm_term String CODEC(ZSTD(3)),
    city_geoname_id UInt32
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site_id, toDate(timestamp), user_id)
SAMPLE BY user_id
SETTINGS index_granularity = 8192
"""
# user_id and session_id are 64-bit hashes, as Plausible's are (SipHash of the visitor's salted
# identity; a random 64-bit session id); city is a number, as Plausible's geoname id is.
_CH_INSERT = """
INSERT INTO {db}.events_v2
SELECT toDateTime(intDiv(ts_ms, 1000)), if(event_type = 1, 'pageview', event_name), site_id,
       sipHash64(visitor), sipHash64(session), '', path, referrer, referrer_host, country,
       device, os, browser, utm_medium, utm_source, utm_campaign, utm_content, utm_term,
       if(city = '', 0, toUInt32(sipHash64(city) % 4294967296))
FROM file('{path}', 'TabSeparated', '{schema}')
"""
# Plausible's metrics on the events table: visitors uniq(user_id), visits uniq(session_id),
# pageviews countIf(name = 'pageview'), events count(*); timestamps filtered >= first, <= last.
_CH_OVERVIEW = """
SELECT uniq(user_id), uniq(session_id), countIf(name = 'pageview'), count()
FROM {db}.events_v2
WHERE site_id = {site} AND timestamp >= toDateTime({start}) AND timestamp <= toDateTime({last})
"""
_CH_PAGES = """
SELECT pathname, countIf(name = 'pageview') AS pageviews
FROM {db}.events_v2
WHERE site_id = {site} AND timestamp >= toDateTime({start}) AND timestamp <= toDateTime({last})
  AND name = 'pageview'
GROUP BY pathname
ORDER BY pageviews DESC, pathname ASC
LIMIT {top}
"""
# Plausible's countries report leaves out unknown countries (country_code '\\0\\0').
_CH_COUNTRIES = """
SELECT country_code, uniq(user_id) AS visitors
FROM {db}.events_v2
WHERE site_id = {site} AND timestamp >= toDateTime({start}) AND timestamp <= toDateTime({last})
  AND country_code != '\\0\\0'
GROUP BY country_code
ORDER BY visitors DESC, country_code ASC
LIMIT {top}
"""


class _ChdbEngine:
    """chDB allows one data path per process: one engine, one database per handle."""

    _connection: Any = None
    _directory: Path | None = None
    _databases = itertools.count(1)

    @classmethod
    def connection(cls) -> tuple[Any, Path]:
        if cls._connection is None:
            try:
                import chdb
            except ImportError as exc:
                raise PeerUnavailable(f"chdb is not installed ({exc}); pip install -e '.[dev]'") from exc
            directory = _scratch_directory("ghostid-peers-chdb-")
            try:
                cls._connection = chdb.connect(str(directory))  # type: ignore[no-untyped-call]
            except Exception as exc:
                raise PeerUnavailable(f"chDB did not start: {exc}") from exc
            cls._directory = directory
        assert cls._directory is not None
        return cls._connection, cls._directory

    @classmethod
    def new_database(cls) -> str:
        return f"peers_{next(cls._databases)}"


@dataclass
class ClickHouseHandle:
    """A loaded Plausible-like table: its database in the process's chDB, the country codes, the load."""

    connection: Any
    database: str
    countries: CountryCodes
    stats: LoadStats

    def query(self, sql: str) -> list[list[Any]]:
        import json

        result = self.connection.query(sql, "JSONCompact")
        return list(json.loads(result.bytes())["data"])

    def storage_bytes(self) -> int:
        rows = self.query(
            f"SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '{self.database}' AND active"
        )
        return int(rows[0][0])

    def close(self) -> None:
        self.connection.query(f"DROP DATABASE IF EXISTS {self.database}")

    def __enter__(self) -> ClickHouseHandle:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def load_clickhouse(events: Iterable[Mapping[str, Any]], site_id: int = 1) -> ClickHouseHandle:
    """Loads the events (under `site_id` unless an event carries its own) into a new Plausible-like table."""
    connection, directory = _ChdbEngine.connection()
    handle = ClickHouseHandle(connection, _ChdbEngine.new_database(), CountryCodes(), LoadStats())
    connection.query(f"CREATE DATABASE {handle.database}")
    connection.query(_CH_TABLE.format(db=handle.database))
    chunk_file = directory / f"{handle.database}.tsv"
    schema = ", ".join(f"{name} {ch_type}" for name, ch_type, _ in ROW_COLUMNS)
    insert = _CH_INSERT.format(db=handle.database, path=chunk_file, schema=schema)

    def load(chunks: Iterator[str]) -> None:
        for text in chunks:
            chunk_file.write_text(text, encoding="utf-8")
            connection.query(insert)
        chunk_file.unlink(missing_ok=True)
        # The merged state a table reaches in the background; measuring before merges would be unfair.
        connection.query(f"OPTIMIZE TABLE {handle.database}.events_v2 FINAL")

    _timed_load(load, _chunks(events, site_id, handle.countries, handle.stats), handle.stats)
    return handle


def _ch_sql(template: str, handle: ClickHouseHandle, site_id: int, now: int) -> str:
    start, end = _window_ms(now)
    return template.format(
        db=handle.database, site=int(site_id), start=start // 1000, last=end // 1000 - 1, top=TOP
    )


def clickhouse_dashboard(handle: ClickHouseHandle, site_id: int, now: int) -> PeerDashboard:
    """The three queries of the dashboard read, in order, over the 30 days ending with `now` (epoch ms)."""
    _require_site(handle.stats, site_id)
    visitors, visits, pageviews, events = handle.query(_ch_sql(_CH_OVERVIEW, handle, site_id, now))[0]
    pages = handle.query(_ch_sql(_CH_PAGES, handle, site_id, now))
    countries = handle.query(_ch_sql(_CH_COUNTRIES, handle, site_id, now))
    return PeerDashboard(
        visitors=int(visitors),
        sessions=int(visits),
        pageviews=int(pageviews),
        total_events=int(events),
        top_pages=tuple((str(page), int(views)) for page, views in pages),
        countries=tuple((handle.countries.name(code), int(count)) for code, count in countries),
    )


def clickhouse_dashboard_seconds(handle: ClickHouseHandle, site_id: int, now: int, runs: int) -> float:
    """Median seconds of a warm dashboard read (after WARM_UP_READS unmeasured ones)."""
    return _median_seconds(lambda: clickhouse_dashboard(handle, site_id, now), runs)


# --- PostgreSQL, Umami ----------------------------------------------------------------------------

# prisma/schema.prisma and prisma/migrations at UMAMI_COMMIT: the tables as the migrations leave them.
_PG_TABLES = """
CREATE TABLE session (
    session_id UUID NOT NULL,
    website_id UUID NOT NULL,
    browser VARCHAR(20),
    os VARCHAR(20),
    device VARCHAR(20),
    screen VARCHAR(11),
    language VARCHAR(35),
    country CHAR(2),
    region VARCHAR(20),
    city VARCHAR(50),
    distinct_id VARCHAR(50),
    created_at TIMESTAMPTZ(6) DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT session_pkey PRIMARY KEY (session_id)
);
CREATE TABLE website_event (
    event_id UUID NOT NULL,
    website_id UUID NOT NULL,
    session_id UUID NOT NULL,
    visit_id UUID NOT NULL,
    created_at TIMESTAMPTZ(6) DEFAULT CURRENT_TIMESTAMP,
    url_path VARCHAR(500) NOT NULL,
    url_query VARCHAR(500),
    utm_source VARCHAR(255),
    utm_medium VARCHAR(255),
    utm_campaign VARCHAR(255),
    utm_content VARCHAR(255),
    utm_term VARCHAR(255),
    referrer_path VARCHAR(500),
    referrer_query VARCHAR(500),
    referrer_domain VARCHAR(500),
    page_title VARCHAR(500),
    gclid VARCHAR(255),
    fbclid VARCHAR(255),
    msclkid VARCHAR(255),
    ttclid VARCHAR(255),
    li_fat_id VARCHAR(255),
    twclid VARCHAR(255),
    event_type INTEGER NOT NULL DEFAULT 1,
    event_name VARCHAR(50),
    tag VARCHAR(50),
    hostname VARCHAR(100),
    lcp DECIMAL(10,1),
    inp DECIMAL(10,1),
    cls DECIMAL(10,4),
    fcp DECIMAL(10,1),
    ttfb DECIMAL(10,1)
);
CREATE UNLOGGED TABLE peers_staging ({staging_columns});
"""
# Every index the migrations leave on the two tables, built once the rows are in (a bulk load's
# usual order; the result is the same index, only built faster).
_PG_INDEXES = """
ALTER TABLE website_event ADD CONSTRAINT website_event_pkey PRIMARY KEY (event_id);
CREATE INDEX session_created_at_idx ON session (created_at);
CREATE INDEX session_website_id_idx ON session (website_id);
CREATE INDEX session_website_id_created_at_idx ON session (website_id, created_at);
CREATE INDEX session_website_id_created_at_browser_idx ON session (website_id, created_at, browser);
CREATE INDEX session_website_id_created_at_os_idx ON session (website_id, created_at, os);
CREATE INDEX session_website_id_created_at_device_idx ON session (website_id, created_at, device);
CREATE INDEX session_website_id_created_at_screen_idx ON session (website_id, created_at, screen);
CREATE INDEX session_website_id_created_at_language_idx ON session (website_id, created_at, language);
CREATE INDEX session_website_id_created_at_country_idx ON session (website_id, created_at, country);
CREATE INDEX session_website_id_created_at_region_idx ON session (website_id, created_at, region);
CREATE INDEX session_website_id_created_at_city_idx ON session (website_id, created_at, city);
CREATE INDEX website_event_created_at_idx ON website_event (created_at);
CREATE INDEX website_event_session_id_idx ON website_event (session_id);
CREATE INDEX website_event_visit_id_idx ON website_event (visit_id);
CREATE INDEX website_event_website_id_idx ON website_event (website_id);
CREATE INDEX website_event_website_id_created_at_idx ON website_event (website_id, created_at);
CREATE INDEX website_event_website_id_created_at_url_path_idx
    ON website_event (website_id, created_at, url_path);
CREATE INDEX website_event_website_id_created_at_url_query_idx
    ON website_event (website_id, created_at, url_query);
CREATE INDEX website_event_website_id_created_at_referrer_domain_idx
    ON website_event (website_id, created_at, referrer_domain);
CREATE INDEX website_event_website_id_created_at_page_title_idx
    ON website_event (website_id, created_at, page_title);
CREATE INDEX website_event_website_id_created_at_event_name_idx
    ON website_event (website_id, created_at, event_name);
CREATE INDEX website_event_website_id_created_at_tag_idx ON website_event (website_id, created_at, tag);
CREATE INDEX website_event_website_id_session_id_created_at_idx
    ON website_event (website_id, session_id, created_at);
CREATE INDEX website_event_website_id_visit_id_created_at_idx
    ON website_event (website_id, visit_id, created_at);
CREATE INDEX website_event_website_id_created_at_hostname_idx
    ON website_event (website_id, created_at, hostname);
"""
# Umami's ids are UUIDs: session_id is one per visitor (Umami's "session" is a visitor: a hash of
# website, IP, user agent and a monthly salt), visit_id one per visit (our session), event_id random.
_PG_MOVE_STAGED = """
INSERT INTO website_event (event_id, website_id, session_id, visit_id, created_at, url_path,
    utm_source, utm_medium, utm_campaign, utm_content, utm_term,
    referrer_path, referrer_domain, page_title, event_type, event_name)
SELECT gen_random_uuid(), md5('site:' || site_id)::uuid, md5('visitor:' || site_id || ':' || visitor)::uuid,
    md5('visit:' || site_id || ':' || session)::uuid, timestamptz 'epoch' + ts_ms * interval '1 millisecond',
    left(path, 500), nullif(left(utm_source, 255), ''), nullif(left(utm_medium, 255), ''),
    nullif(left(utm_campaign, 255), ''), nullif(left(utm_content, 255), ''), nullif(left(utm_term, 255), ''),
    nullif(left(referrer_path, 500), ''), nullif(left(referrer_host, 500), ''), nullif(left(title, 500), ''),
    event_type, nullif(left(event_name, 50), '')
FROM peers_staging;
INSERT INTO session (session_id, website_id, browser, os, device, country, city, created_at)
SELECT DISTINCT ON (1) md5('visitor:' || site_id || ':' || visitor)::uuid, md5('site:' || site_id)::uuid,
    nullif(left(browser, 20), ''), nullif(left(os, 20), ''), nullif(left(device, 20), ''),
    nullif(country, ''), nullif(left(city, 50), ''), timestamptz 'epoch' + ts_ms * interval '1 millisecond'
FROM peers_staging
ORDER BY 1, ts_ms
ON CONFLICT (session_id) DO NOTHING;
TRUNCATE peers_staging;
"""
# src/queries/sql/getWebsiteStats.ts, relationalQuery, no filters (the stats route runs it once more
# for the comparison period; we run the current period only, as our 30d answer has no comparison).
_UMAMI_STATS = """
    select
      cast(coalesce(sum(t.c), 0) as bigint) as "pageviews",
      count(distinct t.session_id) as "visitors",
      count(distinct t.visit_id) as "visits",
      coalesce(sum(case when t.c = 1 then 1 else 0 end), 0) as "bounces",
      cast(coalesce(sum(floor(extract(epoch from (t.max_time - t.min_time)))), 0) as bigint) as "totaltime"
    from (
      select
        website_event.session_id,
        website_event.visit_id,
        count(*) as "c",
        min(website_event.created_at) as "min_time",
        max(website_event.created_at) as "max_time"
      from website_event
      where website_event.website_id = %s::uuid
        and website_event.created_at between %s and %s
        and website_event.event_type NOT IN (2, 5)
      group by 1, 2
    ) as t
"""
# src/queries/sql/pageviews/getPageviewMetrics.ts, type=path, limit 10 as the website page asks.
_UMAMI_PAGES = """
    select url_path x,
      count(distinct website_event.session_id) as y
    from website_event
    where website_event.website_id = %s::uuid
      and website_event.created_at between %s and %s
      and website_event.event_type NOT IN (2, 5)
      and url_path != ''
    group by 1
    order by 2 desc
    limit 10
    offset 0
"""
# src/queries/sql/sessions/getSessionMetrics.ts, type=country (a session column: joins session).
_UMAMI_COUNTRIES = """
    select
      country x,
      count(distinct website_event.session_id) y
    from website_event
    inner join session on website_event.session_id = session.session_id
      and website_event.website_id = session.website_id
    where website_event.website_id = %s::uuid
      and website_event.created_at between %s and %s
      and website_event.event_type NOT IN (2, 5)
      and country != ''
    group by 1
    order by 2 desc
    limit 10
    offset 0
"""


class _PgEngine:
    """One PostgreSQL server per process (pgserver, data in a scratch directory); a database per handle."""

    _server: Any = None
    _databases = itertools.count(1)

    @classmethod
    def server(cls) -> Any:
        if cls._server is None:
            try:
                with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
                    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
                    from pgserver.postgres_server import get_server
                import psycopg  # noqa: F401  (the client the handles use)
            except ImportError as exc:
                raise PeerUnavailable(
                    f"pgserver or psycopg is missing ({exc}); pip install -e '.[dev]'"
                ) from exc
            try:
                cls._server = get_server(_scratch_directory("ghostid-peers-pg-"), cleanup_mode="delete")
            except Exception as exc:
                raise PeerUnavailable(f"PostgreSQL (pgserver) did not start: {exc}") from exc
        return cls._server

    @classmethod
    def connect(cls) -> tuple[Any, str]:
        import psycopg

        server = cls.server()
        database = f"peers_{next(cls._databases)}"
        with psycopg.connect(server.get_uri(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {database}")
        # prepare_threshold=None: never prepare, as Prisma's driver adapter sends each query unnamed.
        return psycopg.connect(server.get_uri(database), autocommit=True, prepare_threshold=None), database


@dataclass
class PostgresHandle:
    """A loaded Umami database: its connection, the site ids as UUIDs, the country codes, the load."""

    connection: Any
    database: str
    countries: CountryCodes
    stats: LoadStats

    def storage_bytes(self) -> int:
        row = self.connection.execute(
            "select pg_total_relation_size('website_event') + pg_total_relation_size('session')"
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        import psycopg

        self.connection.close()
        with psycopg.connect(_PgEngine.server().get_uri(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.database}")

    def __enter__(self) -> PostgresHandle:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def load_postgres(events: Iterable[Mapping[str, Any]], site_id: int = 1) -> PostgresHandle:
    """Loads the events (under `site_id` unless an event carries its own) into Umami's tables, by COPY."""
    connection, database = _PgEngine.connect()
    handle = PostgresHandle(connection, database, CountryCodes(), LoadStats())
    staging = ", ".join(f"{name} {pg_type}" for name, _, pg_type in ROW_COLUMNS)
    connection.execute(_PG_TABLES.format(staging_columns=staging))

    def load(chunks: Iterator[str]) -> None:
        for text in chunks:
            with connection.cursor().copy("COPY peers_staging FROM STDIN") as copy:
                copy.write(text)
            connection.execute(_PG_MOVE_STAGED)
        connection.execute("DROP TABLE peers_staging")
        connection.execute("SET maintenance_work_mem = '256MB'")  # index builds only
        connection.execute(_PG_INDEXES)
        connection.execute("RESET maintenance_work_mem")
        connection.execute("VACUUM (ANALYZE) website_event, session")  # what autovacuum does in time

    _timed_load(load, _chunks(events, site_id, handle.countries, handle.stats), handle.stats)
    return handle


def website_uuid(site_id: int) -> str:
    """The Umami website id of one of our sites (as the load stores it)."""
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"site:{site_id}".encode()).hexdigest()))


def postgres_dashboard(handle: PostgresHandle, site_id: int, now: int) -> PeerDashboard:
    """Umami's three queries of the dashboard read, in order, over the 30 days ending with `now`."""
    _require_site(handle.stats, site_id)
    start, end = _window_ms(now)
    # Umami's end date is the window's last millisecond (`between` includes both ends).
    params = (website_uuid(site_id), _datetime(start), _datetime(end - 1))
    pageviews, visitors, visits, _bounces, _total_time = handle.connection.execute(
        _UMAMI_STATS, params
    ).fetchone()
    pages = handle.connection.execute(_UMAMI_PAGES, params).fetchall()
    countries = handle.connection.execute(_UMAMI_COUNTRIES, params).fetchall()
    return PeerDashboard(
        visitors=int(visitors),
        sessions=int(visits),
        pageviews=int(pageviews),
        total_events=None,
        top_pages=tuple((str(page), int(count)) for page, count in pages),
        countries=tuple((handle.countries.name(code), int(count)) for code, count in countries),
    )


def postgres_dashboard_seconds(handle: PostgresHandle, site_id: int, now: int, runs: int) -> float:
    """Median seconds of a warm dashboard read (after WARM_UP_READS unmeasured ones)."""
    return _median_seconds(lambda: postgres_dashboard(handle, site_id, now), runs)


def _datetime(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _require_site(stats: LoadStats, site_id: int) -> None:
    if site_id not in stats.sites:
        raise ValueError(f"site {site_id} was not loaded into this handle (loaded: {sorted(stats.sites)})")


# --- measuring from the command line --------------------------------------------------------------


def scale_events(visitors: int, seed: int, end_ms: int, days: int = 30) -> Iterator[dict[str, Any]]:
    """A simple streaming site shaped like the scale site: 100 countries, 20,000 pages, 500 referrer
    hosts, 200 campaigns, about 5.5 events a visitor (for trying the peers; the bench has its own)."""
    import random

    from ghostid.timeutil import format_timestamp

    rng = random.Random(seed)
    devices = (
        ("desktop", "Chrome", "Windows"),
        ("desktop", "Safari", "macOS"),
        ("mobile", "Chrome", "Android"),
    )
    for number in range(visitors):
        vid = f"gv_{number:08x}_{rng.getrandbits(32):08x}"
        country = f"Country {min(int(rng.expovariate(0.06)), 99)}"
        device, browser, os_name = rng.choice(devices)
        moment = end_ms - int(rng.random() * days * DAY_MS)
        for visit in range(1 + int(rng.expovariate(1.6))):
            referrer = f"https://ref{_popular(rng, 500)}.example/" if rng.random() < 0.6 else None
            props = {"utm_campaign": f"c{rng.randrange(200)}"} if rng.random() < 0.2 else {}
            for step in range(1 + int(rng.expovariate(0.25))):
                if moment >= end_ms:
                    break
                event: dict[str, Any] = {
                    "session_id": f"gs_{number}_{visit}",
                    "ghost_vid": vid,
                    "type": "pageview" if step % 5 != 4 else "custom_event",
                    "event_name": "" if step % 5 != 4 else "cta_clicked",
                    "page": f"/p/{_popular(rng, 20_000)}",
                    "timestamp": format_timestamp(moment),
                    "props": props,
                    "country": country,
                    "device_type": device,
                    "browser": browser,
                    "os": os_name,
                }
                if step == 0 and referrer:
                    event["referrer"] = referrer
                yield event
                moment += rng.randint(5_000, 120_000)
            moment += int(rng.uniform(0.3, 4) * DAY_MS)


def _popular(rng: Any, choices: int) -> int:
    """A few values take most of the traffic, and every value comes up (a long tail)."""
    return min(int(rng.paretovariate(1.0)) - 1, choices - 1) if rng.random() < 0.7 else rng.randrange(choices)


def _events(shape: str, count: int, end_ms: int) -> Iterator[dict[str, Any]]:
    visitors = max(1, round(count / 5.5))
    if shape == "scale":
        return scale_events(visitors, seed=count, end_ms=end_ms)
    from ghostid_local import demo

    return demo.generate(days=30, visitors=visitors, seed=count, end_ms=end_ms)


def _measure(shape: str, count: int, runs: int, engines: list[str], now: int) -> None:
    import resource

    loaders: dict[str, tuple[Callable[..., Any], Callable[..., float]]] = {
        "clickhouse": (load_clickhouse, clickhouse_dashboard_seconds),
        "postgres": (load_postgres, postgres_dashboard_seconds),
    }
    for engine in engines:
        load, seconds = loaders[engine]
        with load(_events(shape, count, now)) as handle:
            median = seconds(handle, 1, now, runs)
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            stats = handle.stats
            print(
                f"{engine:<10} {stats.events:>11,} events  generate {stats.generate_seconds:7.1f} s"
                f"  load {stats.load_seconds:7.1f} s  stored {handle.storage_bytes() / 2**20:8.1f} MiB"
                f"  read median {median * 1000:9.1f} ms  python max RSS {rss_mb:5.0f} MiB"
                f"  load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    from ghostid.timeutil import now_ms

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, nargs="+", default=[1_000, 200_000])
    parser.add_argument("--shape", choices=("demo", "scale"), default="demo")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--engines", nargs="+", choices=("clickhouse", "postgres"), default=["clickhouse", "postgres"]
    )
    args = parser.parse_args(argv)
    now = now_ms()
    for count in args.events:
        _measure(args.shape, count, args.runs, args.engines, now)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
