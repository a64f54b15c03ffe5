"""POST /api/track in-process against moto: every validation rule, enrichment, bots, resends and CORS."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from ghostid import settings, timeutil
from ghostid.dal import client
from ghostid.dal import events as events_dal
from ghostid.dal import sites as sites_dal
from ghostid.logic import useragent
from ghostid.logic.countries import COUNTRY_NAMES, country_name
from ghostid.models.sites import Site
from ghostid_local.cfn_yaml import load_template
from ghostid_local.lambda_context import LambdaContext
from ghostid_local.tables import create_tables
from ghostid_local.target import TABLE_ENV
from moto import mock_aws

from tests.support import lambdas
from tests.support.scenario import stored_items

ROOT = Path(__file__).resolve().parents[2]
NOW_MS = 1_773_163_200_000  # 2026-03-10T17:20:00.000Z
NOW = "2026-03-10T17:20:00.000Z"
SITE = 4
DOMAIN = "demo.ghostid.local"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
BROWSER_HEADERS = {"content-type": "text/plain;charset=UTF-8", "user-agent": CHROME_MAC}


@pytest.fixture(scope="module")
def moto_tables() -> Iterator[None]:
    """Like the `aws` fixture, but the tables are made once for this module (it only needs them empty)."""
    with pytest.MonkeyPatch.context() as patch:
        for variable in (
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
            "AWS_ENDPOINT_URL",
        ):
            patch.delenv(variable, raising=False)
        for variable, table in TABLE_ENV.items():
            patch.setenv(variable, table)
        settings.clear_cache()
        client.dynamodb.cache_clear()
        with mock_aws():
            create_tables(boto3.client("dynamodb"), load_template(ROOT / "template.yaml"))
            yield
        client.dynamodb.cache_clear()
        settings.clear_cache()


@pytest.fixture(autouse=True)
def sites(moto_tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """No events stored; sites 4 (with an extra domain), 5 and 6 (inactive); `now` frozen."""
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    ddb = boto3.client("dynamodb")
    for item in stored_items():
        ddb.delete_item(TableName="EventsTable", Key={"pk": item["pk"], "sk": item["sk"]})
    sites_dal.put_site(Site(site_id=SITE, domain=DOMAIN, extra_domains=("localhost:3000",)))
    sites_dal.put_site(Site(site_id=5, domain="other.example.com"))
    sites_dal.put_site(Site(site_id=6, domain="paused.example.com", active=False))


def event(**fields: Any) -> dict[str, Any]:
    base = {"site_id": SITE, "ghost_vid": "gv_0a1b2c3d_4e5f6a7b", "session_id": "gs_0001", "type": "pageview"}
    return {**base, "page": "/", **fields}


def invoke(request: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = lambdas.handler("track")(request, LambdaContext("TrackFunction"))
    text = response.get("body") or ""
    return response["statusCode"], response.get("headers", {}), json.loads(text) if text else None


def call(
    method: str = "POST",
    body: str | bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """Calls the handler with the shipped sample event, its body, headers and query replaced."""
    request = copy.deepcopy(lambdas.event_file("track_post.json"))
    request["routeKey"] = request["requestContext"]["routeKey"] = f"{method} /api/track"
    request["requestContext"]["http"]["method"] = method
    request["headers"] = {"host": request["headers"]["host"], **(headers or {})}
    request["queryStringParameters"] = query
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, bytes):
        body = body.decode()
    request["body"] = body
    return invoke(request)


def post(body: Any, **headers: str) -> tuple[int, dict[str, str], Any]:
    return call("POST", body, {**BROWSER_HEADERS, **{k.replace("_", "-"): v for k, v in headers.items()}})


def stored() -> list[dict[str, Any]]:
    return [events_dal.item_to_event(item).model_dump() for item in stored_items()]


def assert_rejected(result: tuple[int, dict[str, str], Any], status: int, code: str, *words: str) -> None:
    got_status, headers, body = result
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert headers["Content-Type"] == "application/json"
    for word in words:
        assert word in body["error"]["message"], (word, body["error"]["message"])
    assert stored() == [], "a rejected request must write nothing"


# ------------------------------------------------------------------ the happy path


def test_sample_event_file_is_stored_enriched_and_normalised() -> None:
    status, headers, body = invoke(lambdas.event_file("track_post.json"))
    assert status == 202
    assert body == {"received": 2, "stored": 2, "duplicates": 0, "dropped": None}
    assert headers["Access-Control-Allow-Origin"] == "https://demo.ghostid.local"
    assert headers["Vary"] == "Origin"
    assert headers["Cache-Control"] == "no-store"
    assert "X-Ghost-Dropped" not in headers
    rows = {row["type"]: row for row in stored()}
    place_and_device = {
        "country": "United States",
        "city": "Austin",
        "device_type": "desktop",
        "browser": "Chrome",
        "os": "macOS",
    }
    assert rows["pageview"] == {
        "site_id": 4,
        "session_id": "gs_5f1c2e9a7b3d4c60",
        "ghost_vid": "gv_a1b2c3d4_e5f6a7b8",
        "type": "pageview",
        "event_name": "",
        "page": "/pricing",
        "page_title": "Pricing",
        "referrer": "https://www.google.com",
        "props": {"utm_source": "newsletter", "utm_medium": "email"},
        "user_id": None,
        "event_id": "ev_3f9a1c0d2b4e6f8a0c1d2e3f",
        "timestamp": "2026-03-10T17:19:55.800Z",  # receive time minus the 4.2 s the browser queued it
        **place_and_device,
    }
    assert rows["custom_event"]["timestamp"] == NOW
    assert rows["custom_event"]["props"] == {"section": "hero"}
    assert rows["custom_event"]["event_name"] == "cta_clicked"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/json", "Application/JSON; charset=utf-8"],
)
def test_json_and_text_plain_bodies_are_accepted(content_type: str) -> None:
    status, _, body = call("POST", event(), {"content-type": content_type, "user-agent": CHROME_MAC})
    assert status == 202
    assert body["stored"] == 1
    (row,) = stored()
    assert row["timestamp"] == NOW  # the server's receive time
    assert row["event_id"].startswith("ev_")  # assigned when the tracker sent none


def test_a_batch_of_fifty_is_stored_and_fifty_one_is_refused() -> None:
    batch = [event(event_id=f"ev_{n}", page=f"/p/{n}", offset_ms=-n) for n in range(50)]
    assert post({"events": batch})[2] == {"received": 50, "stored": 50, "duplicates": 0, "dropped": None}
    assert len(stored()) == 50
    status, _, body = post({"events": [*batch, event(event_id="ev_50")]})
    assert status == 400
    assert "at most 50 events" in body["error"]["message"]
    assert len(stored()) == 50


def test_an_invalid_event_in_a_batch_writes_nothing() -> None:
    batch = [event(event_id="ev_ok_1"), event(type="click"), event(event_id="ev_ok_2")]
    assert_rejected(post({"events": batch}), 400, "invalid_parameter", "events[1].type")


# ------------------------------------------------------------------ 415, 413 and 400


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html"],
)
def test_other_content_types_are_415(content_type: str | None) -> None:
    headers = {"user-agent": CHROME_MAC} | ({"content-type": content_type} if content_type else {})
    assert_rejected(call("POST", event(), headers), 415, "unsupported_media_type", "text/plain")


def test_bodies_over_64_kb_are_413() -> None:
    body = json.dumps(event(event_id="ev_fits"))
    exactly = body + " " * (64 * 1024 - len(body))
    assert post(exactly)[0] == 202
    status, _, error = post(exactly.replace("ev_fits", "ev_over") + " ")
    assert (status, error["error"]["code"]) == (413, "payload_too_large")
    assert "65537 bytes" in error["error"]["message"]
    assert [row["event_id"] for row in stored()] == ["ev_fits"]


LONG = "x" * 600
BAD_BODIES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("empty body", "", ("empty",)),
    ("not JSON", "{site_id: 4", ("not valid UTF-8 JSON",)),
    ("NaN", '{"site_id": NaN}', ("not valid UTF-8 JSON",)),
    ("a JSON array", "[1, 2]", ("JSON object",)),
    ("missing site_id", {k: v for k, v in event().items() if k != "site_id"}, ("site_id: required",)),
    ("missing ghost_vid", {k: v for k, v in event().items() if k != "ghost_vid"}, ("ghost_vid: required",)),
    (
        "missing session_id",
        {k: v for k, v in event().items() if k != "session_id"},
        ("session_id: required",),
    ),
    ("missing type", {k: v for k, v in event().items() if k != "type"}, ("type: required",)),
    ("missing page", {k: v for k, v in event().items() if k != "page"}, ("page: required",)),
    ("site_id zero", event(site_id=0), ("site_id",)),
    ("site_id text", event(site_id="four"), ("site_id",)),
    ("site_id boolean", event(site_id=True), ("site_id: must be a whole number",)),
    ("unknown type", event(type="click"), ("type", "pageview", "custom_event")),
    ("custom event without name", event(type="custom_event"), ("event_name is required",)),
    ("event_name too long", event(type="custom_event", event_name=LONG), ("event_name", "128")),
    ("relative page", event(page="pricing"), ("page", "path starting with /")),
    ("ftp page", event(page="ftp://example.com/x"), ("page",)),
    ("page_title too long", event(page_title="t" * 513), ("page_title", "512")),
    ("referrer not a URL", event(referrer="google"), ("referrer", "absolute URL")),
    ("user_id too long", event(user_id="u" * 257), ("user_id", "256")),
    ("user_id a number", event(user_id=42), ("user_id",)),
    ("ghost_vid with spaces", event(ghost_vid="gv 1"), ("ghost_vid",)),
    ("session_id too long", event(session_id="s" * 129), ("session_id", "128")),
    ("event_id with spaces", event(event_id="ev 1"), ("event_id",)),
    ("unknown field", event(colour="blue"), ("colour: unknown field",)),
    ("timestamp from the client", event(timestamp=NOW), ("timestamp: set by the server",)),
    ("country from the client", event(country="Canada"), ("country: set by the server",)),
    ("positive offset", event(offset_ms=1000), ("offset_ms",)),
    ("offset over an hour", event(offset_ms=-3_600_001), ("offset_ms",)),
    ("fractional offset", event(offset_ms=-1.5), ("offset_ms",)),
    ("props not an object", event(props=["a"]), ("props: must be an object",)),
    ("31 props", event(props={f"k{n}": n for n in range(31)}), ("props: at most 30 properties (got 31)",)),
    ("long prop name", event(props={"k" * 65: 1}), ("property names must be 1 to 64",)),
    ("empty prop name", event(props={"": 1}), ("property names must be 1 to 64",)),
    ("object prop value", event(props={"a": {"b": 1}}), ("property 'a' must be a string, number",)),
    ("list prop value", event(props={"a": [1]}), ("property 'a' must be a string, number",)),
    ("long prop value", event(props={"a": LONG}), ("property 'a' is longer than 512",)),
    ("huge prop number", event(props={"a": 2**60}), ("property 'a' must be a finite number",)),
    ("400-digit prop number", event(props={"a": 10**400}), ("property 'a' must be a finite number",)),
    (
        "props plus UTM over 30",
        event(page="/?utm_source=a&utm_medium=b&utm_campaign=c", props={f"k{n}": n for n in range(28)}),
        ("at most 30 properties, counting the 3 UTM parameters",),
    ),
    ("events not a list", {"events": {"a": 1}}, ("events",)),
    ("empty batch", {"events": []}, ("events",)),
    ("batch with extra keys", {"events": [event()], "site_id": 4}, ("site_id: unknown field",)),
]


@pytest.mark.parametrize(
    ("body", "words"), [(b, w) for _, b, w in BAD_BODIES], ids=[n for n, _, _ in BAD_BODIES]
)
def test_invalid_input_is_400_naming_the_field(body: Any, words: tuple[str, ...]) -> None:
    assert_rejected(post(body), 400, "invalid_parameter", *words)


def test_a_body_that_is_not_utf8_is_400() -> None:
    request = copy.deepcopy(lambdas.event_file("track_post.json"))
    latin = json.dumps(event(page_title="caf")).encode().replace(b"caf", b"caf\xff")
    request["body"] = base64.b64encode(latin).decode()
    request["isBase64Encoded"] = True
    request["headers"].pop("origin")
    assert_rejected(invoke(request), 400, "invalid_parameter", "UTF-8")


def test_every_bad_field_is_named_at_once() -> None:
    result = post({"events": [event(type="click", page="x"), event(props={"a": [1]})]})
    assert_rejected(result, 400, "invalid_parameter", "events[0].type", "events[0].page", "events[1].props")


@pytest.mark.parametrize(("site", "words"), [(99, ("not a registered site",)), (6, ("inactive",))])
def test_unknown_or_inactive_sites_are_404(site: int, words: tuple[str, ...]) -> None:
    """The spec cannot say which sites exist: a schema-valid event of an unknown site is a 404, not a 400."""
    assert_rejected(post(event(site_id=site)), 404, "not_found", *words)
    assert_rejected(post({"events": [event(), event(site_id=site)]}), 404, "not_found", *words)
    assert stored() == []


def test_site_id_in_the_url_must_match_the_body() -> None:
    mismatch = call("POST", event(event_id="ev_x"), BROWSER_HEADERS, {"siteId": "5"})
    assert_rejected(mismatch, 403, "forbidden", "does not match")
    both = {"events": [event(event_id="ev_y"), event(site_id=5, event_id="ev_z")]}
    assert_rejected(call("POST", both, BROWSER_HEADERS, {"siteId": "4"}), 403, "forbidden", "site_id 5")
    assert call("POST", event(), BROWSER_HEADERS, {"siteId": "4"})[0] == 202


def test_a_batch_may_carry_events_of_several_sites() -> None:
    status, _, body = post({"events": [event(), event(site_id=5, session_id="gs_0002")]})
    assert (status, body["stored"]) == (202, 2)
    assert sorted(item["pk"]["S"] for item in stored_items()) == ["4#gs_0001", "5#gs_0002"]


def test_a_browser_origin_must_be_one_of_every_site_of_the_batch() -> None:
    result = post({"events": [event(), event(site_id=5)]}, origin="https://demo.ghostid.local")
    assert_rejected(result, 403, "forbidden", "site 5")
    assert stored() == []


def test_a_path_longer_than_1024_characters_is_stored_cut() -> None:
    assert post(event(page="/" + "a" * 2000 + "?utm_source=x"))[0] == 202
    (item,) = stored()
    assert item["page"] == "/" + "a" * 1023
    assert item["props"] == {"utm_source": "x"}


@pytest.mark.parametrize("hint", ["four", "0", "-4", "²", "4.0", "9" * 5000])
def test_a_malformed_site_id_in_the_url_is_400(hint: str) -> None:
    assert_rejected(
        call("POST", event(), BROWSER_HEADERS, {"siteId": hint}), 400, "invalid_parameter", "siteId"
    )


def test_the_oldest_offset_allowed_is_one_hour() -> None:
    assert post(event(offset_ms=-3_600_000))[0] == 202
    assert stored()[0]["timestamp"] == "2026-03-10T16:20:00.000Z"


# ------------------------------------------------------------------ pages, UTM, referrers


@pytest.mark.parametrize(
    ("page", "path", "props"),
    [
        (
            "https://demo.ghostid.local/blog/post?utm_source=x&utm_campaign=y&id=5#top",
            "/blog/post",
            {"utm_source": "x", "utm_campaign": "y"},
        ),
        ("/docs?UTM_MEDIUM=email&utm_term=&q=secret#frag", "/docs", {"utm_medium": "email"}),
        ("/a#b?c", "/a", {}),
        ("https://demo.ghostid.local", "/", {}),
        ("/?utm_content=%F0%9F%91%8B", "/", {"utm_content": "👋"}),
    ],
)
def test_page_keeps_the_path_and_utm_parameters(page: str, path: str, props: dict[str, str]) -> None:
    assert post(event(page=page))[0] == 202
    (row,) = stored()
    assert (row["page"], row["props"]) == (path, props)


def test_an_explicit_property_wins_over_the_url_utm() -> None:
    post(event(page="/?utm_source=url", props={"utm_source": "explicit", "n": 1.5, "ok": True, "none": None}))
    assert stored()[0]["props"] == {"utm_source": "explicit", "n": 1.5, "ok": True, "none": None}


@pytest.mark.parametrize(
    ("referrer", "kept"),
    [
        ("https://www.google.com/", "https://www.google.com"),
        ("https://user:pw@News.YCombinator.com/item?id=1#x", "https://news.ycombinator.com/item"),
        ("android-app://com.google.android.gm/", "android-app://com.google.android.gm"),
        ("", None),
        (None, None),
    ],
)
def test_referrer_keeps_origin_and_path_only(referrer: str | None, kept: str | None) -> None:
    assert post(event(referrer=referrer))[0] == 202
    assert stored()[0]["referrer"] == kept


# ------------------------------------------------------------------ enrichment

UAS = {
    "windows firefox": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ("desktop", "Firefox", "Windows"),
    ),
    "iphone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        ("mobile", "Mobile Safari", "iOS"),
    ),
    "ipad": (
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        ("tablet", "Mobile Safari", "iPadOS"),
    ),
    "android phone": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
        ("mobile", "Chrome Mobile", "Android"),
    ),
    "android tablet": (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        ("tablet", "Chrome", "Android"),
    ),
    "linux chrome": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
        "Safari/537.36",
        ("desktop", "Chrome", "Linux"),
    ),
    "cubot phone (not a bot)": (
        "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        ("mobile", "Chrome Mobile", "Android"),
    ),
}


@pytest.mark.parametrize("name", sorted(UAS))
def test_device_browser_and_os_come_from_the_user_agent(name: str) -> None:
    ua, expected = UAS[name]
    assert post(event(), user_agent=ua)[0] == 202
    row = stored()[0]
    assert (row["device_type"], row["browser"], row["os"]) == expected


@pytest.mark.parametrize(
    ("country", "city", "expected"),
    [
        ("US", "Austin", ("United States", "Austin")),
        ("gb", "London", ("United Kingdom", "London")),
        ("CA", "Montr%C3%A9al", ("Canada", "Montréal")),  # percent-encoded
        ("BR", "São Paulo".encode().decode("latin-1"), ("Brazil", "São Paulo")),  # UTF-8 read as Latin-1
        ("DE", "Zürich", ("Germany", "Zürich")),
        ("ZZ", "", (None, None)),
        (None, None, (None, None)),
    ],
)
def test_country_and_city_come_from_cloudfront_headers(
    country: str | None, city: str | None, expected: tuple[str | None, str | None]
) -> None:
    headers = {"cloudfront_viewer_country": country, "cloudfront_viewer_city": city}
    assert post(event(), **{k: v for k, v in headers.items() if v is not None})[0] == 202
    row = stored()[0]
    assert (row["country"], row["city"]) == expected


def test_every_iso_country_code_has_an_english_name() -> None:
    assert len(COUNTRY_NAMES) == 250  # the 249 assigned ISO 3166-1 alpha-2 codes, plus XK (Kosovo)
    assert all(len(code) == 2 and code.isupper() for code in COUNTRY_NAMES)
    assert all(name and "&" not in name for name in COUNTRY_NAMES.values())
    expected = {
        "US": "United States",
        "GB": "United Kingdom",
        "CA": "Canada",
        "DE": "Germany",
        "KR": "South Korea",
    }
    assert {code: country_name(code) for code in expected} == expected
    assert country_name(" fr ") == "France"
    assert country_name("") is None


# ------------------------------------------------------------------ bots


def _metrics(output: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in output.splitlines():
        if line.startswith('{"_aws"'):
            blob = json.loads(line)
            for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                found[definition["Name"]] = found.get(definition["Name"], 0) + sum(blob[definition["Name"]])
    return found


BOTS = {
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "ahrefs": "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "headless chrome": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 "
        "Safari/537.36"
    ),
    "phantomjs": (
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 "
        "Safari/538.1"
    ),
    "lighthouse": (
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse"
    ),
    "facebook preview": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "curl": "curl/8.5.0",
    "python-requests": "python-requests/2.32.3",
    "go": "Go-http-client/2.0",
    "no user agent": "",
}


@pytest.mark.parametrize("name", sorted(BOTS))
def test_bots_are_acknowledged_but_not_stored(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    status, headers, body = post({"events": [event(), event(event_id="ev_2")]}, user_agent=BOTS[name])
    assert status == 202
    assert headers["X-Ghost-Dropped"] == "bot"
    assert body == {"received": 2, "stored": 0, "duplicates": 0, "dropped": "bot"}
    assert stored() == []
    metrics = _metrics(capsys.readouterr().out)
    assert metrics.get("BotEventsDropped") == 2
    assert "EventsStored" not in metrics


def test_bot_responses_expose_the_header_to_the_page() -> None:
    _, headers, _ = post(event(), user_agent=BOTS["headless chrome"], origin="https://demo.ghostid.local")
    assert headers["X-Ghost-Dropped"] == "bot"
    assert headers["Access-Control-Expose-Headers"] == "X-Ghost-Dropped"


def test_stored_events_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    post({"events": [event(event_id="a"), event(event_id="b")]})
    post({"events": [event(event_id="a"), event(event_id="c")]})
    metrics = _metrics(capsys.readouterr().out)
    assert (metrics["EventsStored"], metrics["EventsDuplicate"]) == (3, 1)


def test_the_bot_reason_is_known_for_every_bot() -> None:
    for ua in BOTS.values():
        assert useragent.classify(ua).is_bot, ua
    for ua, _ in UAS.values():
        assert not useragent.classify(ua).is_bot, ua


# ------------------------------------------------------------------ idempotent resends


def test_a_resent_event_is_stored_once_and_the_first_copy_wins() -> None:
    first = event(event_id="ev_same", type="custom_event", event_name="signup", offset_ms=-5000)
    assert post(first)[2] == {"received": 1, "stored": 1, "duplicates": 0, "dropped": None}
    before = stored_items()
    resent = {**first, "offset_ms": 0, "page_title": "changed"}
    assert post(resent)[2] == {"received": 1, "stored": 0, "duplicates": 1, "dropped": None}
    assert stored_items() == before
    assert stored()[0]["timestamp"] == "2026-03-10T17:19:55.000Z"


def test_duplicates_within_a_batch_are_stored_once() -> None:
    body = {"events": [event(event_id="ev_1"), event(event_id="ev_1"), event(event_id="ev_2")]}
    assert post(body)[2] == {"received": 3, "stored": 2, "duplicates": 1, "dropped": None}


def test_event_ids_are_scoped_to_their_session() -> None:
    post({"events": [event(event_id="ev_1"), event(event_id="ev_1", session_id="gs_0002")]})
    assert sorted(row["session_id"] for row in stored()) == ["gs_0001", "gs_0002"]


# ------------------------------------------------------------------ CORS

ALLOWED = [
    "https://demo.ghostid.local",
    "https://www.demo.ghostid.local",
    "https://blog.demo.ghostid.local",
    "http://demo.ghostid.local:8080",
    "http://localhost:3000",  # an extra domain with a port
]
DENIED = [
    "https://evil.example",
    "https://demo.ghostid.local.evil.example",
    "https://notdemo.ghostid.local",
    "http://localhost:3001",
    "https://other.example.com",  # site 5's domain, not site 4's
    "null",
    "file://",
    "chrome-extension://abcdef",
]


@pytest.mark.parametrize("origin", ALLOWED)
def test_the_sites_domains_may_post(origin: str) -> None:
    status, headers, _ = post(event(), origin=origin)
    assert status == 202
    assert headers["Access-Control-Allow-Origin"] == origin
    assert headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in headers  # no cookies, ever


@pytest.mark.parametrize("origin", DENIED)
def test_other_origins_are_refused_readably(origin: str) -> None:
    """Nothing is stored; the 403 carries the collector's CORS headers, so the page can read why."""
    result = post(event(), origin=origin)
    assert_rejected(result, 403, "forbidden", "not one of the site's registered domains")
    assert result[1]["Access-Control-Allow-Origin"] == origin
    assert stored() == []


def test_requests_without_an_origin_are_not_browsers_and_get_no_cors_headers() -> None:
    status, headers, _ = post(event())
    assert status == 202
    assert "Access-Control-Allow-Origin" not in headers


def test_preflight_for_a_named_site_checks_the_origin() -> None:
    ask = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    status, headers, body = call(
        "OPTIONS", None, {"origin": "https://demo.ghostid.local", **ask}, {"siteId": "4"}
    )
    assert (status, body) == (204, None)
    assert headers["Access-Control-Allow-Origin"] == "https://demo.ghostid.local"
    assert headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert int(headers["Access-Control-Max-Age"]) > 0
    denied = call("OPTIONS", None, {"origin": "https://evil.example", **ask}, {"siteId": "4"})
    assert denied[0] == 403  # a preflight that is not a 2xx fails, whatever headers it carries
    assert call("OPTIONS", None, {"origin": "https://demo.ghostid.local"}, {"siteId": "99"})[0] == 404
    assert call("OPTIONS", None, {"origin": "https://demo.ghostid.local"}, {"siteId": "6"})[0] == 404


def test_preflight_without_a_site_leaves_the_check_to_the_post() -> None:
    status, headers, _ = call("OPTIONS", None, {"origin": "https://evil.example"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "https://evil.example"
    assert post(event(), origin="https://evil.example")[0] == 403
    bare = call("OPTIONS", None, {})  # no Origin: not a preflight, a question about the route
    assert (bare[0], bare[1]["Allow"]) == (204, "OPTIONS, POST")
    assert "Access-Control-Allow-Origin" not in bare[1]
    assert call("OPTIONS", None, {"origin": ""})[0] == 204
    assert call("OPTIONS", None, {"origin": "null"})[0] == 403


def test_an_unknown_query_parameter_is_400() -> None:
    for method, body in (("POST", event()), ("OPTIONS", None)):
        result = call(
            method, body, {**BROWSER_HEADERS, "origin": "https://demo.ghostid.local"}, {"site": "4"}
        )
        assert_rejected(result, 400, "invalid_parameter", "Unknown parameter site")
        assert result[1]["Access-Control-Allow-Origin"] == "https://demo.ghostid.local"
    assert stored() == []


# ------------------------------------------------------------------ sites, packaging, the tracker


def test_site_flags_round_trip() -> None:
    site = Site(
        site_id=7, domain="example.com", extra_domains=("example.org", "localhost:3000"), active=False
    )
    sites_dal.put_site(site)
    assert sites_dal.get_site(7) == site
    assert sites_dal.get_site(SITE) == Site(site_id=SITE, domain=DOMAIN, extra_domains=("localhost:3000",))


def test_handler_imports_stay_light() -> None:
    """A cold start imports no User-Agent parser (the first POST builds it), no botocore session (the
    first DynamoDB call loads it), no X-Ray SDK and no Powertools event handler (README, "Cold import")."""
    code = (
        "import sys\n"
        "from ghostid_local.lambda_context import load_handler_from_file\n"
        "from pathlib import Path\n"
        "for name in ('stats', 'session', 'track', 'rollup'):\n"
        "    load_handler_from_file(Path('functions') / name, 'app.lambda_handler', 'fn_' + name)\n"
        "heavy = ('ua_parser', 'ghostid.logic.useragent', 'botocore.session', 'boto3', 'aws_xray_sdk',\n"
        "         'aws_lambda_powertools.event_handler')\n"
        "loaded = [name for name in heavy if name in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["layers/shared", "local", "."])}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_tracker_is_small_and_complete() -> None:
    source = (ROOT / "static/ghost.js").read_bytes()
    assert len(gzip.compress(source, 9)) < 3 * 1024
    text = source.decode()
    for needle in (
        "sendBeacon",
        "pushState",
        "popstate",
        "visibilitychange",
        "pagehide",
        "identify",
        "track",
    ):
        assert needle in text, needle
    assert "document.cookie" not in text
