"""What the outside world may say about an event, and how it is normalised before it is stored.

One place for the rules the collector (POST /api/track, `TrackEvent`) and the importer (PRODUCT §7,
`ImportEvent`) share: the page becomes its path (UTM parameters kept as properties), the referrer
its `scheme://host/path`, properties are bounded scalars, and a validation error becomes a sentence a
person can act on (`props: property 'a' must be a string, number, boolean or null`).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self
from urllib.parse import parse_qsl, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from ghostid.models.events import (
    MAX_PROP_KEY,
    MAX_PROP_VALUE,
    MAX_PROPS,
    Id,
    PropValue,
    ShortText,
    StoredEvent,
    Timestamp,
    derived_event_id,
)

MAX_PAGE_INPUT = 4096
MAX_PAGE_PATH = 1024
MAX_REFERRER_INPUT = 2048
MAX_REFERRER = 1024
MAX_PROP_NUMBER = 2**53 - 1  # what JavaScript represents exactly
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id")
# Whitespace as JSON Schema patterns (ECMA-262 `\s`) and browsers mean it, which docs/openapi.yaml states:
# Python's `\s` and str.strip() also take \x1c-\x1f and \x85, which a URL's host may then not start with.
WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_WHITESPACE_CHARS = (
    "".join(chr(c) for c in [9, 10, 11, 12, 13, 32, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029])
    + "\u202f\u205f\u3000\ufeff"
)
_ABSOLUTE_URL = re.compile(f"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#{WHITESPACE}]+")


# ------------------------------------------------------------------ normalisation


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


# ------------------------------------------------------------------ field rules


def _blank_is_absent(value: Any) -> Any:
    return None if value == "" else value


def _null_is_blank(value: Any) -> Any:
    return "" if value is None else value


def _page_is_url_or_path(value: str) -> str:
    value = value.strip(_WHITESPACE_CHARS)
    if value.startswith(("http://", "https://")):
        if not _ABSOLUTE_URL.match(value):
            raise ValueError("is not a valid http(s) URL")
    elif not value.startswith("/"):
        raise ValueError("must be an http(s) URL or a path starting with /")
    return value


def _referrer_is_absolute(value: str | None) -> str | None:
    if value is None:
        return None
    if not _ABSOLUTE_URL.match(value.strip(_WHITESPACE_CHARS)):
        raise ValueError("must be an absolute URL, e.g. https://www.google.com/")
    return normalise_referrer(value.strip(_WHITESPACE_CHARS))[:MAX_REFERRER]  # what is stored, as the path


def _bounded_props(props: Any) -> Any:
    """Checked before pydantic looks at the values, so a bad one gets this sentence, not a union's errors."""
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


EventType = Literal["pageview", "custom_event"]
# null is read as "" (BeforeValidator): the JSON schema says so, the Python type stays str.
_NULLABLE = WithJsonSchema({"type": ["string", "null"]})
EventName = Annotated[str, StringConstraints(max_length=128), BeforeValidator(_null_is_blank), _NULLABLE]
Page = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_PAGE_INPUT), AfterValidator(_page_is_url_or_path)
]
PageTitle = Annotated[str, StringConstraints(max_length=512), BeforeValidator(_null_is_blank), _NULLABLE]
Referrer = Annotated[
    Annotated[str, StringConstraints(max_length=MAX_REFERRER_INPUT)] | None,
    BeforeValidator(_blank_is_absent),
    AfterValidator(_referrer_is_absolute),
]
Props = Annotated[dict[str, Any], BeforeValidator(_bounded_props)]
UserId = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=256)] | None, BeforeValidator(_blank_is_absent)
]
EventId = Annotated[Id | None, BeforeValidator(_blank_is_absent)]
Place = Annotated[ShortText | None, BeforeValidator(_blank_is_absent)]


class EventRules(BaseModel):
    """The rules across fields, for models that declare `type`, `event_name`, `page` and `props`."""

    model_config = ConfigDict(extra="forbid")

    if TYPE_CHECKING:
        type: EventType
        event_name: str
        page: str
        props: dict[str, Any]

    _path: str = PrivateAttr(default="/")
    _utm: dict[str, PropValue] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _derive(self) -> Self:
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


class ImportEvent(EventRules):
    """One line of an NDJSON import (PRODUCT §7), checked and normalised as the collector does."""

    session_id: Id
    ghost_vid: Id
    type: EventType
    page: Page
    timestamp: Timestamp
    event_id: EventId = None
    event_name: EventName = ""
    page_title: PageTitle = ""
    referrer: Referrer = None
    props: Props = Field(default_factory=dict)
    user_id: UserId = None
    country: Place = None
    city: Place = None
    device_type: Place = None
    browser: Place = None
    os: Place = None

    def stored(self, site_id: int) -> StoredEvent:
        """The event as it is stored; without `event_id` it gets one derived from its stored fields."""
        fields: dict[str, Any] = {
            "session_id": self.session_id,
            "ghost_vid": self.ghost_vid,
            "type": self.type,
            "page": self.path,
            "timestamp": self.timestamp,
            "event_name": self.event_name if self.type == "custom_event" else "",
            "page_title": self.page_title,
            "referrer": self.referrer,
            "props": self.all_props,
            "user_id": self.user_id,
            "country": self.country,
            "city": self.city,
            "device_type": self.device_type,
            "browser": self.browser,
            "os": self.os,
        }
        event_id = self.event_id or derived_event_id(fields)
        return StoredEvent.model_validate({**fields, "site_id": site_id, "event_id": event_id})


# ------------------------------------------------------------------ messages


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def problem(detail: Any, server_fields: frozenset[str] = frozenset()) -> str:
    """One validation problem as `field: what is wrong` (`events[3].props: at most 30 properties`)."""
    loc = tuple(detail["loc"])
    where = _location(loc)
    kind, message = detail["type"], str(detail["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = "set by the server, not the tracker" if loc[-1] in server_fields else "unknown field"
    elif kind == "missing":
        message = "required"
    return f"{where}: {message}" if where else message


def problems(error: ValidationError, server_fields: frozenset[str] = frozenset()) -> list[str]:
    return [problem(detail, server_fields) for detail in error.errors()]
