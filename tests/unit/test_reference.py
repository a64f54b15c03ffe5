"""The reference itself, on small examples whose every number was worked out by hand from PRODUCT.md."""

from __future__ import annotations

import copy
import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.support import reference, traffic
from tests.support.reference import Site

NEW_YORK = Site(timezone="America/New_York")
BERLIN = Site(timezone="Europe/Berlin")
KATHMANDU = Site(timezone="Asia/Kathmandu")
KOLKATA = Site(timezone="Asia/Kolkata")
UTC_SITE = Site()
ids = itertools.count()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def span(start: datetime, end: datetime) -> tuple[str, str]:
    return reference.iso(start), reference.iso(end)


def period(site: Site, now: str, time_range: str | None = None, **custom: Any) -> tuple[str, str]:
    start, end, _ = reference.period(site, at(now), time_range, custom.get("from_"), custom.get("to"))
    return span(start, end)


def compared(
    site: Site, now: str, compare: str, time_range: str | None = None, **custom: Any
) -> tuple[str, str]:
    start, end = reference.comparison_period(
        site, at(now), compare, time_range, custom.get("from_"), custom.get("to")
    )
    return span(start, end)


def ev(
    vid: str, sid: str, timestamp: str, kind: str = "pageview", page: str = "/", **fields: Any
) -> dict[str, Any]:
    event = {"ghost_vid": vid, "session_id": sid, "type": kind, "page": page, "timestamp": timestamp}
    event["event_id"] = fields.pop("event_id", f"ev_{next(ids):04d}")
    if kind == "custom_event":
        event["event_name"] = fields.pop("event_name", "cta")
    return {**event, **fields}


# --- periods --------------------------------------------------------------------------------------


def test_new_york_spring_forward_day_lasts_23_hours() -> None:
    now = "2026-03-08T16:00:00Z"  # 12:00 EDT; 02:00 EST became 03:00 EDT at 07:00Z
    assert period(NEW_YORK, now, "today") == ("2026-03-08T05:00:00.000Z", "2026-03-09T04:00:00.000Z")
    assert period(NEW_YORK, now, "yesterday") == ("2026-03-07T05:00:00.000Z", "2026-03-08T05:00:00.000Z")
    assert period(NEW_YORK, now, "24h") == ("2026-03-07T17:00:00.000Z", "2026-03-08T17:00:00.000Z")
    assert period(NEW_YORK, now, "7d") == ("2026-03-02T05:00:00.000Z", "2026-03-09T04:00:00.000Z")
    # previous of a 23-hour local day is the whole local day before (24 hours)
    assert compared(NEW_YORK, now, "previous", "today") == (
        "2026-03-07T05:00:00.000Z",
        "2026-03-08T05:00:00.000Z",
    )


def test_new_york_fall_back_day_lasts_25_hours() -> None:
    now = "2026-11-01T18:00:00Z"  # 13:00 EST
    assert period(NEW_YORK, now, "today") == ("2026-11-01T04:00:00.000Z", "2026-11-02T05:00:00.000Z")
    assert period(NEW_YORK, now, "24h") == ("2026-10-31T19:00:00.000Z", "2026-11-01T19:00:00.000Z")


def test_berlin_days_weeks_and_months_across_both_changes() -> None:
    spring = "2026-03-29T10:00:00Z"  # 12:00 CEST, the day of the change
    assert period(BERLIN, spring, "today") == ("2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z")
    assert period(BERLIN, spring, "month") == ("2026-02-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z")
    assert period(BERLIN, spring, "last_month") == ("2026-01-31T23:00:00.000Z", "2026-02-28T23:00:00.000Z")
    fall = "2026-10-25T12:00:00Z"  # 13:00 CET
    assert period(BERLIN, fall, "today") == ("2026-10-24T22:00:00.000Z", "2026-10-25T23:00:00.000Z")
    assert period(BERLIN, fall, "7d") == ("2026-10-18T22:00:00.000Z", "2026-10-25T23:00:00.000Z")  # 169 h
    assert compared(BERLIN, fall, "previous", "7d") == (
        "2026-10-11T22:00:00.000Z",
        "2026-10-18T22:00:00.000Z",
    )


def test_kathmandu_and_kolkata_hours_and_days_end_at_quarter_and_half_hours() -> None:
    now = "2026-03-10T17:30:12.345Z"  # 23:15:12 in Kathmandu (+05:45), 23:00:12 in Kolkata (+05:30)
    assert period(KATHMANDU, now, "24h") == ("2026-03-09T18:15:00.000Z", "2026-03-10T18:15:00.000Z")
    assert period(KATHMANDU, now, "today") == ("2026-03-09T18:15:00.000Z", "2026-03-10T18:15:00.000Z")
    assert period(KOLKATA, now, "24h") == ("2026-03-09T18:30:00.000Z", "2026-03-10T18:30:00.000Z")
    assert period(KOLKATA, now, "today") == ("2026-03-09T18:30:00.000Z", "2026-03-10T18:30:00.000Z")
    after_midnight = "2026-03-10T18:20:00Z"  # 00:05 on 11 March in Kathmandu
    assert period(KATHMANDU, after_midnight, "today") == (
        "2026-03-10T18:15:00.000Z",
        "2026-03-11T18:15:00.000Z",
    )
    assert period(KATHMANDU, after_midnight, "24h") == (
        "2026-03-09T19:15:00.000Z",
        "2026-03-10T19:15:00.000Z",
    )


def test_custom_range_is_local_days_both_included() -> None:
    now = "2026-11-05T12:00:00Z"
    got = period(NEW_YORK, now, from_="2026-10-31", to="2026-11-01")  # 24 + 25 hours
    assert got == ("2026-10-31T04:00:00.000Z", "2026-11-02T05:00:00.000Z")
    assert compared(NEW_YORK, now, "previous", from_="2026-10-31", to="2026-11-01") == (
        "2026-10-29T04:00:00.000Z",
        "2026-10-31T04:00:00.000Z",
    )
    for bad in ({"from_": "2026-11-02", "to": "2026-11-01"}, {"from_": "2026-11-01", "to": "2026-11-06"}):
        with pytest.raises(ValueError, match="not allowed"):
            period(NEW_YORK, now, **bad)
    assert (
        period(UTC_SITE, now, from_="2025-10-02", to="2025-10-02")[0] == "2025-10-02T00:00:00.000Z"
    )  # day 400
    with pytest.raises(ValueError, match="not allowed"):
        period(UTC_SITE, now, from_="2025-10-01", to="2025-10-02")


def test_month_and_last_month_compare_with_the_previous_month_cut_to_their_days() -> None:
    assert compared(UTC_SITE, "2026-03-15T12:00:00Z", "previous", "month") == (
        "2026-02-01T00:00:00.000Z",
        "2026-02-16T00:00:00.000Z",
    )
    assert compared(UTC_SITE, "2026-03-31T12:00:00Z", "previous", "month") == (  # 31 days vs all of February
        "2026-02-01T00:00:00.000Z",
        "2026-03-01T00:00:00.000Z",
    )
    assert compared(UTC_SITE, "2026-03-10T12:00:00Z", "previous", "last_month") == (  # February: 1–28 January
        "2026-01-01T00:00:00.000Z",
        "2026-01-29T00:00:00.000Z",
    )
    assert compared(UTC_SITE, "2026-05-20T12:00:00Z", "previous", "last_month") == (  # April: 1–30 March
        "2026-03-01T00:00:00.000Z",
        "2026-03-31T00:00:00.000Z",
    )
    assert compared(BERLIN, "2026-03-31T12:00:00Z", "previous", "month") == (
        "2026-01-31T23:00:00.000Z",
        "2026-02-28T23:00:00.000Z",
    )


def test_previous_of_12mo_is_the_same_number_of_days_before() -> None:
    # 1 April 2025 .. 10 March 2026 is 344 days; the 344 days before start on 22 April 2024
    assert compared(UTC_SITE, "2026-03-10T12:00:00Z", "previous", "12mo") == (
        "2024-04-22T00:00:00.000Z",
        "2025-04-01T00:00:00.000Z",
    )
    assert compared(UTC_SITE, "2026-03-10T12:34:00Z", "previous", "24h") == (
        "2026-03-08T13:00:00.000Z",
        "2026-03-09T13:00:00.000Z",
    )


def test_compare_year_maps_29_february_to_28_february() -> None:
    now = "2028-03-01T12:00:00Z"
    assert compared(UTC_SITE, now, "year", "yesterday") == (
        "2027-02-28T00:00:00.000Z",
        "2027-03-01T00:00:00.000Z",
    )
    assert compared(UTC_SITE, now, "year", from_="2028-02-29", to="2028-02-29") == (
        "2027-02-28T00:00:00.000Z",
        "2027-03-01T00:00:00.000Z",
    )
    # 24 February .. 1 March 2028 (7 days) -> 24 February .. 1 March 2027 (6 days)
    assert compared(UTC_SITE, now, "year", "7d") == ("2027-02-24T00:00:00.000Z", "2027-03-02T00:00:00.000Z")
    assert compared(UTC_SITE, "2028-02-29T12:30:00Z", "year", "24h") == (
        "2027-02-28T13:00:00.000Z",
        "2027-03-01T13:00:00.000Z",
    )
    assert compared(BERLIN, now, "year", "yesterday") == (
        "2027-02-27T23:00:00.000Z",
        "2027-02-28T23:00:00.000Z",
    )


def test_a_local_day_starts_at_its_first_instant_in_every_zone() -> None:
    zones = ["America/Santiago", "America/Havana", "Asia/Beirut", "Australia/Lord_Howe", "Asia/Kathmandu"]
    for zone in zones:
        site = Site(timezone=zone)
        for day in (
            date(2022, 9, 11),
            date(2026, 3, 8),
            date(2026, 3, 29),
            date(2026, 4, 5),
            date(2026, 10, 4),
        ):
            start = reference.local_day_start(day, site)
            assert reference.local_date(start, site) == day
            assert reference.local_date(start - timedelta(microseconds=1), site) == day - timedelta(days=1)
    # Santiago skipped 00:00–01:00 on 11 September 2022: the day began at 01:00 -03 = 04:00Z
    assert reference.local_day_start(date(2022, 9, 11), Site(timezone="America/Santiago")) == at(
        "2022-09-11T04:00Z"
    )


# --- stats ----------------------------------------------------------------------------------------


def test_stats_compare_previous_and_change_rounding() -> None:
    today = [ev("gv_a", "s1", f"2026-03-10T09:{m:02d}:00Z") for m in range(17)]
    yesterday = [ev("gv_a", "s2", f"2026-03-09T09:{m:02d}:00Z") for m in range(8)]
    yesterday += [ev("gv_b", "s3", f"2026-03-09T10:{m:02d}:00Z", country="Canada") for m in range(8)]
    body = reference.stats(today + yesterday, at("2026-03-10T12:00:00Z"), "today", compare="previous")
    assert body["overview"] == {
        "unique_visitors": 1,
        "sessions": 1,
        "pageviews": 17,
        "total_events": 17,
        "identified_visitors": 0,
        "hot_leads": 0,
    }
    assert body["comparison"]["overview"]["pageviews"] == 16
    assert body["comparison"]["change"] == {
        "unique_visitors": -50.0,
        "sessions": -50.0,
        "pageviews": 6.3,  # 6.25 rounds away from zero
        "total_events": 6.3,
        "identified_visitors": None,
        "hot_leads": None,
    }
    assert body["period"] == {
        "start": "2026-03-10T00:00:00.000Z",
        "end": "2026-03-11T00:00:00.000Z",
        "timezone": "UTC",
    }
    assert body["comparison"]["period"]["start"] == "2026-03-09T00:00:00.000Z"
    assert body["countries"] == [{"country": "Unknown", "visitors": 1}]
    assert body["top_pages"] == [{"page": "/", "views": 17}]
    assert reference.stats(today + yesterday, "7d", at("2026-03-10T12:00:00Z")).keys() == {
        "overview",
        "top_pages",
        "countries",
        "time_range",
    }


def test_percent_change_to_one_decimal() -> None:
    assert reference.percent_change(17, 16) == 6.3
    assert reference.percent_change(15, 16) == -6.3
    assert reference.percent_change(1, 3) == -66.7
    assert reference.percent_change(2, 3) == -33.3
    assert reference.percent_change(0, 5) == -100.0
    assert reference.percent_change(7, 7) == 0.0
    assert reference.percent_change(5, 0) is None


# --- timeseries -----------------------------------------------------------------------------------


def test_hourly_points_at_new_york_fall_back_repeat_one_o_clock() -> None:
    events = [ev("gv_a", "s1", "2026-11-01T05:30:00Z"), ev("gv_b", "s2", "2026-11-01T06:30:00Z")]
    body = reference.timeseries(
        events, at("2026-11-01T18:00:00Z"), site=NEW_YORK, time_range="today", interval="hour"
    )
    labels = [p["label"] for p in body["points"]]
    assert len(labels) == 25
    assert labels[:4] == ["2026-11-01T00:00", "2026-11-01T01:00", "2026-11-01T01:00", "2026-11-01T02:00"]
    assert [p["start"] for p in body["points"][1:3]] == [
        "2026-11-01T05:00:00.000Z",
        "2026-11-01T06:00:00.000Z",
    ]
    assert [p["unique_visitors"] for p in body["points"][:4]] == [0, 1, 1, 0]


def test_hourly_points_at_new_york_spring_forward_skip_two_o_clock() -> None:
    body = reference.timeseries(
        [], at("2026-03-08T16:00:00Z"), site=NEW_YORK, time_range="today", interval="hour"
    )
    labels = [p["label"] for p in body["points"]]
    assert len(labels) == 23
    assert "2026-03-08T02:00" not in labels
    assert body["points"][2] == {
        "start": "2026-03-08T07:00:00.000Z",
        "label": "2026-03-08T03:00",
        "unique_visitors": 0,
        "sessions": 0,
        "pageviews": 0,
        "total_events": 0,
        "identified_visitors": 0,
        "hot_leads": 0,
    }


def test_hourly_points_in_kathmandu_start_at_a_quarter_past_utc() -> None:
    events = [ev("gv_a", "s1", "2026-03-10T17:14:59.999Z"), ev("gv_a", "s1", "2026-03-10T17:15:00Z")]
    now = at("2026-03-10T17:30:12.345Z")  # 23:15 local
    points = reference.timeseries(events, now, site=KATHMANDU, time_range="24h", interval="hour")["points"]
    assert len(points) == 24
    assert (points[0]["start"], points[0]["label"]) == ("2026-03-09T18:15:00.000Z", "2026-03-10T00:00")
    assert (points[-1]["start"], points[-1]["label"]) == ("2026-03-10T17:15:00.000Z", "2026-03-10T23:00")
    assert [p["pageviews"] for p in points[-2:]] == [1, 1]
    assert [p["sessions"] for p in points[-2:]] == [1, 0]


def test_daily_points_in_berlin_include_the_25_hour_day() -> None:
    events = [
        ev("gv_a", "s1", "2026-10-25T22:30:00Z"),  # 23:30 CET on 25 October: the last day
        ev("gv_b", "s2", "2026-10-25T23:00:00Z"),  # 00:00 on 26 October: outside
        ev("gv_c", "s3", "2026-10-18T22:00:00Z"),  # 00:00 CEST on 19 October: the first day
    ]
    body = reference.timeseries(events, at("2026-10-25T12:00:00Z"), site=BERLIN, time_range="7d")
    assert [p["label"] for p in body["points"]] == [f"2026-10-{d}" for d in range(19, 26)]
    assert body["points"][-1]["start"] == "2026-10-24T22:00:00.000Z"
    assert [p["pageviews"] for p in body["points"]] == [1, 0, 0, 0, 0, 0, 1]


def test_weeks_are_cut_to_the_period_and_months_labelled() -> None:
    now = at("2026-03-10T12:00:00Z")  # a Tuesday; 1 March 2026 is a Sunday
    weeks = reference.timeseries([], now, time_range="month", interval="week")["points"]
    assert [(p["start"], p["label"]) for p in weeks] == [
        ("2026-03-01T00:00:00.000Z", "2026-03-01"),
        ("2026-03-02T00:00:00.000Z", "2026-03-02"),
        ("2026-03-09T00:00:00.000Z", "2026-03-09"),
    ]
    months = reference.timeseries([], now, time_range="12mo", interval="month")["points"]
    assert [p["label"] for p in months][::11] == ["2025-04-01", "2026-03-01"]
    assert len(months) == 12


def test_kathmandu_day_buckets_turn_at_18_15_utc() -> None:
    events = [ev("gv_a", "s1", "2026-03-10T18:14:59.999Z"), ev("gv_a", "s1", "2026-03-10T18:15:00.000Z")]
    body = reference.timeseries(events, at("2026-03-11T06:00:00Z"), site=KATHMANDU, time_range="7d")
    assert body["points"][-2:] == [
        {**body["points"][-2], "label": "2026-03-10", "total_events": 1, "sessions": 1},
        {**body["points"][-1], "label": "2026-03-11", "total_events": 1, "sessions": 0},
    ]
    assert body["points"][-1]["start"] == "2026-03-10T18:15:00.000Z"


# --- breakdowns -----------------------------------------------------------------------------------


def attribution_events() -> list[dict[str, Any]]:
    """s1 crosses UTC midnight into `today`; utm_source appears only on its second event."""
    german_phone = {"country": "Germany", "device_type": "mobile"}
    google = "https://www.google.com/search?q=1"
    campaign = {"utm_source": "ads", "utm_campaign": "été"}
    return [
        ev("gv_1", "s1", "2026-03-09T23:58:00Z", page="/a", referrer=google, **german_phone),
        ev(
            "gv_1",
            "s1",
            "2026-03-09T23:59:00Z",
            "custom_event",
            page="/a",
            props={"utm_source": "newsletter"},
            **german_phone,
        ),
        ev("gv_1", "s1", "2026-03-10T00:01:00Z", page="/b", country="France"),
        ev("gv_1", "s1", "2026-03-10T00:02:00Z", "custom_event", page="/b", country="France"),
        ev("gv_1", "s1", "2026-03-10T00:03:00Z", page="/c", country="France"),
        ev(
            "gv_2",
            "s2",
            "2026-03-10T08:00:00Z",
            page="/c",
            referrer="https://m.facebook.com/x",
            props=campaign,
        ),
        ev("gv_2", "s2", "2026-03-10T08:01:00Z", page="/a"),
    ]


def rows(dimension: str, time_range: str = "today") -> list[dict[str, Any]]:
    body = reference.breakdown(
        attribution_events(), at("2026-03-10T12:00:00Z"), dimension=dimension, time_range=time_range
    )
    return list(body["rows"])


def test_session_dimensions_attribute_in_window_events_to_the_session_value() -> None:
    assert rows("exit_page") == [
        {"value": "/a", "sessions": 1, "pageviews": 2, "events": 2},
        {"value": "/c", "sessions": 0, "pageviews": 2, "events": 3},  # s1 started yesterday
    ]
    assert rows("exit_page", "yesterday") == [{"value": "/c", "sessions": 1, "pageviews": 1, "events": 2}]
    assert rows("entry_page") == [
        {"value": "/c", "sessions": 1, "pageviews": 2, "events": 2},
        {"value": "/a", "sessions": 0, "pageviews": 2, "events": 3},
    ]
    assert rows("source") == [
        {"value": "ads", "visitors": 1, "sessions": 1, "pageviews": 2, "events": 2},
        {"value": "newsletter", "visitors": 1, "sessions": 0, "pageviews": 2, "events": 3},
    ]
    assert rows("referrer") == [
        {"value": "facebook.com", "sessions": 1, "pageviews": 2, "events": 2},
        {"value": "google.com", "sessions": 0, "pageviews": 2, "events": 3},
    ]
    assert rows("utm_source") == [  # s1's first event has none
        {"value": "(none)", "visitors": 1, "sessions": 0, "pageviews": 2, "events": 3},
        {"value": "ads", "visitors": 1, "sessions": 1, "pageviews": 2, "events": 2},
    ]
    assert rows("utm_campaign") == [
        {"value": "été", "sessions": 1, "pageviews": 2, "events": 2},
        {"value": "(none)", "sessions": 0, "pageviews": 2, "events": 3},
    ]


def test_event_dimensions_use_each_event_own_value() -> None:
    assert rows("country") == [
        {"value": "France", "visitors": 1, "sessions": 0, "pageviews": 2, "events": 3},
        {"value": "Unknown", "visitors": 1, "sessions": 1, "pageviews": 2, "events": 2},
    ]
    assert rows("device_type") == [
        {"value": "Unknown", "visitors": 2, "sessions": 1, "pageviews": 4, "events": 5}
    ]
    assert rows("device_type", "yesterday") == [
        {"value": "mobile", "visitors": 1, "sessions": 1, "pageviews": 1, "events": 2}
    ]
    assert rows("city") == [{"value": "Unknown", "sessions": 1, "pageviews": 4, "events": 5}]
    assert rows("page") == [
        {"value": "/c", "pageviews": 2},
        {"value": "/a", "pageviews": 1},
        {"value": "/b", "pageviews": 1},
    ]
    assert rows("event_name") == [{"value": "cta", "visitors": 1, "events": 1}]
    stats = reference.stats(attribution_events(), at("2026-03-10T12:00:00Z"), "today")
    assert stats["top_pages"] == [{"page": r["value"], "views": r["pageviews"]} for r in rows("page")]
    assert stats["countries"] == [{"country": r["value"], "visitors": r["visitors"]} for r in rows("country")]


def test_referrer_hosts() -> None:
    host = reference.referrer_host
    assert host("https://www.google.com/search?q=1") == "google.com"
    assert host("https://m.facebook.com/x") == "facebook.com"
    assert host("http://WWW.Example.org:8080/") == "example.org"
    assert host("https://news.ycombinator.com/item?id=1") == "news.ycombinator.com"
    assert host("https://www.m.example.com/") == "m.example.com"
    assert host("") is None
    assert host("google.com") is None
    assert host(None) is None


# --- realtime -------------------------------------------------------------------------------------


def test_realtime_minutes_end_with_the_current_minute() -> None:
    events = [
        ev("gv_a", "s1", "2026-03-10T12:34:59Z", page="/pricing"),  # after now, in the current minute
        ev("gv_b", "s2", "2026-03-10T12:30:00.000Z", page="/pricing"),  # first of the last 5 minutes
        ev("gv_c", "s3", "2026-03-10T12:29:59.999Z", page="/docs"),  # the 30 minutes but not the 5
        ev("gv_c", "s3", "2026-03-10T12:31:00Z", "custom_event", page="/docs"),
        ev("gv_d", "s4", "2026-03-10T12:04:59.999Z"),  # before the 30 minutes
    ]
    body = reference.realtime(events, at("2026-03-10T12:34:56Z"))
    assert body["visitors_now"] == 3
    assert body["pageviews_last_30m"] == 3
    assert body["minutes"][0] == {"start": "2026-03-10T12:05:00.000Z", "pageviews": 0, "visitors": 0}
    assert body["minutes"][-6:] == [
        {"start": "2026-03-10T12:29:00.000Z", "pageviews": 1, "visitors": 1},
        {"start": "2026-03-10T12:30:00.000Z", "pageviews": 1, "visitors": 1},
        {"start": "2026-03-10T12:31:00.000Z", "pageviews": 0, "visitors": 1},
        {"start": "2026-03-10T12:32:00.000Z", "pageviews": 0, "visitors": 0},
        {"start": "2026-03-10T12:33:00.000Z", "pageviews": 0, "visitors": 0},
        {"start": "2026-03-10T12:34:00.000Z", "pageviews": 1, "visitors": 1},
    ]
    assert body["top_pages"] == [{"page": "/pricing", "visitors": 2}]


# --- people ---------------------------------------------------------------------------------------


def climbing() -> list[dict[str, Any]]:
    """10, 15, 25, 25, 30 (hot), 40."""
    return [
        ev("gv_h", "s1", "2026-03-01T10:00:00Z", page="/pricing"),
        ev("gv_h", "s1", "2026-03-01T10:01:00Z", "custom_event", page="/pricing"),
        ev("gv_h", "s1", "2026-03-01T10:02:00Z", page="/demo/book"),
        ev("gv_h", "s1", "2026-03-01T10:03:00Z", page="/pricing-old"),  # not below /pricing
        ev("gv_h", "s1", "2026-03-01T10:04:00Z", "custom_event", page="/blog"),
        ev("gv_h", "s2", "2026-03-02T09:00:00Z", page="/contact", country="Canada"),
    ]


@pytest.mark.parametrize("arrival", ["time order", "reversed"])
def test_hot_since_is_the_event_that_reaches_the_threshold_in_event_order(arrival: str) -> None:
    events = climbing() if arrival == "time order" else climbing()[::-1]
    row = reference.lead_row(events, "gv_h")
    assert row == {
        "ghost_vid": "gv_h",
        "identified_user_id": None,
        "score": 40,
        "score_parts": {"high_intent_pageviews": 30, "custom_events": 10, "identified": 0},
        "hot": True,
        "hot_since": "2026-03-01T10:04:00.000Z",
        "first_seen": "2026-03-01T10:00:00.000Z",
        "last_seen": "2026-03-02T09:00:00.000Z",
        "sessions": 2,
        "country": "Canada",
        "last_session_id": "s2",
        "last_pages": ["/contact"],
    }


@pytest.mark.parametrize("arrival", ["time order", "reversed"])
def test_identified_bonus_counts_from_the_first_event_with_a_user_id(arrival: str) -> None:
    events = climbing()
    events[1]["user_id"] = "h@example.com"  # 10, then 10 + 5 + 20 = 35
    row = reference.lead_row(events if arrival == "time order" else events[::-1], "gv_h")
    assert row is not None
    assert (row["score"], row["hot_since"], row["identified_user_id"]) == (
        60,
        "2026-03-01T10:01:00.000Z",
        "h@example.com",
    )
    strict = Site(hot_threshold=61)
    assert reference.lead_row(events, "gv_h", strict) == {**row, "hot": False, "hot_since": None}


def test_identity_reaches_back_and_the_latest_user_id_wins() -> None:
    events = [
        ev("gv_w", "s_old", "2026-03-01T10:00:00Z", page="/demo"),
        ev("gv_w", "s_mid", "2026-03-05T10:00:00Z", user_id="old@example.com"),
        ev("gv_w", "s_new", "2026-03-09T10:00:00Z", "custom_event", user_id="new@example.com"),
        ev("gv_w", "s_new", "2026-03-09T10:00:05Z"),
        ev("gv_x", "s_x", "2026-03-01T11:00:00Z"),
    ]
    now = at("2026-03-10T12:00:00Z")
    body = reference.stats(events, now, from_="2026-03-01", to="2026-03-01")
    assert {k: body["overview"][k] for k in ("unique_visitors", "identified_visitors", "hot_leads")} == {
        "unique_visitors": 2,
        "identified_visitors": 1,
        "hot_leads": 1,  # 10 + 5 + 20
    }
    summary = reference.session_summary(events, "s_old")
    assert summary is not None
    assert summary["identified_user_id"] == "new@example.com"
    profile = reference.visitor(events, "gv_w")
    assert profile is not None
    assert profile["user_ids"] == ["new@example.com", "old@example.com"]
    assert profile["hot_since"] == "2026-03-05T10:00:00.000Z"  # /demo 10, then identified: 10 + 20 = 30
    assert [s["session_id"] for s in profile["sessions"]] == ["s_new", "s_mid", "s_old"]
    assert (profile["pageviews"], profile["events"], profile["sessions"][0]["event_count"]) == (3, 4, 2)


def test_a_tie_in_timestamps_is_broken_by_event_id() -> None:
    events = [
        ev("gv_t", "s1", "2026-03-01T10:00:00Z", user_id="zed@example.com", event_id="ev_b", page="/a"),
        ev("gv_t", "s1", "2026-03-01T10:00:00Z", user_id="amy@example.com", event_id="ev_a", page="/b"),
    ]
    profile = reference.visitor(events, "gv_t")
    assert profile is not None
    assert profile["identified_user_id"] == "zed@example.com"
    assert profile["user_ids"] == ["zed@example.com", "amy@example.com"]
    assert profile["last_pages"] == ["/a", "/b"]
    assert reference.session(events, "s1")["exit_page"] == "/a"


def test_leads_and_sessions_lists_order_and_filter() -> None:
    events = [
        *climbing(),  # gv_h: 40, last seen 2 March 09:00
        ev("gv_p", "s_p", "2026-03-02T09:00:00Z", page="/pricing", user_id="p@example.com"),  # 30
        ev("gv_q", "s_q", "2026-03-02T09:00:00Z", page="/trial/start", user_id="q@example.com"),  # 30
        ev("gv_r", "s_r", "2026-03-03T09:00:00Z", user_id="r@example.com"),  # 20
        ev("gv_s", "s_s", "2026-03-04T09:00:00Z", page="/signup"),  # 10
    ]
    now = at("2026-03-04T12:00:00Z")
    by_time = [r["ghost_vid"] for r in reference.leads(events, now, status="all")]
    assert by_time == ["gv_s", "gv_r", "gv_h", "gv_p", "gv_q"]
    by_score = [r["ghost_vid"] for r in reference.leads(events, now, status="all", sort="score")]
    assert by_score == ["gv_h", "gv_p", "gv_q", "gv_r", "gv_s"]
    assert [r["ghost_vid"] for r in reference.leads(events, now)] == ["gv_h", "gv_p", "gv_q"]
    assert [r["ghost_vid"] for r in reference.leads(events, now, status="identified")] == [
        "gv_r",
        "gv_p",
        "gv_q",
    ]
    assert [r["ghost_vid"] for r in reference.leads(events, now, time_range="today", status="all")] == [
        "gv_s"
    ]
    listed = reference.sessions(events, now)
    assert [s["session_id"] for s in listed] == ["s_s", "s_r", "s2", "s_p", "s_q", "s1"]
    assert [s["session_id"] for s in reference.sessions(events, now, hot=True, country="Canada")] == ["s2"]
    assert [s["session_id"] for s in reference.sessions(events, now, identified=False)] == ["s_s", "s2", "s1"]


def test_last_pages_are_five_distinct_pages_most_recent_first() -> None:
    pages = ["/a", "/b", "/c", "/a", "/d", "/e", "/f", "/g", "/c"]
    events = [ev("gv_m", "s1", f"2026-03-01T10:{k:02d}:00Z", page=p) for k, p in enumerate(pages)]
    row = reference.lead_row(events, "gv_m")
    assert row is not None
    assert row["last_pages"] == ["/c", "/g", "/f", "/e", "/d"]


# --- the comparison helper ------------------------------------------------------------------------


def test_assert_close_catches_an_off_by_one_in_any_exact_count() -> None:
    events = traffic.people(at("2026-03-10T12:00:00Z"), seed=3)
    body = reference.stats(events, at("2026-03-10T12:00:00Z"), "30d", compare="previous")
    reference.assert_close(body, body)
    for path in (
        ("overview", "pageviews"),
        ("overview", "unique_visitors"),
        ("comparison", "overview", "sessions"),
    ):
        changed = _bumped(body, path)
        assert not reference.matches(changed, body), path
    leads = reference.leads(events, at("2026-03-10T12:00:00Z"), status="all")
    assert not reference.matches(_bumped({"leads": leads}, ("leads", 0, "sessions")), {"leads": leads})


def test_assert_close_allows_the_error_of_distinct_counts_above_200_only() -> None:
    overview = dict.fromkeys(reference.OVERVIEW, 0)
    assert reference.matches({**overview, "unique_visitors": 306}, {**overview, "unique_visitors": 300})
    assert not reference.matches({**overview, "unique_visitors": 307}, {**overview, "unique_visitors": 300})
    assert not reference.matches({**overview, "unique_visitors": 201}, {**overview, "unique_visitors": 200})
    assert not reference.matches({**overview, "sessions": 301}, {**overview, "sessions": 300})


def test_assert_close_allows_swaps_only_between_rows_an_estimate_cannot_separate() -> None:
    exact = {"countries": [{"country": "A", "visitors": 1000}, {"country": "B", "visitors": 995}]}
    swapped = {"countries": [{"country": "B", "visitors": 1001}, {"country": "A", "visitors": 999}]}
    assert reference.matches(swapped, exact)
    small = {"countries": [{"country": "A", "visitors": 100}, {"country": "B", "visitors": 100}]}
    assert not reference.matches({"countries": small["countries"][::-1]}, small)
    far = {"countries": [{"country": "A", "visitors": 1000}, {"country": "B", "visitors": 500}]}
    assert not reference.matches(
        {"countries": [{"country": "B", "visitors": 1001}, far["countries"][0]]}, far
    )
    cut = {"countries": [{"country": "A", "visitors": 5}, {"country": "B", "visitors": 3}]}  # C also has 3
    assert not reference.matches({"countries": [cut["countries"][0], {"country": "C", "visitors": 3}]}, cut)


def test_assert_close_checks_a_distinct_change_against_the_api_own_numbers() -> None:
    overview = {"unique_visitors": 1010, "sessions": 5, "pageviews": 5, "total_events": 5}
    overview |= {"identified_visitors": 0, "hot_leads": 0}
    previous = {**overview, "unique_visitors": 1000}
    expected: dict[str, Any] = {
        "overview": overview,
        "comparison": {"overview": previous, "change": reference.change(overview, previous)},
    }
    api_overview = {**overview, "unique_visitors": 1015}
    api_change = reference.change(api_overview, previous)
    api: dict[str, Any] = {
        "overview": api_overview,
        "comparison": {"overview": previous, "change": api_change},
    }
    assert reference.matches(api, expected)
    assert not reference.matches(
        {**api, "comparison": {**api["comparison"], "change": expected["comparison"]["change"]}}, expected
    )


def _bumped(body: Any, path: tuple[Any, ...]) -> Any:
    """A deep copy of `body` with the count at `path` one higher."""
    changed = copy.deepcopy(body)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] += 1
    return changed


# --- the routes agree with each other on the edge-case traffic ------------------------------------

NOW = at("2026-11-05T14:07:03.250Z")
TRAFFIC = {
    "America/New_York": lambda: traffic.zoned(NOW, 1, "America/New_York", visitors=30, days=250),
    "Europe/Berlin": lambda: traffic.zoned(NOW, 2, "Europe/Berlin", visitors=30, days=250),
    "Asia/Kathmandu": lambda: (
        traffic.zoned(NOW, 3, "Asia/Kathmandu") + traffic.people(NOW, 4, "Asia/Kathmandu")
    ),
    "Asia/Kolkata": lambda: (
        traffic.zoned(NOW, 5, "Asia/Kolkata") + traffic.dimensions(NOW, 6, "Asia/Kolkata")
    ),
}


@pytest.mark.parametrize("zone", TRAFFIC)
def test_every_route_adds_up_to_the_stats_overview(zone: str) -> None:
    """Sums over buckets and breakdown rows equal the window's overview: no event is lost or counted twice
    at a DST change, a :15/:30 midnight, a month end or a session across midnight."""
    site, events = Site(timezone=zone), TRAFFIC[zone]()
    for time_range in ("24h", "today", "7d", "30d", "month", "last_month", "12mo"):
        overview = reference.stats(events, NOW, time_range, site=site)["overview"]
        intervals = ("hour", "day") if time_range in ("24h", "today", "7d") else ("day", "week", "month")
        for interval in intervals:
            series = reference.timeseries(events, NOW, site=site, time_range=time_range, interval=interval)
            for metric in ("sessions", "pageviews", "total_events"):
                assert sum(p[metric] for p in series["points"]) == overview[metric], (
                    time_range,
                    interval,
                    metric,
                )
        for dimension in reference.DIMENSIONS:
            rows = reference.breakdown(events, NOW, site=site, dimension=dimension, time_range=time_range)[
                "rows"
            ]
            events_metric = "pageviews" if dimension == "page" else "events"
            if dimension != "event_name":
                assert (
                    sum(r[events_metric] for r in rows)
                    == overview[events_metric if dimension == "page" else "total_events"]
                )
            if "sessions" in reference.METRICS[dimension]:
                assert sum(r["sessions"] for r in rows) == overview["sessions"], (time_range, dimension)
        assert len(reference.sessions(events, NOW, site=site, time_range=time_range)) == overview["sessions"]
        everyone = reference.leads(events, NOW, site=site, time_range=time_range, status="all")
        assert len(everyone) == overview["unique_visitors"]
        assert sum(r["hot"] for r in everyone) == overview["hot_leads"]
        assert sum(r["identified_user_id"] is not None for r in everyone) == overview["identified_visitors"]


def test_edge_traffic_crosses_the_changes_it_promises() -> None:
    events = TRAFFIC["America/New_York"]()
    moments = {reference.when(e) for e in events}
    for change in traffic.dst_changes("America/New_York", NOW - timedelta(days=250), NOW):
        assert change in moments and change - timedelta(milliseconds=1) in moments
    assert len(traffic.dst_changes("America/New_York", NOW - timedelta(days=250), NOW)) == 2
    assert traffic.zoned(NOW, 1, "America/New_York", visitors=30, days=250) == events  # deterministic
    assert all(reference.when(e) <= NOW for e in events)
