"""Integration fixtures: one in-memory DynamoDB Local per test session, fresh tables per test."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from ghostid_local import dynamodb_local
from ghostid_local.cfn_yaml import load_template
from ghostid_local.tables import create_tables
from ghostid_local.target import TABLE_ENV

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ddb_endpoint() -> Iterator[str]:
    """Endpoint of a DynamoDB Local started once for the session (in memory, on a free port)."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    try:
        dynamodb_local.find_jar_dir()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    ddb = dynamodb_local.start(dynamodb_local.free_port(), in_memory=True)
    try:
        yield ddb.endpoint
    finally:
        ddb.stop()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture(scope="session")
def ddb_client(ddb_endpoint: str) -> DynamoDBClient:
    """A DynamoDB client for the session's DynamoDB Local."""
    client: DynamoDBClient = _client("dynamodb", ddb_endpoint)
    return client


@pytest.fixture(scope="session")
def ddb_streams(ddb_endpoint: str) -> DynamoDBStreamsClient:
    """A DynamoDB Streams client for the session's DynamoDB Local."""
    client: DynamoDBStreamsClient = _client("dynamodbstreams", ddb_endpoint)
    return client


@pytest.fixture(scope="session")
def cfn_template() -> dict[str, Any]:
    """template.yaml as plain data (CloudFormation tags in long form)."""
    return load_template(ROOT / "template.yaml")


@pytest.fixture
def local_tables(ddb_client: DynamoDBClient, cfn_template: dict[str, Any]) -> Iterator[dict[str, str]]:
    """The template's tables under a prefix unique to this test: ``{logical_id: table_name}``."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    names = create_tables(ddb_client, cfn_template, prefix=prefix)
    yield names
    for name in names.values():
        with contextlib.suppress(ddb_client.exceptions.ResourceNotFoundException):
            ddb_client.delete_table(TableName=name)


def _reset_ghostid_caches() -> None:
    try:
        from ghostid import settings
        from ghostid.dal import client
    except ImportError:
        return
    settings.clear_cache()
    client.dynamodb.cache_clear()


@pytest.fixture
def local_aws_env(
    monkeypatch: pytest.MonkeyPatch, ddb_endpoint: str, local_tables: dict[str, str]
) -> Iterator[dict[str, str]]:
    """Points boto3 (and the ghostid package) at DynamoDB Local and this test's tables."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", ddb_endpoint)
    for variable, logical_id in TABLE_ENV.items():
        monkeypatch.setenv(variable, local_tables[logical_id])
    _reset_ghostid_caches()
    yield local_tables
    _reset_ghostid_caches()


@pytest.fixture(scope="module")
def module_aws_env(
    ddb_endpoint: str, ddb_client: DynamoDBClient, cfn_template: dict[str, Any]
) -> Iterator[dict[str, str]]:
    """As `local_aws_env`, for a whole module: tests that share loaded traffic (and read it only)."""
    prefix = f"m{uuid.uuid4().hex[:10]}-"
    names = create_tables(ddb_client, cfn_template, prefix=prefix)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb_endpoint)
        patch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", ddb_endpoint)
        for variable, logical_id in TABLE_ENV.items():
            patch.setenv(variable, names[logical_id])
        _reset_ghostid_caches()
        yield names
    _reset_ghostid_caches()
    for name in names.values():
        with contextlib.suppress(ddb_client.exceptions.ResourceNotFoundException):
            ddb_client.delete_table(TableName=name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for a browser test module (skipped locally without it, a failure in CI)."""
    from tests.support.browser import chromium

    with chromium() as launched:
        yield launched
