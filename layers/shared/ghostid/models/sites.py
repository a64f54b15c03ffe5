"""Sites, their lead-scoring rules (PRODUCT §4) and login sessions."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from ghostid.timeutil import Zone, is_time_zone

DEFAULT_HIGH_INTENT_PAGES = ("/pricing", "/demo", "/contact", "/signup", "/trial")


class LeadRules(BaseModel):
    """How a visitor's lead score is computed; each site may override any part."""

    high_intent_pages: tuple[str, ...] = DEFAULT_HIGH_INTENT_PAGES
    pageview_weight: int = Field(default=10, ge=0)
    custom_event_weight: int = Field(default=5, ge=0)
    identified_weight: int = Field(default=20, ge=0)
    threshold: int = Field(default=30, ge=1)

    def is_high_intent(self, page: str) -> bool:
        return any(
            page == prefix or page.startswith(prefix.rstrip("/") + "/") for prefix in self.high_intent_pages
        )

    def score(self, high_intent_pageviews: int, custom_events: int, identified: bool) -> int:
        return (
            self.pageview_weight * high_intent_pageviews
            + self.custom_event_weight * custom_events
            + (self.identified_weight if identified else 0)
        )

    def is_hot(self, high_intent_pageviews: int, custom_events: int, identified: bool) -> bool:
        return self.score(high_intent_pageviews, custom_events, identified) >= self.threshold


class Site(BaseModel):
    site_id: int = Field(ge=1)
    domain: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    name: str = ""
    lead_rules: LeadRules = Field(default_factory=LeadRules)
    # The collector (POST /api/track) takes events only for active sites, and from browser origins on
    # `domain` or `extra_domains` (each a host, optionally with :port; subdomains included).
    active: bool = True
    extra_domains: tuple[Annotated[str, StringConstraints(min_length=1, max_length=253)], ...] = ()
    # Every hour, day, week and month boundary of the read routes is local to this IANA zone (PRODUCT §10).
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_time_zone(value):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin")
        return value

    @property
    def zone(self) -> Zone:
        return Zone(self.timezone)


class LoginSession(BaseModel):
    user_id: str
    expires_at: int
    revoked: bool = False
