"""POST /api/track (and its CORS preflight) — the public collector that ghost.js sends events to."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.http import Response, api_entry_point, create_resolver, json_response, parse_params
from ghostid.logic import collector
from ghostid.models.track import TrackQuery
from ghostid.observability import logger, metrics

# ua-parser's rules are built by the first POST, not during init: they cost about as much import
# time as boto3 itself (README, "Cold import"); the preflight and the read functions never need them.
settings.current()  # validate the environment at cold start
app = create_resolver()


def _header(name: str) -> str | None:
    return app.current_event.headers.get(name)  # case-insensitive


def _query(name: str) -> str | None:
    return (app.current_event.query_string_parameters or {}).get(name)


def _edge() -> None:
    """Every answer carries the collector's CORS headers (errors too, so the page can read them), and
    an unknown query parameter is a 400."""
    app.current_event.response_headers.update(collector.cors_headers(_header("origin")))
    parse_params(TrackQuery, app.current_event.query_string_parameters or {})


@app.post("/api/track")
def track() -> Response:
    _edge()
    event = app.current_event
    request = collector.TrackRequest(
        body=event.body_bytes(),
        content_type=_header("content-type"),
        origin=_header("origin"),
        user_agent=_header("user-agent") or "",
        viewer_country=_header("cloudfront-viewer-country"),
        viewer_city=_header("cloudfront-viewer-city"),
        site_hint=_query("siteId"),
    )
    outcome = collector.track(request, timeutil.now_ms())
    result = outcome.response
    if result.dropped:
        logger.info("bot dropped", extra={"reason": outcome.bot_reason, "events": result.received})
        metrics.add_metric(name="BotEventsDropped", unit=MetricUnit.Count, value=result.received)
    else:
        metrics.add_metric(name="EventsStored", unit=MetricUnit.Count, value=result.stored)
        metrics.add_metric(name="EventsDuplicate", unit=MetricUnit.Count, value=result.duplicates)
    return json_response(202, result, headers=outcome.headers)


@app.route("/api/track", method="OPTIONS")
def track_preflight() -> Response:
    _edge()
    headers = collector.preflight(_header("origin"), _query("siteId"))
    metrics.add_metric(name="TrackPreflights", unit=MetricUnit.Count, value=1)
    return Response(status_code=204, headers={**headers, "Cache-Control": "no-store"}, body="")


lambda_handler = api_entry_point(app)
