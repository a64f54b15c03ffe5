"""The collector (POST /api/track): validate, check site and origin, drop bots, enrich, store each event once.

Order of checks: content type (415), size (413), body (400 naming every bad field), the URL's
`siteId` (403 when it is not the events' site), sites (404 when unknown or inactive), origin (403 when
a browser origin is not one of each site's domains), bots (202 with `X-Ghost-Dropped: bot`, nothing
stored). Everything the spec allows gets past the 400s: what it cannot say (a site exists, the origin
fits) gets 403 or 404. Timestamps are the receive time, minus the event's `offset_ms` (at most an
hour) for events a browser queued.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from ghostid.dal import events as events_dal
from ghostid.dal import sites as sites_dal
from ghostid.errors import Forbidden, InvalidParameter, NotFound, PayloadTooLarge, UnsupportedMediaType
from ghostid.logic.countries import country_name
from ghostid.models import inputs
from ghostid.models.events import StoredEvent
from ghostid.models.sites import Site
from ghostid.models.track import MAX_BATCH, MAX_BODY_BYTES, TrackBatch, TrackEvent, TrackResponse
from ghostid.timeutil import format_timestamp

if TYPE_CHECKING:
    from ghostid.logic.useragent import UserAgentInfo

ACCEPTED_TYPES = ("application/json", "text/plain")
DROPPED_HEADER = "X-Ghost-Dropped"
MAX_REPORTED_PROBLEMS = 10
MAX_CITY = 256
_SITE_HINT = re.compile(r"[0-9]{1,16}")
SERVER_FIELDS = frozenset({"timestamp", "country", "city", "device_type", "browser", "os"})
ALLOW = "OPTIONS, POST"
_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


@dataclass(frozen=True)
class TrackRequest:
    """What the collector uses of an HTTP request (header names as sent; looked up case-insensitively)."""

    body: bytes
    content_type: str | None = None
    origin: str | None = None
    user_agent: str = ""
    viewer_country: str | None = None
    viewer_city: str | None = None
    site_hint: str | None = None  # the optional `siteId` query parameter


@dataclass(frozen=True)
class TrackOutcome:
    response: TrackResponse
    headers: dict[str, str] = field(default_factory=dict)
    bot_reason: str | None = None


# ------------------------------------------------------------------ parsing


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number JSON allows")


def _invalid(error: ValidationError) -> InvalidParameter:
    problems = inputs.problems(error, SERVER_FIELDS)
    shown = "; ".join(problems[:MAX_REPORTED_PROBLEMS])
    more = len(problems) - MAX_REPORTED_PROBLEMS
    return InvalidParameter(f"Invalid event: {shown}" + (f" (and {more} more)" if more > 0 else "") + ".")


def parse_body(body: bytes, content_type: str | None) -> list[TrackEvent]:
    """The request's events; raises 415, 413 or 400 (naming every offending field)."""
    if _media_type(content_type) not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            "Send the events as JSON with Content-Type application/json or text/plain "
            "(what navigator.sendBeacon uses)."
        )
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"The body is {len(body)} bytes; at most {MAX_BODY_BYTES} (64 KB) are accepted. "
            "Send fewer events per request."
        )
    if not body.strip():
        raise InvalidParameter('The body is empty: send one event, or {"events": [...]}.')
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise InvalidParameter(f"The body is not valid UTF-8 JSON ({error}).") from None
    if not isinstance(data, dict):
        raise InvalidParameter('The body must be a JSON object: one event, or {"events": [...]}.')
    try:
        if "events" in data:
            events = data["events"]
            if isinstance(events, list) and len(events) > MAX_BATCH:
                raise InvalidParameter(
                    f"events: at most {MAX_BATCH} events per request (got {len(events)}); split the batch."
                )
            return TrackBatch.model_validate(data).events
        return [TrackEvent.model_validate(data)]
    except ValidationError as error:
        raise _invalid(error) from None


# ------------------------------------------------------------------ site and origin


def _registered_hosts(site: Site) -> list[str]:
    """The site's domains as `host` or `host:port`, lower case, without scheme, path or leading www."""
    hosts = []
    for entry in (site.domain, *site.extra_domains):
        text = entry.strip().lower()
        text = text.split("://", 1)[-1].split("/", 1)[0]
        hosts.append(text.removeprefix("www."))
    return hosts


def origin_allowed(site: Site, origin: str) -> bool:
    """A browser origin (`https://www.example.com`) on one of the site's domains or their subdomains."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    port = port or (443 if parts.scheme == "https" else 80)
    for registered in _registered_hosts(site):
        name, _, wanted_port = registered.partition(":")
        if wanted_port and wanted_port != str(port):
            continue
        if host == name or host.endswith("." + name):
            return True
    return False


def _site(site_id: int) -> Site:
    site = sites_dal.get_site(site_id)
    if site is None:
        raise NotFound(f"site_id {site_id} is not a registered site.")
    if not site.active:
        raise NotFound(f"site_id {site_id} is not accepting events (the site is inactive).")
    return site


def _check_site_hint(site_hint: str | None, site_ids: list[int] | None = None) -> int | None:
    if site_hint is None:
        return None
    # ASCII digits only ('²'.isdigit() is true), and few enough for int() (which refuses 4,300+ digits).
    if not _SITE_HINT.fullmatch(site_hint) or int(site_hint) < 1:
        raise InvalidParameter("siteId must be a positive whole number, e.g. siteId=4.")
    other = [site_id for site_id in site_ids or [] if site_id != int(site_hint)]
    if other:
        raise Forbidden(f"siteId={site_hint} in the URL does not match the events' site_id {other[0]}.")
    return int(site_hint)


def cors_headers(origin: str | None) -> dict[str, str]:
    """What every collector answer to a browser carries, errors included, so the page can read them: no
    credentials are ever involved, and what the origin may *store* is checked per site, not here."""
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": DROPPED_HEADER,
        "Vary": "Origin",
    }


def _check_origin(site: Site, origin: str | None) -> dict[str, str]:
    """CORS headers for an allowed browser origin; none for a request without Origin (not a browser)."""
    if origin is None:
        return {}
    if not origin_allowed(site, origin):
        raise Forbidden(
            f"Origin {origin[:200]} may not send events for site {site.site_id}: "
            "it is not one of the site's registered domains."
        )
    return cors_headers(origin)


def preflight(origin: str | None, site_hint: str | None) -> dict[str, str]:
    """Headers of the answer (204) to `OPTIONS /api/track`.

    Without `Origin` it is no CORS preflight, just a question about the route: `Allow` answers it. A
    preflight carries no body, so it names the site only when the client put `?siteId=N` in the URL;
    then the origin is checked against that site here. Otherwise the check happens on the POST
    itself, which is refused (403, nothing stored) for an origin that is not one of the site's
    domains. ghost.js sends `text/plain`, which never needs a preflight.
    """
    site_id = _check_site_hint(site_hint)
    if not origin:
        return {"Allow": ALLOW}
    if site_id is not None:
        _check_origin(_site(site_id), origin)
    elif not origin.startswith(("http://", "https://")):
        raise Forbidden("Only http(s) pages may send events.")
    return {**cors_headers(origin), **_PREFLIGHT_HEADERS, "Allow": ALLOW}


# ------------------------------------------------------------------ enrichment and storage


def _header_text(value: str | None, limit: int) -> str | None:
    """A geolocation header's text: percent-decoded, UTF-8 read right even if it arrived as Latin-1."""
    if not value or not value.strip():
        return None
    text = unquote(value.strip())
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("latin-1").decode("utf-8")
    return text[:limit] or None


def _stored(
    event: TrackEvent, received_ms: int, place: tuple[str | None, str | None], device: UserAgentInfo
) -> StoredEvent:
    country, city = place
    return StoredEvent(
        site_id=event.site_id,
        session_id=event.session_id,
        ghost_vid=event.ghost_vid,
        type=event.type,
        event_name=event.event_name,
        page=event.path,
        page_title=event.page_title,
        referrer=event.referrer,
        props=event.all_props,
        user_id=event.user_id,
        event_id=event.event_id or f"ev_{uuid.uuid4().hex}",
        timestamp=format_timestamp(received_ms + event.offset_ms),
        country=country,
        city=city,
        device_type=device.device_type,
        browser=device.browser,
        os=device.os,
    )


def track(request: TrackRequest, received_ms: int) -> TrackOutcome:
    """Validates and stores the request's events; a resend (same session and event_id) is stored once."""
    from ghostid.logic import useragent  # ua-parser is set up only where events are collected

    events = parse_body(request.body, request.content_type)
    site_ids = sorted({event.site_id for event in events})
    _check_site_hint(request.site_hint, site_ids)
    sites = [_site(site_id) for site_id in site_ids]
    headers = {}
    for site in sites:
        headers = _check_origin(site, request.origin)
    device = useragent.classify(request.user_agent)
    if device.is_bot:
        response = TrackResponse(received=len(events), stored=0, duplicates=0, dropped="bot")
        return TrackOutcome(response, {**headers, DROPPED_HEADER: "bot"}, bot_reason=device.bot_reason)
    place = (country_name(request.viewer_country), _header_text(request.viewer_city, MAX_CITY))
    stored = [_stored(event, received_ms, place, device) for event in events]
    unique = list({(e.session_id, e.event_id): e for e in stored}.values())
    if len(unique) == 1:
        written = int(events_dal.put_event(unique[0]))
    else:
        written = events_dal.put_events(unique, workers=min(16, len(unique)))
    response = TrackResponse(received=len(events), stored=written, duplicates=len(events) - written)
    return TrackOutcome(response, headers)
