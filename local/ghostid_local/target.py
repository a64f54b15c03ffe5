"""Which DynamoDB the tools talk to: the local stack (default) or a deployed CloudFormation stack."""

from __future__ import annotations

import os
from pathlib import Path

from ghostid_local.cfn_yaml import load_template
from ghostid_local.tables import table_variables

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# Each table's environment variable, as template.yaml gives it to the functions.
TABLE_ENV = table_variables(load_template(TEMPLATE))
LOCAL_REGION = "us-east-1"


def local_endpoint() -> str:
    return os.environ.get("DDB_ENDPOINT") or f"http://127.0.0.1:{os.environ.get('DDB_PORT', '8000')}"


def use_local(endpoint: str | None = None, prefix: str = "") -> str:
    """Points boto3 and the `ghostid` package at DynamoDB Local; tables are named after logical IDs
    (table variables already in the environment are kept, which is how the tests aim it at theirs)."""
    endpoint = endpoint or local_endpoint()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", LOCAL_REGION)
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    for variable, logical_id in TABLE_ENV.items():
        os.environ.setdefault(variable, prefix + logical_id)
    _reset_caches()
    return endpoint


def use_stack(stack_name: str) -> None:
    """Reads the table names from a deployed stack's outputs (real AWS credentials from the environment)."""
    import boto3

    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    for variable, logical_id in TABLE_ENV.items():
        os.environ[variable] = outputs[f"{logical_id}Name"]
    _reset_caches()


def _reset_caches() -> None:
    from ghostid import settings
    from ghostid.dal import client

    settings.clear_cache()
    client.dynamodb.cache_clear()
