"""Which DynamoDB the tools talk to: the local stack (default) or a deployed CloudFormation stack."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ghostid_local.cfn_yaml import load_template
from ghostid_local.tables import table_variables

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# Each table's environment variable, as template.yaml gives it to the functions.
TABLE_ENV = table_variables(load_template(TEMPLATE))
LOCAL_REGION = "us-east-1"
REPO_ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_KEY_FILE = "webhook-secrets.key"
LOCAL_QUEUES_FILE = "local-queues.json"  # written by `make serve`: its SQS endpoint and queue URLs


def local_state_dir() -> Path:
    """Where the local stack keeps its state: $GHOSTID_LOCAL_STATE, else `.local/` in the repo."""
    return Path(os.environ.get("GHOSTID_LOCAL_STATE") or REPO_ROOT / ".local")


def local_webhook_key() -> str:
    """`WEBHOOK_KEY_ID` on the local stack: a key file in its state folder, not KMS (dal/secrets.py)."""
    return f"file:{local_state_dir() / WEBHOOK_KEY_FILE}"


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
    os.environ.setdefault("WEBHOOK_KEY_ID", local_webhook_key())
    os.environ.setdefault("WEBHOOK_TARGETS", "local")
    queues = local_state_dir() / LOCAL_QUEUES_FILE
    running = json.loads(queues.read_text()) if queues.is_file() else {}
    if running.get("ddb_endpoint") == endpoint:  # that `make serve`'s queue: where transitions go
        os.environ.setdefault("AWS_ENDPOINT_URL_SQS", running["endpoint"])
        os.environ.setdefault("WEBHOOK_QUEUE_URL", running["queues"]["WebhookQueue"])
    _reset_caches()
    return endpoint


def use_stack(stack_name: str) -> None:
    """Reads the table names from a deployed stack's outputs (real AWS credentials from the environment)."""
    import boto3

    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    for variable, logical_id in TABLE_ENV.items():
        os.environ[variable] = outputs[f"{logical_id}Name"]
    os.environ["WEBHOOK_KEY_ID"] = outputs["WebhookSecretsKeyId"]
    os.environ["WEBHOOK_QUEUE_URL"] = outputs["WebhookQueueUrl"]
    os.environ["WEBHOOK_TARGETS"] = "public"
    _reset_caches()


def _reset_caches() -> None:
    from ghostid import settings
    from ghostid.dal import client, queue, secrets

    settings.clear_cache()
    client.dynamodb.cache_clear()
    queue.sqs.cache_clear()
    secrets.kms.cache_clear()
