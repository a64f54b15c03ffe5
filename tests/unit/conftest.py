"""Unit tests run against moto: tables created from template.yaml, one fresh set per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from ghostid_local.cfn_yaml import load_template
from ghostid_local.queues import create_queues
from ghostid_local.tables import create_tables
from ghostid_local.target import TABLE_ENV
from moto import mock_aws

from tests.support import surface
from tests.support.scenario import NOW_MS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from ghostid import settings
    from ghostid.dal import client, usage
    from ghostid.logic import consumer

    for variable in (
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(variable, raising=False)
    for variable, table in TABLE_ENV.items():
        monkeypatch.setenv(variable, table)
    monkeypatch.setenv("FOLD_CONCURRENCY", "1")  # moto's backend is not thread-safe
    settings.clear_cache()
    client.dynamodb.cache_clear()
    consumer.clear_config_cache()  # fresh tables: no site settings cached from an earlier test
    usage.forget_windows()  # nor rate-limit windows of credentials of the same name
    with mock_aws():
        create_tables(boto3.client("dynamodb"), load_template(ROOT / "template.yaml"))
        yield
    client.dynamodb.cache_clear()
    settings.clear_cache()
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in os.environ


@pytest.fixture
def alerts_aws(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """`aws` plus the template's queues (moto's SQS) and a KMS key for webhook secrets, with webhooks
    allowed to 127.0.0.1 (as on the local stack) and one delivery at a time (moto is not thread-safe).
    Yields `{logical id: queue URL or key id}`."""
    from ghostid import settings
    from ghostid.dal import queue, secrets

    urls = create_queues(boto3.client("sqs"), load_template(ROOT / "template.yaml"))
    key_id = boto3.client("kms").create_key(Description="webhook secrets")["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", urls["WebhookQueue"])
    monkeypatch.setenv("WEBHOOK_KEY_ID", key_id)
    monkeypatch.setenv("WEBHOOK_TARGETS", "local")
    monkeypatch.setenv("DELIVERY_CONCURRENCY", "1")
    for reset in (settings.clear_cache, queue.sqs.cache_clear, secrets.kms.cache_clear):
        reset()
    yield {**urls, "WebhookSecretsKey": key_id}
    for reset in (settings.clear_cache, queue.sqs.cache_clear, secrets.kms.cache_clear):
        reset()


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scenario's clock (tests/support/scenario.py), as every handler reads it."""
    from ghostid import timeutil

    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)


@pytest.fixture
def site(now: None) -> list[dict[str, Any]]:
    """Sites 4 (the member's, with `tiny_traffic()` folded) and 5, as the route tests read them."""
    return surface.member_site()


@pytest.fixture
def calls() -> Iterator[list[str]]:
    """The DynamoDB operations made through the shared client, in order."""
    from ghostid.dal import client

    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    events = client.dynamodb().meta.events
    events.register("provide-client-params.dynamodb.*", record, unique_id="test-calls")
    yield seen
    events.unregister("provide-client-params.dynamodb.*", unique_id="test-calls")
