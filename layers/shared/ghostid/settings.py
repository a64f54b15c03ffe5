"""Runtime settings: one frozen model read from the environment (each variable is declared in template.yaml),
validated once per process (the handlers load it at cold start), and the constants the data model is built on.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Distinct counts: HLL lg_k=14 is exact (in coupon mode) far past 200 and ~0.6% RMS above (README).
HLL_LG_K = 14
TOP_LIMIT = 10
# Legacy rollup model (replaced by the model in ghostid/models/rollups.py): page shards and hourly reach-back.
PAGE_SHARDS = {"H": 2, "D": 4}
HOURLY_REACH_BACK_HOURS = 8 * 24

TableName = Annotated[str, Field(min_length=3, max_length=255)]


class Settings(BaseModel):
    """Every variable a function may read. Tables are optional here because each function is given only
    the ones it uses; asking for one it was not given fails loudly (`require`)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    sessions_table: TableName | None = Field(default=None, alias="SESSIONS_TABLE")
    sites_table: TableName | None = Field(default=None, alias="SITES_TABLE")
    events_table: TableName | None = Field(default=None, alias="EVENTS_TABLE")
    rollups_table: TableName | None = Field(default=None, alias="ROLLUPS_TABLE")
    users_table: TableName | None = Field(default=None, alias="USERS_TABLE")
    api_keys_table: TableName | None = Field(default=None, alias="API_KEYS_TABLE")
    sign_in_attempts_table: TableName | None = Field(default=None, alias="SIGN_IN_ATTEMPTS_TABLE")
    # Requests a minute per login session and per API key (PRODUCT §13).
    rate_limit_per_minute: int = Field(default=600, ge=1, le=1_000_000, alias="RATE_LIMIT_PER_MINUTE")
    # The dashboard's origin when it is not the API's own host (CloudFront in front): cookie POSTs
    # may come from it too.
    public_origin: str = Field(default="", max_length=2048, alias="PUBLIC_ORIGIN")
    # `Secure` on the session cookie; only the local http stack turns it off.
    secure_cookies: bool = Field(default=True, alias="SECURE_COOKIES")
    event_retention_days: int = Field(default=400, ge=1, le=3650, alias="EVENT_RETENTION_DAYS")
    fold_concurrency: int = Field(default=8, ge=1, le=64, alias="FOLD_CONCURRENCY")
    # Signs the read routes' cursors (`ghostid.logic.cursor`): a Secrets Manager secret when deployed.
    cursor_secret: str | None = Field(default=None, min_length=32, alias="CURSOR_SECRET")
    alerts_table: TableName | None = Field(default=None, alias="ALERTS_TABLE")
    webhook_queue_url: str | None = Field(default=None, min_length=1, alias="WEBHOOK_QUEUE_URL")
    # A KMS key (id, ARN or alias) that encrypts webhook secrets; `file:<path>` on the local stack only.
    webhook_key_id: str | None = Field(default=None, min_length=1, alias="WEBHOOK_KEY_ID")
    # `public`: webhook URLs must be https and resolve to public addresses only. `local` (the local stack)
    # also allows http and loopback addresses, so a receiver on 127.0.0.1 can be tried.
    webhook_targets: Literal["public", "local"] = Field(default="public", alias="WEBHOOK_TARGETS")
    delivery_concurrency: int = Field(default=10, ge=1, le=10, alias="DELIVERY_CONCURRENCY")

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            variable = type(self).model_fields[name].alias or name.upper()
            raise RuntimeError(f"environment variable {variable} is not set")
        return str(value)


class SettingsError(RuntimeError):
    """The environment does not fit the Settings model (raised at cold start, before any request)."""


@cache
def current() -> Settings:
    """The process's settings, read and validated on first use (cold start)."""
    try:
        return Settings.model_validate({k: v for k, v in os.environ.items() if v != ""})
    except ValidationError as error:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())
        raise SettingsError(f"invalid environment: {problems}") from None


def clear_cache() -> None:
    """Re-read the environment on next use (tests and the local tools point the package elsewhere)."""
    current.cache_clear()


def sessions_table() -> str:
    return current().require("sessions_table")


def sites_table() -> str:
    return current().require("sites_table")


def events_table() -> str:
    return current().require("events_table")


def rollups_table() -> str:
    return current().require("rollups_table")


def users_table() -> str:
    return current().require("users_table")


def api_keys_table() -> str:
    return current().require("api_keys_table")


def sign_in_attempts_table() -> str:
    return current().require("sign_in_attempts_table")


def rate_limit_per_minute() -> int:
    return current().rate_limit_per_minute


def public_origin() -> str:
    return current().public_origin


def secure_cookies() -> bool:
    return current().secure_cookies


def event_retention_days() -> int:
    return current().event_retention_days


def fold_concurrency() -> int:
    """Parallel DynamoDB calls per stream batch in the rollup function (FOLD_CONCURRENCY, default 8)."""
    return current().fold_concurrency


def cursor_secret() -> bytes:
    return current().require("cursor_secret").encode()


def alerts_table() -> str:
    return current().require("alerts_table")


def webhook_queue_url() -> str:
    return current().require("webhook_queue_url")


def webhook_key_id() -> str:
    return current().require("webhook_key_id")


def webhook_targets() -> Literal["public", "local"]:
    return current().webhook_targets


def delivery_concurrency() -> int:
    """Deliveries of one SQS batch the sender POSTs at once (DELIVERY_CONCURRENCY, at most the batch size)."""
    return current().delivery_concurrency
