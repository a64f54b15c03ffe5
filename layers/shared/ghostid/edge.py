"""The read routes' edge, in one place: authenticate the caller, parse the query, authorize the site.

Every read route calls `authorize_read` first, so the order of checks is the same everywhere:
credentials (401), parameters (400), membership (403); the route then reads its data (404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ghostid.http import HttpEvent, parse_params
from ghostid.logic import auth
from ghostid.models.api import SiteQuery

Q = TypeVar("Q", bound=SiteQuery)


@dataclass(frozen=True)
class Authorized(Generic[Q]):
    """Who asks (a user id), what they asked (the validated query) and headers every answer carries."""

    user_id: str
    query: Q
    headers: dict[str, str] = field(default_factory=dict)


def authorize_read(event: HttpEvent, model: type[Q], **path_parameters: str) -> Authorized[Q]:
    """401 without valid credentials, 400 for a bad or unknown parameter, 403 for a site not the caller's."""
    user_id = auth.authenticate(event.cookies)
    query = parse_params(model, {**(event.query_string_parameters or {}), **path_parameters})
    auth.authorize(user_id, query.site_id)
    return Authorized(user_id, query)
