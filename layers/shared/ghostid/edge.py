"""The routes' edge, in one place: authenticate the caller, parse the query, authorize the site.

Every read route calls `authorize_read` first, so the order of checks is the same everywhere:
credentials (401) and their rate limit (429), parameters (400), membership (403); the route then reads
its data (404). A session cookie and an API key (`Authorization: Bearer gk_...`) both work, and every
answer to a request whose credential was counted carries the limit's `RateLimit-*` headers, errors too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from ghostid import settings
from ghostid.errors import Forbidden
from ghostid.http import HttpEvent, Response, json_response, parse_params
from ghostid.logic import auth
from ghostid.models.api import SiteQuery
from ghostid.models.sites import LeadRules, Site
from ghostid.observability import metrics

Q = TypeVar("Q", bound=SiteQuery)


@dataclass(frozen=True)
class Authorized(Generic[Q]):
    """Who asks (a user id, or `apikey:<site>/<name>`), what they asked (the validated query), headers
    every answer carries, and how the caller authenticated."""

    user_id: str
    query: Q
    headers: dict[str, str] = field(default_factory=dict)
    credential: auth.Credential = "session"
    site: Site | None = None  # read only for a route that asked for it (`with_site`)

    @property
    def lead_rules(self) -> LeadRules:
        return self.site.lead_rules if self.site else LeadRules()


def authenticate(event: HttpEvent) -> auth.Caller:
    """401 without valid credentials, 429 over their rate limit; later answers carry the limit's headers."""
    caller = auth.authenticate(event.cookies, event.headers.get("authorization"))
    event.response_headers.update(caller.usage.headers())
    return caller


def authorize_read(
    event: HttpEvent, model: type[Q], with_site: Callable[[Q], bool] | None = None, **path_parameters: str
) -> Authorized[Q]:
    """401/429 for the credentials, 400 for a bad or unknown parameter, 403 for a site not the caller's.
    `with_site(query)`: whether the route needs the site's settings (read with the membership)."""
    caller = authenticate(event)
    query = parse_params(
        model, {**(event.query_string_parameters or {}), **path_parameters}, path=path_parameters
    )
    site = auth.authorize(caller, query.site_id, with_site=with_site is not None and with_site(query))
    return Authorized(caller.principal, query, dict(event.response_headers), caller.credential, site)


def served(request: Authorized[Q], body: BaseModel, metric: str) -> Response:
    """A read route's 200: the body, the headers of the request's credential, and its `...Served` metric."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return json_response(200, body, request.headers)


def require_own_origin(event: HttpEvent, *, required: bool) -> None:
    """403 unless the request's `Origin` is the stack's own (CSRF): the request's own scheme and host, or
    the template's `PublicOrigin` (the dashboard's origin when CloudFront fronts the API). Browsers send
    `Origin` on every POST; `required=False` lets a request without one (a script) through."""
    origin = event.headers.get("origin")
    if origin is None and not required:
        return
    scheme = event.headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    own = {_origin(f"{scheme}://{event.headers.get('host', '')}"), _origin(settings.public_origin())}
    if origin is None or _origin(origin) not in own - {None}:
        raise Forbidden(
            "This request must come from a page of this site (its Origin header is missing or foreign)."
        )


def _origin(text: str) -> str | None:
    """`scheme://host[:port]` in lower case without a default port; None for anything else."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port and port != default else "")
