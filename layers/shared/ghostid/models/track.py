"""The collector's request and response (POST /api/track): one event, or `{"events": [...]}` with up to 50.

Only what a browser knows is accepted here; the server adds the time, place and device itself, so
fields such as `timestamp`, `country` or `browser` are rejected as unknown.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ghostid.models.api import SiteId
from ghostid.models.events import MAX_PROP_KEY, MAX_PROP_VALUE, MAX_PROPS, Id, PropValue

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 50
MAX_OFFSET_MS = 3_600_000  # events queued in the browser may be up to an hour old
MAX_PAGE_PATH = 1024
MAX_REFERRER = 1024
MAX_PROP_NUMBER = 2**53 - 1  # what JavaScript represents exactly
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id")
_ABSOLUTE_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\s]+")


_NULLABLE = WithJsonSchema({"type": ["string", "null"]})


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


def _split(url: str) -> tuple[str, str, str]:
    """(scheme, netloc, path) of an absolute URL; a netloc urlsplit refuses (`[` without `]`, as in an
    IPv6 literal) is cut by hand at the first `/`, `?` or `#`, so any URL the spec allows is read."""
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme, _, rest = url.partition("://")
        end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        return scheme, rest[:end], rest[end:].split("#", 1)[0].split("?", 1)[0]
    return parts.scheme, parts.netloc, parts.path


def page_path(page: str) -> str:
    """The path of a URL or of a path with a query/fragment (which are dropped)."""
    if page.startswith(("http://", "https://")):
        return _split(page)[2] or "/"
    return page.split("#", 1)[0].split("?", 1)[0]


def utm_props(page: str) -> dict[str, PropValue]:
    """The UTM parameters of the page's query, which are kept as event properties (values cut to fit)."""
    query = page.split("#", 1)[0].partition("?")[2]
    found: dict[str, PropValue] = {}
    for key, value in parse_qsl(query, keep_blank_values=False):
        name = key.lower()
        if name in UTM_KEYS and value and name not in found:
            found[name] = value[:MAX_PROP_VALUE]
    return found


def normalise_referrer(referrer: str) -> str:
    """`scheme://host/path` of the referring page: no credentials, query or fragment; a bare `/` dropped."""
    scheme, netloc, path = _split(referrer)
    host = netloc.rsplit("@", 1)[-1]
    return f"{scheme.lower()}://{host.lower()}{'' if path == '/' else path}"


class TrackEvent(BaseModel):
    """One event as a tracker sends it."""

    model_config = ConfigDict(extra="forbid")

    site_id: int = Field(ge=1, le=2**53 - 1)
    ghost_vid: Id
    session_id: Id
    type: Literal["pageview", "custom_event"]
    # null is read as "" (below): the JSON schema says so, the Python type stays str.
    event_name: Annotated[str, StringConstraints(max_length=128), _NULLABLE] = ""
    page: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    page_title: Annotated[str, StringConstraints(max_length=512), _NULLABLE] = ""
    referrer: Annotated[str, StringConstraints(max_length=2048)] | None = None
    props: dict[str, Any] = Field(default_factory=dict)
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    event_id: Id | None = None
    offset_ms: int = Field(default=0, ge=-MAX_OFFSET_MS, le=0)

    _path: str = PrivateAttr(default="/")
    _utm: dict[str, PropValue] = PrivateAttr(default_factory=dict)

    @field_validator("site_id", "offset_ms", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        return value

    @field_validator("referrer", "user_id", "event_id", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        return _empty_to_none(value)

    @field_validator("page_title", "event_name", mode="before")
    @classmethod
    def _null_is_blank(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("page")
    @classmethod
    def _page_is_url_or_path(cls, value: str) -> str:
        value = value.strip()
        if value.startswith(("http://", "https://")):
            if not _ABSOLUTE_URL.match(value):
                raise ValueError("is not a valid http(s) URL")
        elif not value.startswith("/"):
            raise ValueError("must be an http(s) URL or a path starting with /")
        return value

    @field_validator("referrer")
    @classmethod
    def _referrer_is_absolute(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _ABSOLUTE_URL.match(value.strip()):
            raise ValueError("must be an absolute URL, e.g. https://www.google.com/")
        return normalise_referrer(value.strip())[:MAX_REFERRER]  # what is stored, as the path

    @field_validator("props", mode="before")
    @classmethod
    def _bounded_props(cls, props: Any) -> Any:
        if props is None:
            return {}
        if not isinstance(props, dict):
            raise ValueError("must be an object of property names to values")
        if len(props) > MAX_PROPS:
            raise ValueError(f"at most {MAX_PROPS} properties (got {len(props)})")
        for key, value in props.items():
            if not isinstance(key, str) or not 0 < len(key) <= MAX_PROP_KEY:
                raise ValueError(f"property names must be 1 to {MAX_PROP_KEY} characters")
            if isinstance(value, str):
                if len(value) > MAX_PROP_VALUE:
                    raise ValueError(f"property {key!r} is longer than {MAX_PROP_VALUE} characters")
            elif isinstance(value, bool) or value is None:
                continue
            elif isinstance(value, int | float):
                # abs() first: math.isfinite() overflows on a 400-digit int.
                if not (abs(value) <= MAX_PROP_NUMBER and math.isfinite(value)):
                    raise ValueError(f"property {key!r} must be a finite number within ±{MAX_PROP_NUMBER}")
            else:
                raise ValueError(f"property {key!r} must be a string, number, boolean or null")
        return props

    @model_validator(mode="after")
    def _derive(self) -> TrackEvent:
        if self.type == "custom_event" and not self.event_name:
            raise ValueError("event_name is required for custom events")
        self._path = page_path(self.page)[:MAX_PAGE_PATH]  # a longer path is stored cut, not refused
        self._utm = {k: v for k, v in utm_props(self.page).items() if k not in self.props}
        if len(self.props) + len(self._utm) > MAX_PROPS:
            raise ValueError(
                f"props: at most {MAX_PROPS} properties, counting the {len(self._utm)} UTM parameters of page"
            )
        return self

    @property
    def path(self) -> str:
        """The page's path (query and fragment dropped)."""
        return self._path

    @property
    def all_props(self) -> dict[str, PropValue]:
        """The event's properties plus the page's UTM parameters (a property of the same name wins)."""
        return {**self._utm, **self.props}


class TrackBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[TrackEvent], Field(min_length=1, max_length=MAX_BATCH)]


class TrackQuery(BaseModel):
    """The collector's query: an optional `siteId` (an unknown parameter is a 400)."""

    model_config = ConfigDict(extra="forbid")

    site_id: SiteId | None = Field(default=None, alias="siteId")


class TrackResponse(BaseModel):
    """202: how many events arrived, how many were new, and whether all were dropped (as a bot's)."""

    received: int
    stored: int
    duplicates: int
    dropped: Literal["bot"] | None = None
