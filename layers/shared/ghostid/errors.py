"""Domain errors. `ghostid.http` is the one place that turns them into HTTP responses."""

from __future__ import annotations

from collections.abc import Mapping


class GhostIdError(Exception):
    """An error a caller can act on; `message` is safe to show (no internals), `headers` go on the answer."""

    status = 500
    code = "internal"

    def __init__(self, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class InvalidParameter(GhostIdError):
    status = 400
    code = "invalid_parameter"


class Unauthenticated(GhostIdError):
    status = 401
    code = "unauthenticated"

    def __init__(
        self, message: str = "Sign in again: the session cookie is missing, invalid or expired."
    ) -> None:
        super().__init__(message)


class Forbidden(GhostIdError):
    status = 403
    code = "forbidden"

    def __init__(self, message: str = "Your account has no access to this site.") -> None:
        super().__init__(message)


class NotFound(GhostIdError):
    status = 404
    code = "not_found"


class MethodNotAllowed(GhostIdError):
    """The path exists with other methods; `Allow` lists them."""

    status = 405
    code = "method_not_allowed"

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        methods = ", ".join(allowed)
        super().__init__(f"{path[:200]} does not take {method[:20]}: use {methods}.", {"Allow": methods})


class PayloadTooLarge(GhostIdError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(GhostIdError):
    status = 415
    code = "unsupported_media_type"


class RateLimited(GhostIdError):
    status = 429
    code = "rate_limited"
