"""The stored shape of an event and its validation (what arrives is checked first: models/inputs.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ghostid.timeutil import format_timestamp, parse_timestamp

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
ShortText = Annotated[str, StringConstraints(max_length=256)]
PropValue = str | int | float | bool | None
MAX_PROPS = 30
MAX_PROP_KEY = 64
MAX_PROP_VALUE = 512


def normalise_timestamp(value: str) -> str:
    try:
        return format_timestamp(parse_timestamp(value))
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 time with a zone, e.g. 2026-03-10T17:09:10.000Z") from None


Timestamp = Annotated[str, AfterValidator(normalise_timestamp)]


def derived_event_id(content: Mapping[str, Any]) -> str:
    """The id of an event imported without one: a hash of its stored fields (all of `Event`'s but
    `event_id`), so importing it again stores it once."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return f"ev_{hashlib.sha256(text.encode()).hexdigest()[:32]}"


class Event(BaseModel):
    """One event as imported or stored; `timestamp` is normalised to `...T17:09:10.000Z`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    session_id: Id
    ghost_vid: Id
    type: Literal["pageview", "custom_event"]
    page: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    timestamp: Timestamp
    event_id: Id | None = None
    event_name: Annotated[str, StringConstraints(max_length=128)] = ""
    page_title: Annotated[str, StringConstraints(max_length=512)] = ""
    referrer: Annotated[str, StringConstraints(max_length=1024)] | None = None
    props: dict[str, PropValue] = Field(default_factory=dict)
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    country: ShortText | None = None
    city: ShortText | None = None
    device_type: ShortText | None = None
    browser: ShortText | None = None
    os: ShortText | None = None

    @field_validator("page")
    @classmethod
    def _page_path(cls, value: str) -> str:
        """Keep the path: a full URL becomes its path; query and fragment are dropped."""
        if value.startswith(("http://", "https://")):
            value = urlsplit(value).path or "/"
        value = value.split("#", 1)[0].split("?", 1)[0]
        if not value.startswith("/"):
            raise ValueError("must be a path starting with / (or an http(s) URL)")
        return value

    @field_validator("props")
    @classmethod
    def _bounded_props(cls, props: dict[str, PropValue]) -> dict[str, PropValue]:
        if len(props) > MAX_PROPS:
            raise ValueError(f"at most {MAX_PROPS} properties")
        for key, value in props.items():
            if not 0 < len(key) <= MAX_PROP_KEY:
                raise ValueError(f"property names must be 1 to {MAX_PROP_KEY} characters")
            if isinstance(value, str) and len(value) > MAX_PROP_VALUE:
                raise ValueError(f"property {key!r} is longer than {MAX_PROP_VALUE} characters")
        return props

    @model_validator(mode="after")
    def _custom_events_are_named(self) -> Event:
        if self.type == "custom_event" and not self.event_name:
            raise ValueError("event_name is required for custom events")
        if self.type == "pageview":
            self.event_name = ""
        return self

    @property
    def ts(self) -> int:
        return parse_timestamp(self.timestamp)

    def with_event_id(self) -> Event:
        """An event without `event_id` gets one derived from its content, so a re-import stores it once."""
        if self.event_id:
            return self
        return self.model_copy(update={"event_id": derived_event_id(self.model_dump(exclude={"event_id"}))})


class StoredEvent(Event):
    """An event as it lives in the events table: it belongs to a site and always has an id."""

    site_id: int = Field(ge=1)
    event_id: Id
