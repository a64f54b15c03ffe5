"""Collector abuse over HTTP: what a hostile or broken client can send to POST /api/track.

Oversized bodies, deep nesting, invalid UTF-8, lone surrogates, huge strings, thousands of props,
wrong types, non-finite and giant numbers, wrong content types, and floods of one `event_id` (in
one batch, in sequence and from many threads at once). Each abusive request gets a 4xx with the
error envelope (or, for the floods, 202 with the event stored once). Afterwards the tables are read:
the events table holds exactly the legitimate events, and the stream consumer's rollups equal the
independent recomputation from them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from ghostid.dal import sites as sites_dal
from ghostid.models.sites import Site

from tests.support import figures
from tests.support.scenario import assert_matches_reference, stored_events, stored_items
from tests.support.stack import Reply, Stack, local_stack

pytestmark = pytest.mark.integration

SITE = 4
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
JSON, TEXT = "application/json", "text/plain;charset=UTF-8"
LIMIT = 64 * 1024


def event(**fields: Any) -> dict[str, Any]:
    base = {"site_id": SITE, "ghost_vid": "gv_abuse_0001", "session_id": "gs_abuse", "type": "pageview"}
    return {**base, "page": "/", **fields}


def raw(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def padded(size: int) -> bytes:
    """A valid event padded with whitespace to exactly `size` bytes."""
    body = raw(event(event_id="ev_padded"))
    return body[:-1] + b" " * (size - len(body)) + b"}"


def nested(depth: int, open_: str = "[", close: str = "]") -> bytes:
    inner = open_ * depth + close * depth
    return b'{"site_id":4,"ghost_vid":"gv_x","session_id":"gs_x","type":"pageview","page":"/",' + (
        b'"props":{"a":' + inner.encode() + b"}}"
    )


def deep_objects(depth: int) -> bytes:
    return nested(depth, '{"a":', "}").replace(b'{"a":}', b'{"a":1}')


@dataclass(frozen=True)
class Abuse:
    name: str
    body: bytes
    expected: tuple[int, str]
    content_type: str | None = TEXT


BAD = (400, "invalid_parameter")
TOO_LARGE = (413, "payload_too_large")
ABUSES = [
    # -- size
    Abuse("one byte over 64 KB", padded(LIMIT + 1), TOO_LARGE),
    Abuse("1 MB", padded(1024 * 1024), TOO_LARGE),
    Abuse("5 MB of one string", raw(event(page_title="x" * 5_000_000)), TOO_LARGE),
    # -- nesting
    Abuse("60,000 nested arrays", nested(30_000), BAD),
    Abuse("10,000 nested objects", deep_objects(10_000), BAD),
    Abuse("nested object as a prop value", raw(event(props={"a": {"b": 1}})), BAD),
    Abuse("array as a prop value", raw(event(props={"a": [1, 2]})), BAD),
    # -- encodings
    Abuse("invalid UTF-8 (text/plain)", raw(event(page_title="caf")).replace(b"caf", b"caf\xe9\xff"), BAD),
    Abuse("invalid UTF-8 (json)", raw(event(page_title="caf")).replace(b"caf", b"\xc3\x28"), BAD, JSON),
    Abuse("overlong UTF-8 slash", raw(event(page="/x")).replace(b"/x", b"\xc0\xafx"), BAD),
    Abuse("lone surrogate escape", raw(event(page_title="x")).replace(b'"x"', b'"\\ud800"'), BAD),
    Abuse("UTF-16 body", json.dumps(event()).encode("utf-16"), BAD),
    Abuse("NUL bytes only", b"\x00" * 64, BAD),
    Abuse("not JSON", b"site_id=4&page=/", BAD),
    Abuse("truncated JSON", raw(event())[:-5], BAD),
    # -- huge strings (each under the body limit)
    Abuse("60 KB page title", raw(event(page_title="t" * 60_000)), BAD),
    Abuse("5,000-character page path", raw(event(page="/" + "p" * 5_000)), BAD),
    Abuse("10 KB session id", raw(event(session_id="s" * 10_000)), BAD),
    Abuse("event name of 200", raw(event(type="custom_event", event_name="n" * 200)), BAD),
    Abuse("user id of 300", raw(event(user_id="u" * 300)), BAD),
    Abuse("referrer of 3,000", raw(event(referrer="https://r.example/" + "r" * 3_000)), BAD),
    Abuse("prop value of 600", raw(event(props={"k": "v" * 600})), BAD),
    Abuse("prop name of 100", raw(event(props={"k" * 100: 1})), BAD),
    Abuse("session id with spaces", raw(event(session_id="gs x")), BAD),
    # -- many things
    Abuse("2,000 props", raw(event(props={f"p{i}": i for i in range(2_000)})), BAD),
    Abuse("31 props", raw(event(props={f"p{i}": i for i in range(31)})), BAD),
    Abuse(
        "25 props + 6 UTM",
        raw(
            event(
                props={f"p{i}": i for i in range(25)},
                page="/?"
                + "&".join(f"utm_{k}=x" for k in ("source", "medium", "campaign", "term", "content", "id")),
            )
        ),
        BAD,
    ),
    Abuse("51 events", raw({"events": [event(event_id=f"ev_{i}") for i in range(51)]}), BAD),
    Abuse("200 events", raw({"events": [event(event_id=f"e{i}") for i in range(200)]}), BAD),
    Abuse("1,000 events", raw({"events": [event(event_id=f"e{i}") for i in range(1_000)]}), TOO_LARGE),
    Abuse("empty batch", raw({"events": []}), BAD),
    Abuse(
        "a second site in a batch, unknown", raw({"events": [event(), event(site_id=77)]}), (404, "not_found")
    ),
    # -- wrong types
    Abuse("site_id true", raw(event(site_id=True)), BAD),
    Abuse("site_id object", raw(event(site_id={"n": 4})), BAD),
    Abuse("site_id 0", raw(event(site_id=0)), BAD),
    Abuse("site_id 2**63", raw(event(site_id=2**63)), BAD),
    Abuse("type number", raw(event(type=1)), BAD),
    Abuse("type unknown", raw(event(type="click")), BAD),
    Abuse("custom event without a name", raw(event(type="custom_event")), BAD),
    Abuse("page number", raw(event(page=404)), BAD),
    Abuse("page not a path", raw(event(page="javascript:alert(1)")), BAD),
    Abuse("props list", raw(event(props=[1, 2])), BAD),
    Abuse("props string", raw(event(props="a=1")), BAD),
    Abuse("events object", raw({"events": {"0": event()}}), BAD),
    Abuse("events string", raw({"events": "x"}), BAD),
    Abuse("body array", raw([event()]), BAD),
    Abuse("body null", b"null", BAD),
    Abuse("body number", b"123", BAD),
    Abuse("body empty", b"", BAD),
    Abuse("offset in the future", raw(event(offset_ms=5_000)), BAD),
    Abuse("offset two hours back", raw(event(offset_ms=-7_200_000)), BAD),
    Abuse("server field timestamp", raw(event(timestamp="2020-01-01T00:00:00Z")), BAD),
    Abuse("server field country", raw(event(country="Narnia")), BAD),
    Abuse("unknown field", raw(event(admin=True)), BAD),
    # -- numbers
    Abuse("NaN prop", raw(event(props={})).replace(b'"props":{}', b'"props":{"n":NaN}'), BAD),
    Abuse("Infinity prop", raw(event(props={})).replace(b'"props":{}', b'"props":{"n":Infinity}'), BAD),
    Abuse("1e400 prop", raw(event(props={})).replace(b'"props":{}', b'"props":{"n":1e400}'), BAD),
    Abuse("400-digit prop", raw(event(props={"n": 10**400})), BAD),
    Abuse(
        "5,000-digit prop",
        raw(event(props={})).replace(b'"props":{}', b'"props":{"n":' + b"9" * 5000 + b"}"),
        BAD,
    ),
    Abuse("5,000-digit site_id", raw(event()).replace(b'"site_id":4', b'"site_id":' + b"9" * 5000), BAD),
    # -- media types
    Abuse("no content type", raw(event()), (415, "unsupported_media_type"), None),
    Abuse(
        "form content type",
        raw(event()),
        (415, "unsupported_media_type"),
        "application/x-www-form-urlencoded",
    ),
    Abuse("xml content type", raw(event()), (415, "unsupported_media_type"), "application/xml"),
    Abuse("octet-stream", raw(event()), (415, "unsupported_media_type"), "application/octet-stream"),
]


@pytest.fixture
def stack(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    with local_stack(local_aws_env, cfn_template, monkeypatch) as running:
        sites_dal.put_site(Site(site_id=SITE, domain="demo.ghostid.local"))
        sites_dal.put_site(Site(site_id=5, domain="other.example.com"))
        yield running


def post(stack: Stack, body: bytes, content_type: str | None = TEXT) -> Reply:
    headers = [("User-Agent", FIREFOX)]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return stack.request("POST", "/api/track", headers=headers, body=body)


def test_abusive_requests_are_refused_and_store_nothing(stack: Stack, record_property: Any) -> None:
    wrong = []
    for abuse in ABUSES:
        reply = post(stack, abuse.body, abuse.content_type)
        got = (reply.status, reply.code)
        if got != abuse.expected:
            wrong.append(f"{abuse.name}: expected {abuse.expected}, got {got} {reply.raw[:200]!r}")
        elif set(reply.body) != {"error"} or not reply.body["error"]["message"]:
            wrong.append(f"{abuse.name}: not the error envelope: {reply.raw[:200]!r}")
    figures.record("collector abuse cases", len(ABUSES))
    record_property("collector_abuse_cases", len(ABUSES))
    assert wrong == [], "\n".join(wrong)
    assert stored_items(stack.tables["EventsTable"]) == []
    stack.poller.drain(timeout=30)
    assert stored_items(stack.tables["RollupsTable"]) == []


def test_floods_of_one_event_id_are_stored_once(stack: Stack) -> None:
    one = event(event_id="ev_flood", page_title="first")
    # 50 copies in one batch, then 100 requests one after the other.
    replies = [post(stack, raw({"events": [one] * 50}))]
    replies += [post(stack, raw(one)) for _ in range(100)]
    # 16 threads x 25 requests, all at once, some with other content under the same id.
    barrier = threading.Barrier(16)
    lock = threading.Lock()

    def flood(index: int) -> None:
        barrier.wait()
        for n in range(25):
            variant = one if (index + n) % 2 else {**one, "page_title": f"variant {index}/{n}"}
            reply = post(stack, raw(variant))
            with lock:
                replies.append(reply)

    run_all([partial(flood, i) for i in range(16)])
    assert [r.status for r in replies] == [202] * len(replies)
    assert sum(r.body["stored"] for r in replies) == 1
    assert sum(r.body["received"] for r in replies) == 50 + 100 + 400
    assert sum(r.body["duplicates"] for r in replies) == 50 + 100 + 400 - 1
    # A second session may reuse the id: ids are per session.
    assert post(stack, raw({**one, "session_id": "gs_other"})).body["stored"] == 1
    stored = stored_events(stored_items(stack.tables["EventsTable"]))
    assert sorted((e["session_id"], e["event_id"]) for e in stored) == [
        ("gs_abuse", "ev_flood"),
        ("gs_other", "ev_flood"),
    ]
    assert next(e for e in stored if e["session_id"] == "gs_abuse")["page_title"] == "first"
    stack.poller.drain(timeout=60)
    assert stack.dead_letters == []
    assert_matches_reference(stored, site=SITE)


def test_legitimate_events_between_the_abuse_are_the_only_ones_stored(stack: Stack) -> None:
    good = [event(event_id=f"ev_good_{i}", page=f"/ok/{i}") for i in range(3)]
    for index, abuse in enumerate(ABUSES):
        post(stack, abuse.body, abuse.content_type)
        if index % 20 == 0:
            assert post(stack, raw(good[index // 20 % 3])).status == 202
    stored = stored_events(stored_items(stack.tables["EventsTable"]))
    assert {e["event_id"] for e in stored} <= {e["event_id"] for e in good}
    assert all(e["session_id"] == "gs_abuse" and e["page"].startswith("/ok/") for e in stored)
    stack.poller.drain(timeout=60)
    assert_matches_reference(stored, site=SITE)


def run_all(jobs: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
