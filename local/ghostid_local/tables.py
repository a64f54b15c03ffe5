"""Create the template's DynamoDB tables locally and compute each function's environment."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACCOUNT_ID = "123456789012"
STACK_NAME = "ghostid-local"


def resources_of_type(template: Mapping[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """``{logical_id: Properties}`` of the template's resources of ``type_``."""
    return {
        lid: res.get("Properties", {})
        for lid, res in template.get("Resources", {}).items()
        if res.get("Type") == type_
    }


def table_definitions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{logical_id: Properties}`` of every ``AWS::DynamoDB::Table``."""
    return resources_of_type(template, "AWS::DynamoDB::Table")


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _create_args(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    billing = props.get("BillingMode", "PROVISIONED")
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            indexes = [dict(ix) for ix in props[key]]
            if billing == "PAY_PER_REQUEST":
                for ix in indexes:
                    ix.pop("ProvisionedThroughput", None)
            args[key] = indexes
    stream = props.get("StreamSpecification")
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return args


def _table_exists(client: DynamoDBClient, name: str) -> bool:
    try:
        client.describe_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def create_tables(client: DynamoDBClient, template: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Create every table of ``template`` that does not exist yet (idempotent).

    The local name is ``prefix + logical ID``. Key schema, attribute definitions, indexes,
    stream and TTL come from the template. Returns ``{logical_id: table_name}``.
    """
    names: dict[str, str] = {}
    for lid, props in table_definitions(template).items():
        name = prefix + lid
        names[lid] = name
        if not _table_exists(client, name):
            with contextlib.suppress(client.exceptions.ResourceInUseException):  # created concurrently
                client.create_table(**_create_args(name, props))
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        else:
            _add_missing_indexes(client, name, props)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
    return names


def _add_missing_indexes(client: DynamoDBClient, name: str, props: Mapping[str, Any]) -> None:
    """Creates the template's global secondary indexes a table made by an older template lacks (what
    CloudFormation does on update), so the local state of an earlier `make serve` keeps working."""
    existing = {
        ix["IndexName"]
        for ix in client.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
    }
    wanted = _create_args(name, props).get("GlobalSecondaryIndexes", [])
    for index in [ix for ix in wanted if ix["IndexName"] not in existing]:
        client.update_table(
            TableName=name,
            AttributeDefinitions=props["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )


def table_variables(template: Mapping[str, Any]) -> dict[str, str]:
    """``{VARIABLE: table logical id}`` of every ``*_TABLE: !Ref Table`` a function of the template is
    given (one variable per table: tests/unit/test_template.py checks the functions agree)."""
    tables = table_definitions(template)
    found: dict[str, str] = {}
    for props in resources_of_type(template, "AWS::Serverless::Function").values():
        for variable, value in props.get("Environment", {}).get("Variables", {}).items():
            if isinstance(value, dict) and value.get("Ref") in tables:
                found.setdefault(variable, value["Ref"])
    return dict(sorted(found.items()))


def resolve_value(
    value: Any, template: Mapping[str, Any], table_names: Mapping[str, str], parameters: Mapping[str, str]
) -> str:
    """Resolve a literal, ``Ref``, ``Fn::Sub`` or ``Fn::GetAtt`` to a string, the local way.

    Tables resolve to their local names (ARNs are fake but well-formed), parameters to
    ``parameters`` or their default, pseudo parameters to local values.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return _resolve_ref(str(arg), template, table_names, parameters)
        if fn == "Fn::GetAtt":
            lid, _, attr = arg.partition(".") if isinstance(arg, str) else (arg[0], "", arg[1])
            return _resolve_getatt(lid, attr, table_names)
        if fn == "Fn::Sub" and isinstance(arg, str):
            return _local_secret(_resolve_sub(arg, template, table_names, parameters))
    raise ValueError(f"cannot resolve {value!r} locally")


_SECRET_REFERENCE = re.compile(r"^\{\{resolve:secretsmanager:([^:}]+):SecretString\}\}$")
_secrets: dict[str, str] = {}


def _local_secret(value: str) -> str:
    """A `{{resolve:secretsmanager:...}}` dynamic reference becomes a random secret of this machine: kept in
    `$GHOSTID_LOCAL_STATE/secrets/` when that is set (the local stack), else for this process only."""
    match = _SECRET_REFERENCE.match(value)
    if match is None:
        return value
    name = match.group(1)
    if name not in _secrets:
        import secrets
        from pathlib import Path

        state = os.environ.get("GHOSTID_LOCAL_STATE")
        path = Path(state) / "secrets" / name if state else None
        if path is not None and path.exists():
            _secrets[name] = path.read_text().strip()
        else:
            _secrets[name] = secrets.token_urlsafe(36)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(_secrets[name])
                path.chmod(0o600)
    return _secrets[name]


def _resolve_ref(
    name: str, template: Mapping[str, Any], table_names: Mapping[str, str], parameters: Mapping[str, str]
) -> str:
    pseudo = {
        "AWS::Region": _region(),
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": STACK_NAME,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    if name in table_names:
        return table_names[name]
    if name in parameters:
        return parameters[name]
    params = template.get("Parameters", {})
    if name in params:
        if "Default" not in params[name]:
            raise ValueError(f"parameter {name} has no default; pass it in `parameters`")
        return resolve_value(params[name]["Default"], template, table_names, parameters)
    if name in pseudo:
        return pseudo[name]
    if name in template.get("Resources", {}):
        return name  # a physical id stand-in for other resources
    raise ValueError(f"cannot resolve Ref {name} locally")


def _resolve_getatt(lid: str, attr: str, table_names: Mapping[str, str]) -> str:
    name = table_names.get(lid, lid)
    arn = f"arn:aws:dynamodb:{_region()}:{ACCOUNT_ID}:table/{name}"
    return {"Arn": arn, "StreamArn": f"{arn}/stream/local"}.get(attr, f"{name}.{attr}")


def _resolve_sub(
    text: str, template: Mapping[str, Any], table_names: Mapping[str, str], parameters: Mapping[str, str]
) -> str:
    def repl(m: re.Match[str]) -> str:
        ref = m.group(2)
        if m.group(1):
            return "${" + ref + "}"  # ${!Literal} is the escape for a literal ${Literal}
        if "." in ref:
            lid, _, attr = ref.partition(".")
            return _resolve_getatt(lid, attr, table_names)
        return _resolve_ref(ref, template, table_names, parameters)

    return re.sub(r"\$\{(!?)([^}]*)\}", repl, text)


def function_environment(
    template: Mapping[str, Any],
    logical_id: str,
    table_names: Mapping[str, str],
    parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``Globals.Function.Environment.Variables`` merged with the function's own, resolved locally."""
    params = parameters or {}
    glob = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    props = template["Resources"][logical_id].get("Properties", {})
    own = props.get("Environment", {}).get("Variables", {})
    merged = {**glob, **own}
    return {k: resolve_value(v, template, table_names, params) for k, v in merged.items()}


def function_ids(template: Mapping[str, Any]) -> list[str]:
    """Logical IDs of the template's ``AWS::Serverless::Function`` resources."""
    return list(resources_of_type(template, "AWS::Serverless::Function"))
