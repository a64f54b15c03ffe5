"""Unit tests run against moto: tables created from template.yaml, one fresh set per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from ghostid_local.cfn_yaml import load_template
from ghostid_local.tables import create_tables
from ghostid_local.target import TABLE_ENV
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from ghostid import settings
    from ghostid.dal import client, usage
    from ghostid.logic import consumer

    for variable in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "AWS_ENDPOINT_URL"):
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
