"""Static checks of template.yaml: least privilege, safe stream settings, durable tables, sample events."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from ghostid_local.cfn_yaml import load_template, loads_template
from ghostid_local.gateway import default_route, http_routes
from ghostid_local.tables import function_ids, table_definitions, table_variables

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]

# Every list below comes from the template, so new tables and functions are checked too.
DATA_TABLES = sorted(table_definitions(TEMPLATE))
TABLE_ENV = table_variables(TEMPLATE)
FUNCTIONS = sorted(function_ids(TEMPLATE))
HTTP_FUNCTIONS = sorted({route.function_id for route in http_routes(TEMPLATE)})
# Functions whose every route is a GET: they read, except counting requests on the caller's credential.
READ_FUNCTIONS = sorted(
    f for f in HTTP_FUNCTIONS if all(r.method == "GET" for r in http_routes(TEMPLATE) if r.function_id == f)
)
READ_ACTIONS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
# The tables of credentials (keyed by the SHA-256 of a token): a read counts itself there (rate limits).
CREDENTIAL_TABLES = {"LoginSessionsTable", "ApiKeysTable"}


def _props(logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES[logical_id]["Properties"]
    return props


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(function: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in _as_list(_props(function).get("Policies", [])):
        assert isinstance(policy, dict), f"{function}: SAM policy templates/managed policies: {policy!r}"
        assert "Statement" in policy, f"{function}: only inline IAM policy documents are allowed"
        statements.extend(_as_list(policy["Statement"]))
    return statements


_INDEX_ARN = re.compile(r"^\$\{(\w+)\.Arn\}/index/(\w+)$")


def _resource_id(resource: Any) -> str:
    """Logical id behind a policy Resource: a plain !GetAtt X.Arn, or one index of a table
    (!Sub "${X.Arn}/index/Name", an index the table defines)."""
    assert isinstance(resource, dict), f"unexpected resource {resource!r}"
    if set(resource) == {"Fn::Sub"}:
        match = _INDEX_ARN.match(resource["Fn::Sub"])
        assert match, f"unexpected resource {resource!r}"
        table, index = match.groups()
        indexes = _props(table).get("GlobalSecondaryIndexes", [])
        assert index in {ix["IndexName"] for ix in indexes}, resource
        return table
    assert set(resource) == {"Fn::GetAtt"}, f"unexpected resource {resource!r}"
    logical_id, attribute = resource["Fn::GetAtt"]
    assert attribute == "Arn", resource
    assert logical_id in RESOURCES, resource
    return str(logical_id)


def _tables_in_policies(function: str) -> set[str]:
    ids = {_resource_id(r) for s in _statements(function) for r in _as_list(s["Resource"])}
    return {i for i in ids if RESOURCES[i]["Type"] == "AWS::DynamoDB::Table"}


def _tables_in_env(function: str) -> set[str]:
    variables = _props(function).get("Environment", {}).get("Variables", {})
    tables = set()
    for name, value in variables.items():
        if name.endswith("_TABLE"):
            assert name in TABLE_ENV, f"{function}: unknown table variable {name}"
            assert value == {"Ref": TABLE_ENV[name]}, f"{function}: {name} must be !Ref {TABLE_ENV[name]}"
            tables.add(TABLE_ENV[name])
    return tables


# ------------------------------------------------------------------ the loader


def test_loader_turns_short_tags_into_long_form() -> None:
    doc = loads_template(
        "A: !Ref X\nB: !GetAtt T.StreamArn\nC: !Sub '${X}-y'\nD: !If [c, 1, !Ref AWS::NoValue]\n"
        "E: !GetAtt [T, Arn]\nF: !Condition IsProd\nG: 2010-09-09\n"
    )
    assert doc == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["T", "StreamArn"]},
        "C": {"Fn::Sub": "${X}-y"},
        "D": {"Fn::If": ["c", 1, {"Ref": "AWS::NoValue"}]},
        "E": {"Fn::GetAtt": ["T", "Arn"]},
        "F": {"Condition": "IsProd"},
        "G": "2010-09-09",
    }


def test_template_shape() -> None:
    assert TEMPLATE["Transform"] == "AWS::Serverless-2016-10-31"
    assert set(TEMPLATE["Parameters"]) >= {"Stage", "EventRetentionDays", "LogLevel", "CorsAllowOrigin"}
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.12"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [{"Ref": "SharedLayer"}]
    assert function_globals["Tracing"] == "Active"  # Lambda's X-Ray segments (the code has no tracer)
    env = function_globals["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "ghostid-analytics"
    assert env["LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert not any(name.endswith("_TABLE") for name in env), "tables go on each function, not in Globals"


def test_shared_layer_is_built_for_arm64_without_boto3() -> None:
    layer = RESOURCES["SharedLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/shared/"
    lines = (ROOT / "layers/shared/requirements.txt").read_text().lower().splitlines()
    requirements = [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
    assert not any(r.startswith(("boto3", "botocore")) for r in requirements)
    assert any(r.startswith("aws-lambda-powertools==") for r in requirements)
    # No X-Ray SDK in the layer: it doubled the cold import; `Tracing: Active` keeps Lambda's segments.
    assert not any(r.startswith(("aws-lambda-powertools[", "aws-xray-sdk")) for r in requirements)


# ------------------------------------------------------------------ least privilege


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policies_have_no_wildcards(function: str) -> None:
    statements = _statements(function)
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert isinstance(action, str), (function, action)
            assert "*" not in action, (function, action)
        for resource in _as_list(statement["Resource"]):
            assert "*" not in json.dumps(resource), (function, resource)
            _resource_id(resource)


@pytest.mark.parametrize("function", READ_FUNCTIONS)
def test_read_functions_only_read(function: str) -> None:
    """Reads, and the writes a read needs: counting the request on the caller's credential, and for
    GET /api/stats storing the answer it computed (PutItem on RollupsTable, a cache of derived data)."""
    for statement in _statements(function):
        actions = set(_as_list(statement["Action"]))
        tables = {_resource_id(r) for r in _as_list(statement["Resource"])}
        if actions == {"dynamodb:UpdateItem"}:
            assert tables <= CREDENTIAL_TABLES, f"{function} writes {sorted(tables - CREDENTIAL_TABLES)}"
        elif function == "StatsFunction" and tables == {"RollupsTable"}:
            assert actions - READ_ACTIONS == {"dynamodb:PutItem"}, actions
        else:
            assert actions <= READ_ACTIONS, f"{function} has write actions: {sorted(actions - READ_ACTIONS)}"


def test_there_are_read_functions() -> None:
    assert {"StatsFunction", "SessionFunction", "MeFunction"} <= set(READ_FUNCTIONS)


def test_one_variable_per_table() -> None:
    """A table has one environment variable name, in every function that is given it."""
    for function in FUNCTIONS:
        for name, value in _props(function).get("Environment", {}).get("Variables", {}).items():
            if isinstance(value, dict) and value.get("Ref") in DATA_TABLES:
                assert TABLE_ENV[name] == value["Ref"], f"{function}: {name} must be !Ref {TABLE_ENV[name]}"
    assert len(set(TABLE_ENV.values())) == len(TABLE_ENV), "two variables name one table"
    assert set(TABLE_ENV.values()) == set(DATA_TABLES), "a table no function is given"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_env_tables_are_exactly_the_tables_the_policies_touch(function: str) -> None:
    assert _tables_in_env(function) == _tables_in_policies(function)


def test_rollup_function_writes_only_rollups() -> None:
    by_resource: dict[str, set[str]] = {}
    for statement in _statements("RollupFunction"):
        for resource in _as_list(statement["Resource"]):
            by_resource.setdefault(_resource_id(resource), set()).update(_as_list(statement["Action"]))
    assert by_resource["EventsTable"] == {"dynamodb:Query"}
    assert by_resource["SitesTable"] == {"dynamodb:GetItem"}
    assert by_resource["RollupDeadLetterQueue"] == {"sqs:SendMessage"}
    assert by_resource["WebhookQueue"] == {"sqs:SendMessage"}
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert by_resource["AlertsTable"] == {"dynamodb:Query"} | writes  # transitions and deliveries only
    # RollupsTable is derived data: the consumer writes and deletes it (a session's first cell moves).
    assert set(by_resource) == {"EventsTable", "SitesTable", "RollupsTable", "AlertsTable"} | {
        "RollupDeadLetterQueue",
        "WebhookQueue",
    }


def _by_resource(function: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for statement in _statements(function):
        for resource in _as_list(statement["Resource"]):
            found.setdefault(_resource_id(resource), set()).update(_as_list(statement["Action"]))
    return found


def test_webhook_sender_reads_and_updates_deliveries_schedules_retries_and_decrypts_only() -> None:
    from ghostid.dal.secrets import PURPOSE

    assert _by_resource("WebhookSenderFunction") == {
        "AlertsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        "WebhookQueue": {"sqs:ChangeMessageVisibility"},
        "WebhookSecretsKey": {"kms:Decrypt"},
    }
    (decrypt,) = [s for s in _statements("WebhookSenderFunction") if s["Action"] == ["kms:Decrypt"]]
    assert decrypt["Condition"] == {"StringEquals": {"kms:EncryptionContext:purpose": PURPOSE}}
    env = _props("WebhookSenderFunction")["Environment"]["Variables"]
    assert env["WEBHOOK_TARGETS"] == "public"  # deployed webhooks: https to public addresses only
    assert env["WEBHOOK_KEY_ID"] == {"Ref": "WebhookSecretsKey"}
    assert env["WEBHOOK_QUEUE_URL"] == {"Ref": "WebhookQueue"}


def test_webhook_queue_outlives_the_retries_and_has_a_dead_letter_queue() -> None:
    from ghostid.logic.webhook_sender import DEFAULT_SCHEDULE

    (event,) = _props("WebhookSenderFunction")["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= event["Properties"]["BatchSize"] <= 10
    queue = _props("WebhookQueue")
    assert queue["VisibilityTimeout"] >= 6 * _props("WebhookSenderFunction")["Timeout"]  # AWS's advice
    assert queue["MessageRetentionPeriod"] > DEFAULT_SCHEDULE.budget_s + 12 * 3600
    attempts, now = 1, 0  # a delivery that always fails is received once per scheduled attempt
    while (now := DEFAULT_SCHEDULE.next_attempt_ms(0, attempts, now) or -1) >= 0:
        attempts += 1
    assert attempts == 12
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= attempts + 10  # room for early duplicate copies
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    alarm = _props("WebhookDeadLetterAlarm")
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "QueueName"]}
    for name in ("WebhookQueue", "WebhookDeadLetterQueue"):
        assert _props(name)["SqsManagedSseEnabled"] is True


def test_webhook_secrets_key_rotates_and_outlives_the_stack() -> None:
    key = RESOURCES["WebhookSecretsKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"  # else every secret is lost
    assert key["Properties"]["EnableKeyRotation"] is True
    outputs = TEMPLATE["Outputs"]
    assert outputs["WebhookSecretsKeyId"]["Value"] == {"Ref": "WebhookSecretsKey"}
    assert outputs["WebhookQueueUrl"]["Value"] == {"Ref": "WebhookQueue"}
    assert outputs["AlertsTableName"]["Value"] == {"Ref": "AlertsTable"}


# ------------------------------------------------------------------ routes and the stream


def test_http_routes() -> None:
    routes: dict[str, list[str]] = {}
    for function in FUNCTIONS:
        for event in _props(function).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
                properties = event["Properties"]
                route = f"{properties['Method']} {properties['Path']}" if "Path" in properties else "$default"
                routes.setdefault(route, []).append(function)
    assert all(len(functions) == 1 for functions in routes.values()), routes
    assert {"GET /api/stats", "POST /api/track", "POST /api/auth/login", "GET /api/me"} <= set(routes)
    # Unknown routes and undeclared methods reach $default: a read function answers 404 or 405 in our
    # envelope (it knows every route from api_routes.json, tests/unit/test_http.py).
    default = default_route(TEMPLATE)
    assert default is not None and routes["$default"] == [default.function_id]
    assert default.function_id in READ_FUNCTIONS
    stage = _props("HttpApi")["DefaultRouteSettings"]
    assert stage["ThrottlingBurstLimit"] > 0
    assert stage["ThrottlingRateLimit"] > 0


def test_track_function_only_puts_events_and_reads_sites() -> None:
    by_resource: dict[str, set[str]] = {}
    for statement in _statements("TrackFunction"):
        for resource in _as_list(statement["Resource"]):
            by_resource.setdefault(_resource_id(resource), set()).update(_as_list(statement["Action"]))
    assert by_resource == {"EventsTable": {"dynamodb:PutItem"}, "SitesTable": {"dynamodb:GetItem"}}
    env = _props("TrackFunction")["Environment"]["Variables"]
    assert env["EVENT_RETENTION_DAYS"] == {"Ref": "EventRetentionDays"}


def test_track_routes_are_throttled() -> None:
    for event in _props("TrackFunction")["Events"].values():
        settings = event["Properties"]["RouteSettings"]
        assert settings["ThrottlingRateLimit"] == {"Ref": "TrackRateLimit"}
        assert settings["ThrottlingBurstLimit"] == {"Ref": "TrackBurstLimit"}
    for parameter in ("TrackRateLimit", "TrackBurstLimit"):
        assert TEMPLATE["Parameters"][parameter]["Default"] > 0


def test_stream_event_is_bounded_and_filtered() -> None:
    (event,) = _props("RollupFunction")["Events"].values()
    assert event["Type"] == "DynamoDB"
    p = event["Properties"]
    assert p["Stream"] == {"Fn::GetAtt": ["EventsTable", "StreamArn"]}
    assert p["BisectBatchOnFunctionError"] is True
    assert 0 <= p["MaximumRetryAttempts"] <= 10
    assert 60 <= p["MaximumRecordAgeInSeconds"] <= 6 * 3600
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert p["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["RollupDeadLetterQueue", "Arn"]
    }
    (flt,) = p["FilterCriteria"]["Filters"]
    assert json.loads(flt["Pattern"]) == {"eventName": ["INSERT"]}
    assert RESOURCES["RollupDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"


# ------------------------------------------------------------------ tables


@pytest.mark.parametrize("table", DATA_TABLES)
def test_data_tables_are_durable(table: str) -> None:
    resource = RESOURCES[table]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_table_keys_match_the_design() -> None:
    def keys(table: str) -> list[tuple[str, str, str]]:
        props = _props(table)
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        return [(k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in props["KeySchema"]]

    def index(table: str, name: str) -> tuple[list[tuple[str, str]], str]:
        (found,) = [ix for ix in _props(table)["GlobalSecondaryIndexes"] if ix["IndexName"] == name]
        return [(k["AttributeName"], k["KeyType"]) for k in found["KeySchema"]], found["Projection"][
            "ProjectionType"
        ]

    assert keys("LoginSessionsTable") == [("token_hash", "HASH", "S")]
    assert keys("UsersTable") == [("email", "HASH", "S")]
    assert keys("ApiKeysTable") == [("key_hash", "HASH", "S")]
    assert keys("SignInAttemptsTable") == [("pk", "HASH", "S")]
    for table in ["SitesTable", "EventsTable", "RollupsTable", "AlertsTable"]:
        assert keys(table) == [("pk", "HASH", "S"), ("sk", "RANGE", "S")]
    # Keys only, so the counter writes on a key item never touch its index.
    assert index("ApiKeysTable", "BySite") == ([("site_id", "HASH"), ("name", "RANGE")], "KEYS_ONLY")
    assert index("SitesTable", "ByMember") == ([("user_id", "HASH"), ("pk", "RANGE")], "KEYS_ONLY")
    assert _props("EventsTable")["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    for table in ["LoginSessionsTable", "EventsTable", "SignInAttemptsTable", "AlertsTable"]:
        assert _props(table)["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_every_table_is_an_output() -> None:
    """`ghostid --stack` finds each table by its `<LogicalId>Name` output."""
    for table in DATA_TABLES:
        assert TEMPLATE["Outputs"][f"{table}Name"]["Value"] == {"Ref": table}


def test_access_settings() -> None:
    parameters = TEMPLATE["Parameters"]
    assert parameters["RateLimitPerMinute"]["Default"] == 600
    assert parameters["SecureCookies"]["Default"] == "true"
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert env["RATE_LIMIT_PER_MINUTE"] == {"Ref": "RateLimitPerMinute"}
    auth = _props("AuthFunction")["Environment"]["Variables"]
    assert auth["SECURE_COOKIES"] == {"Ref": "SecureCookies"}
    assert auth["PUBLIC_ORIGIN"] == {"Ref": "PublicOrigin"}


# ------------------------------------------------------------------ sample events


def _sample_events() -> dict[str, dict[str, Any]]:
    files = sorted((ROOT / "events").glob("*.json"))
    return {f.stem: json.loads(f.read_text()) for f in files if "routeKey" in json.loads(f.read_text())}


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_every_http_function_has_a_sample_event(function: str) -> None:
    """`sam local invoke <function> -e events/<file>.json` works for every function behind the API."""
    keys = {r.route_key for r in http_routes(TEMPLATE) if r.function_id == function}
    assert any(event["routeKey"] in keys for event in _sample_events().values()), (
        f"no events/ file for {function}"
    )


@pytest.mark.parametrize("name", sorted(_sample_events()))
def test_api_sample_events(name: str) -> None:
    event = _sample_events()[name]
    route_key = event["routeKey"]
    assert event["version"] == "2.0"
    assert route_key in {r.route_key for r in http_routes(TEMPLATE)}
    assert event["requestContext"]["routeKey"] == route_key
    method, path = route_key.split(" ", 1)
    assert event["requestContext"]["http"]["method"] == method
    if "{" not in path:
        assert event["rawPath"] == path
    if method == "GET":
        assert "session=demo-token-not-secret" in event["cookies"]
    if "{id}" in path:
        assert event["pathParameters"] == {"id": "gs_123"}
    if "siteId" in (event.get("queryStringParameters") or {}):
        assert event["queryStringParameters"]["siteId"] == "4"


def test_rollup_sample_event() -> None:
    records = json.loads((ROOT / "events/rollup_stream.json").read_text())["Records"]
    assert len(records) >= 3
    for record in records:
        assert record["eventName"] == "INSERT"
        image = record["dynamodb"]["NewImage"]
        assert record["dynamodb"]["Keys"] == {"pk": image["pk"], "sk": image["sk"]}
        assert image["pk"]["S"] == f"{image['site_id']['N']}#{image['session_id']['S']}"
        assert image["sk"] == image["event_id"]
        assert int(image["expires_at"]["N"]) > int(image["ts"]["N"]) // 1000
    images = [r["dynamodb"]["NewImage"] for r in records]
    kinds = [(image["type"]["S"], image["page"]["S"]) for image in images]
    assert ("pageview", "/") in kinds
    assert ("custom_event", "/pricing") in kinds
