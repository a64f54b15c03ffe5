"""`ghostid import` (PRODUCT §7) against moto: normalised exactly as the collector normalises, every bad
line reported with its number, nothing written unless all are good, idempotent, bounded memory, progress
on a terminal only, standard input spooled."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ghostid.dal import client as ddb_client
from ghostid.dal import events as events_dal
from ghostid.dal import sites as sites_dal
from ghostid.errors import InvalidParameter
from ghostid.logic import collector, importer
from ghostid.models.events import Event
from ghostid.models.sites import Site
from ghostid.timeutil import format_timestamp
from ghostid_local import cli, target
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.scenario import stored_items

SITE, TRACKED = 4, 5
NOW_MS = 1_773_163_200_000
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
BASE = {"session_id": "gs_1", "ghost_vid": "gv_1", "type": "pageview", "page": "/"}


def line(**fields: Any) -> str:
    return json.dumps({**BASE, "timestamp": format_timestamp(NOW_MS), **fields})


def stored(site: int = SITE) -> list[dict[str, Any]]:
    rows = [events_dal.item_to_event(item).model_dump() for item in stored_items()]
    return [row for row in rows if row["site_id"] == site]


def ghostid(*args: str, stdin: bytes = b"", err: io.StringIO | None = None) -> tuple[int, str, str]:
    """The `ghostid` command on moto's tables (not aimed at a local stack), with `stdin` as its input."""
    out, err = io.StringIO(), err or io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(target, "use_local", lambda endpoint=None: None)
        patch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = cli.main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def sites(aws: None) -> None:
    sites_dal.put_site(Site(site_id=SITE, domain="example.com"))
    sites_dal.put_site(Site(site_id=TRACKED, domain="example.com"))


# ------------------------------------------------------------------ exactly the collector's normalisation


def collected(event: dict[str, Any]) -> tuple[str, Any]:
    """What the collector does with the event: ("stored", row) or ("rejected", its problems)."""
    body = json.dumps({"site_id": TRACKED, **event}).encode()
    request = collector.TrackRequest(body=body, content_type="application/json", user_agent=CHROME)
    try:
        collector.track(request, NOW_MS)
    except InvalidParameter as error:
        return "rejected", error.message.removeprefix("Invalid event: ").removesuffix(".")
    (row,) = stored(TRACKED)
    return "stored", row


def imported(event: dict[str, Any]) -> tuple[str, Any]:
    try:
        importer.import_events(SITE, [json.dumps({**event, "timestamp": format_timestamp(NOW_MS)})])
    except importer.ImportRejected as rejected:
        (error,) = rejected.errors
        return "rejected", error.message
    (row,) = stored(SITE)
    return "stored", row


def comparable(outcome: tuple[str, Any]) -> tuple[str, Any]:
    kind, value = outcome
    if kind == "rejected":  # the same problems (the two models list their fields in another order)
        return kind, sorted(value.split("; "))
    server_set = {"site_id", "timestamp", "country", "city", "device_type", "browser", "os"}
    return kind, {k: v for k, v in value.items() if k not in server_set}


texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
path_parts = st.lists(st.sampled_from(["pricing", "a b", "%7E", "ünï", "demo", "", ".."]), max_size=4)
query_keys = st.sampled_from(["utm_source", "UTM_Medium", "utm_campaign", "utm_term", "utm_id", "q", "id"])
queries = st.lists(
    st.tuples(query_keys, st.sampled_from(["", "x", "news letter", "%F0%9F%91%8B", "a" * 600]))
)
pages = st.builds(
    lambda origin, parts, query, fragment: (
        origin
        + "/"
        + "/".join(parts)
        + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        + fragment
    ),
    st.sampled_from(["", "https://Example.com", "http://example.com:8080", "ftp://example.com", "x"]),
    path_parts,
    queries,
    st.sampled_from(["", "#top", "#a?b"]),
) | st.sampled_from(["", "/" + "p" * 1030, "pricing", "https://", "  /padded  "])
referrers = st.none() | st.sampled_from(
    [
        "",
        "https://news.ycombinator.com/item?id=1",
        "https://user:pw@News.YCombinator.com/item?id=1#x",
        "https://www.google.com/",
        "android-app://com.google.android.gm/",
        "not a url",
        "https://example.com/" + "r" * 1100,
        "https://example.com/?" + "q" * 3000,
    ]
)
prop_values = (
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
    | st.sampled_from(["v" * 513, [1], {"a": 1}])
)
props = st.none() | st.dictionaries(
    st.sampled_from(["a", "utm_source", "", "k" * 65]), prop_values, max_size=3
)
events = st.fixed_dictionaries(
    {"session_id": st.just("gs_1"), "ghost_vid": st.just("gv_1"), "page": pages},
    optional={
        "type": st.sampled_from(["pageview", "custom_event", "click"]),
        "event_name": st.sampled_from(["", "signup", None, "n" * 129]),
        "page_title": st.sampled_from(["", None, "Pricing", "t" * 513]),
        "referrer": referrers,
        "props": props,
        "user_id": st.sampled_from(["", "jane@example.com", None]),
        "event_id": st.sampled_from(["", "ev_1", "bad id", None]),
    },
).map(lambda event: {"type": "pageview", **event})


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(event=events)
def test_an_imported_event_is_stored_or_refused_exactly_as_the_collector_would(event: dict[str, Any]) -> None:
    import boto3

    for item in stored_items():  # a fresh table for each example
        boto3.client("dynamodb").delete_item(
            TableName="EventsTable", Key={"pk": item["pk"], "sk": item["sk"]}
        )
    by_collector, by_import = comparable(collected(event)), comparable(imported(event))
    if by_collector[0] == "stored" and not event.get("event_id"):
        by_import[1].pop("event_id")  # random in the collector, derived from the content in an import
        by_collector[1].pop("event_id")
    assert by_import == by_collector


def test_the_referrer_query_is_never_stored_and_utm_parameters_become_properties() -> None:
    importer.import_events(
        SITE,
        [
            line(
                page="https://example.com/pricing?utm_source=hn&plan=pro#top",
                referrer="https://news.ycombinator.com/item?id=1",
                props={"utm_source": "explicit", "n": 2},
            ),
            line(page="/docs?UTM_MEDIUM=email", referrer="https://WWW.Google.com/", event_id="ev_2"),
        ],
    )
    rows = {row["page"]: row for row in stored()}
    assert rows["/pricing"]["referrer"] == "https://news.ycombinator.com/item"
    assert rows["/pricing"]["props"] == {"utm_source": "explicit", "n": 2}
    assert rows["/docs"]["referrer"] == "https://www.google.com"
    assert rows["/docs"]["props"] == {"utm_medium": "email"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"props": {"a": [1]}}, "props: property 'a' must be a string, number, boolean or null"),
        ({"props": {"a": {"b": 1}}}, "props: property 'a' must be a string, number, boolean or null"),
        ({"props": {"a": 2**60}}, "props: property 'a' must be a finite number within ±9007199254740991"),
        ({"props": {"a": "x" * 513}}, "props: property 'a' is longer than 512 characters"),
        ({"props": {f"k{n}": n for n in range(31)}}, "props: at most 30 properties (got 31)"),
        ({"props": "a=1"}, "props: must be an object of property names to values"),
        (
            {"referrer": "news.ycombinator.com"},
            "referrer: must be an absolute URL, e.g. https://www.google.com/",
        ),
        ({"page": "pricing"}, "page: must be an http(s) URL or a path starting with /"),
        ({"site_id": 4}, "site_id: unknown field"),
        ({"type": "custom_event"}, "event_name is required for custom events"),
        ({"timestamp": "yesterday"}, "timestamp: must be an ISO 8601 time with a zone"),
    ],
)
def test_a_bad_field_gets_a_sentence_a_person_can_act_on(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(importer.ImportRejected) as rejected:
        importer.import_events(SITE, [line(**fields)])
    (error,) = rejected.value.errors
    assert error.line == 1
    assert error.message.startswith(message), error.message
    assert "Input should be" not in error.message and ".str" not in error.message


# ------------------------------------------------------------------ two passes, every bad line, idempotence


def test_every_bad_line_is_reported_with_its_number_and_nothing_is_written(tmp_path: Path) -> None:
    lines = [
        line(),  # 1
        "{not json",  # 2
        "",  # 3: blank lines are skipped but counted
        line(type="click"),  # 4
        "[1, 2]",  # 5
        line(event_id="ev_ok"),  # 6
        '{"page": NaN}',  # 7
    ]
    file = tmp_path / "bad.ndjson"
    file.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe{}\n" + b'{"a": "' + b"x" * 300_000 + b'"}\n')
    code, out, err = ghostid("import", "--site", str(SITE), str(file))
    assert code == 2 and out == ""
    reported = [row.strip() for row in err.splitlines() if row.startswith("  line ")]
    assert [row.split(":")[0] for row in reported] == [f"line {n}" for n in (2, 4, 5, 7, 8, 9)]
    assert "line 8: is not UTF-8 text" in err
    assert "line 9: is longer than 262,144 bytes" in err
    assert "NaN is not a number JSON allows" in err
    assert err.rstrip().endswith("6 invalid lines; nothing was imported (every bad line is listed above)")
    assert stored() == []


def test_more_bad_lines_than_are_kept_are_all_reported_and_counted() -> None:
    seen: list[importer.LineError] = []
    with pytest.raises(importer.ImportRejected) as rejected:
        importer.import_events(SITE, ["[]"] * (importer.MAX_ERRORS_KEPT + 5), on_error=seen.append)
    assert rejected.value.count == len(seen) == importer.MAX_ERRORS_KEPT + 5
    assert len(rejected.value.errors) == importer.MAX_ERRORS_KEPT
    assert [error.line for error in seen] == list(range(1, importer.MAX_ERRORS_KEPT + 6))


def test_importing_the_same_file_twice_writes_nothing_new(tmp_path: Path) -> None:
    file = tmp_path / "events.ndjson"
    rows = [line(page=f"/p{n}", timestamp=format_timestamp(NOW_MS + n)) for n in range(40)]
    file.write_text("\n".join(rows + rows[:5]) + "\n")
    assert (
        ghostid("import", "--site", str(SITE), str(file))[1].strip()
        == "40 events written (5 already present)"
    )
    before = stored_items()
    assert (
        ghostid("import", "--site", str(SITE), str(file))[1].strip()
        == "0 events written (45 already present)"
    )
    assert stored_items() == before


def test_an_event_the_collector_stored_is_left_as_it_is() -> None:
    body = json.dumps({"site_id": SITE, **BASE, "page": "/from-the-tracker", "event_id": "ev_same"}).encode()
    collector.track(collector.TrackRequest(body, "application/json", user_agent=CHROME), NOW_MS)
    result = importer.import_events(
        SITE, [line(page="/from-the-file", event_id="ev_same"), line(event_id="ev_2")]
    )
    assert (result.read, result.written) == (2, 1)
    assert sorted(row["page"] for row in stored()) == ["/", "/from-the-tracker"]


def test_writes_that_dynamodb_leaves_unprocessed_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    ddb: Any = ddb_client.dynamodb()
    real_write, real_get = ddb.batch_write_item, ddb.batch_get_item
    calls = {"write": 0, "get": 0}

    def throttled_write(RequestItems: dict[str, Any]) -> dict[str, Any]:
        calls["write"] += 1
        ((table, requests),) = RequestItems.items()
        real_write(RequestItems={table: requests[:3]})  # DynamoDB took only three
        return {"UnprocessedItems": {table: requests[3:]} if requests[3:] else {}}

    def throttled_get(RequestItems: dict[str, Any]) -> dict[str, Any]:
        calls["get"] += 1
        ((table, request),) = RequestItems.items()
        answer = real_get(RequestItems={table: {**request, "Keys": request["Keys"][:10]}})
        rest = request["Keys"][10:]
        return {**answer, "UnprocessedKeys": {table: {**request, "Keys": rest}} if rest else {}}

    monkeypatch.setattr(ddb, "batch_write_item", throttled_write)
    monkeypatch.setattr(ddb, "batch_get_item", throttled_get)
    monkeypatch.setattr(events_dal, "_backoff", lambda round_number: None)
    result = importer.import_events(SITE, [line(event_id=f"ev_{n}", page=f"/{n}") for n in range(30)])
    assert (result.written, len(stored())) == (30, 30)
    assert calls == {"get": 3, "write": 9 + 2}  # 30 keys read 10 a call; 25 + 5 items written 3 a call


def test_a_derived_event_id_is_the_hash_of_the_normalised_stored_fields() -> None:
    """The id an event without `event_id` gets is unchanged from earlier versions for the same stored
    content, so re-importing an old file stores nothing twice."""
    importer.import_events(SITE, [line(page="/pricing", referrer="https://google.com/", props={"a": 1})])
    (row,) = stored()
    content = {k: v for k, v in row.items() if k not in ("site_id", "event_id")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert row["event_id"] == f"ev_{digest[:32]}"
    assert Event.model_validate(content).with_event_id().event_id == row["event_id"]


def test_standard_input_is_spooled_and_imported() -> None:
    data = "\n".join(line(page=f"/s{n}", event_id=f"ev_{n}") for n in range(7)).encode()
    assert (
        ghostid("import", "--site", str(SITE), "-", stdin=data)[1].strip()
        == "7 events written (0 already present)"
    )
    assert (
        ghostid("import", "--site", str(SITE), "-", stdin=data)[1].strip()
        == "0 events written (7 already present)"
    )
    assert sorted(row["page"] for row in stored()) == [f"/s{n}" for n in range(7)]


def test_a_file_that_changes_between_the_passes_stops_the_import(tmp_path: Path) -> None:
    file = tmp_path / "growing.ndjson"
    file.write_text(line() + "\n")
    with file.open("rb") as handle:
        total = importer.check(handle)
        file.write_text("{oops\n")
        with pytest.raises(importer.InputChanged, match="line 1 changed"):
            importer.write(SITE, handle, total)


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    file = tmp_path / "bom.ndjson"
    file.write_bytes(b"\xef\xbb\xbf" + line().encode() + b"\n")
    assert ghostid("import", "--site", str(SITE), str(file))[0] == 0
    assert len(stored()) == 1


# ------------------------------------------------------------------ progress and memory


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_and_never_into_a_file(tmp_path: Path) -> None:
    file = tmp_path / "events.ndjson"
    file.write_text("\n".join(line(event_id=f"ev_{n}") for n in range(30)) + "\n")
    assert ghostid("import", "--site", str(SITE), str(file))[2] == ""
    terminal = Terminal()
    assert ghostid("import", "--site", str(SITE), str(file), err=terminal)[0] == 0
    drawn = terminal.getvalue()
    assert "\rchecking" in drawn and "\rwriting" in drawn and "100%" in drawn
    assert drawn.endswith("\n")


def lines_of(count: int) -> Iterator[str]:
    for n in range(count):
        yield line(session_id=f"gs_{n // 5}", event_id=f"ev_{n}", page=f"/p{n % 50}", props={"i": n})


def peak_bytes(count: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Peak Python allocation while importing `count` generated lines (storage stubbed: the importer's
    own memory is what is measured here; the 1,000,000-event figure in the README is the whole process)."""
    monkeypatch.setattr(events_dal, "put_new_events", len)
    gc.collect()
    tracemalloc.start()
    try:
        result = importer.import_events(SITE, lines_of(count))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert result.read == result.written == count


@pytest.mark.slow
def test_memory_does_not_grow_with_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = peak_bytes(1_500, monkeypatch), peak_bytes(15_000, monkeypatch)
    assert large < small * 1.3, (small, large)
