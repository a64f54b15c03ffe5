"""Access at the API's edge (PRODUCT §13): sign-in's request and the account's answer."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from ghostid.models.credentials import MAX_EMAIL, MAX_PASSWORD


class LoginRequest(BaseModel):
    """The body of POST /api/auth/login."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, StringConstraints(min_length=1, max_length=MAX_EMAIL)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD)]


class MeQuery(BaseModel):
    """GET /api/me takes no parameters (an unknown one is a 400)."""

    model_config = ConfigDict(extra="forbid")


class SiteSummary(BaseModel):
    site_id: int
    domain: str
    name: str
    timezone: str


class MeResponse(BaseModel):
    """Who is signed in and the sites they may read (an API key: no user, its one site)."""

    user_id: str | None
    sites: list[SiteSummary]
