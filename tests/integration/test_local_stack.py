"""The local stack's own pieces: tables from the template, the stream poller, the HTTP gateway."""

from __future__ import annotations

import copy
import http.client
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ghostid_local.gateway import LocalGateway, http_routes, make_gateway, match_route
from ghostid_local.lambda_context import load_function
from ghostid_local.streams import StreamPoller, StreamSource, matches_pattern, stream_sources
from ghostid_local.tables import (
    create_tables,
    function_environment,
    function_ids,
    resolve_value,
    table_definitions,
)

pytestmark = pytest.mark.integration


# ----------------------------------------------------------------------------- tables


def test_tables_match_template(
    ddb_client: Any, cfn_template: dict[str, Any], local_tables: dict[str, str]
) -> None:
    defs = table_definitions(cfn_template)
    assert set(local_tables) == set(defs)
    assert {"LoginSessionsTable", "SitesTable", "UsersTable", "ApiKeysTable", "SignInAttemptsTable"} <= set(
        defs
    )
    for lid, props in defs.items():
        assert local_tables[lid].endswith(lid)
        table = ddb_client.describe_table(TableName=local_tables[lid])["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            props["AttributeDefinitions"], key=str
        )
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        indexes = {ix["IndexName"]: ix["KeySchema"] for ix in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {ix["IndexName"]: ix["KeySchema"] for ix in props.get("GlobalSecondaryIndexes", [])}
        stream = props.get("StreamSpecification")
        if stream:
            assert table["StreamSpecification"] == {"StreamEnabled": True, **stream}
        else:
            assert not table.get("StreamSpecification", {}).get("StreamEnabled")
        ttl = ddb_client.describe_time_to_live(TableName=local_tables[lid])["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in props:
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_create_tables_is_idempotent(
    ddb_client: Any, cfn_template: dict[str, Any], local_tables: dict[str, str]
) -> None:
    prefix = local_tables["SitesTable"].removesuffix("SitesTable")
    ddb_client.put_item(TableName=local_tables["SitesTable"], Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert create_tables(ddb_client, cfn_template, prefix=prefix) == local_tables
    assert ddb_client.scan(TableName=local_tables["SitesTable"])["Count"] == 1


def test_an_index_the_template_added_is_created_on_an_existing_table(
    ddb_client: Any, cfn_template: dict[str, Any], local_tables: dict[str, str]
) -> None:
    """A local state made by an older template gets the new index, as CloudFormation would add it."""
    prefix = local_tables["SitesTable"].removesuffix("SitesTable")
    older = copy.deepcopy(cfn_template)
    props = older["Resources"]["SitesTable"]["Properties"]
    name = prefix + "OldSitesTable"
    keys = [a for a in props["AttributeDefinitions"] if a["AttributeName"] in ("pk", "sk")]
    without_index = {**props, "AttributeDefinitions": keys}
    without_index.pop("GlobalSecondaryIndexes")
    older["Resources"] = {"OldSitesTable": {**older["Resources"]["SitesTable"], "Properties": without_index}}
    create_tables(ddb_client, older, prefix=prefix)
    assert "GlobalSecondaryIndexes" not in ddb_client.describe_table(TableName=name)["Table"]
    newer = {"Resources": {"OldSitesTable": cfn_template["Resources"]["SitesTable"]}}
    create_tables(ddb_client, newer, prefix=prefix)
    indexes = ddb_client.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    assert [ix["IndexName"] for ix in indexes] == ["ByMember"]
    ddb_client.delete_table(TableName=name)


def test_function_environment_resolves_tables_and_parameters(cfn_template: dict[str, Any]) -> None:
    names = {lid: f"p-{lid}" for lid in table_definitions(cfn_template)}
    stats = function_environment(cfn_template, "StatsFunction", names)
    assert stats["SESSIONS_TABLE"] == "p-LoginSessionsTable"
    assert stats["SITES_TABLE"] == "p-SitesTable"
    assert stats["ROLLUPS_TABLE"] == "p-RollupsTable"
    assert "EVENTS_TABLE" not in stats
    assert stats["LOG_LEVEL"] == "INFO"  # !Ref LogLevel -> its default
    assert stats["POWERTOOLS_SERVICE_NAME"]  # from Globals
    rollup = function_environment(cfn_template, "RollupFunction", names, parameters={"LogLevel": "DEBUG"})
    assert rollup["EVENTS_TABLE"] == "p-EventsTable"
    assert rollup["LOG_LEVEL"] == "DEBUG"
    assert all(isinstance(v, str) for v in {**stats, **rollup}.values())
    sub = {"Fn::Sub": "${AWS::Region}/${EventsTable}/${EventsTable.Arn}/${!Literal}"}
    assert resolve_value(sub, cfn_template, names, {}).startswith("us-east-1/p-EventsTable/arn:aws:dynamodb:")
    assert resolve_value(sub, cfn_template, names, {}).endswith("/${Literal}")


# ----------------------------------------------------------------------------- stream poller


def test_stream_source_read_from_template(cfn_template: dict[str, Any]) -> None:
    (src,) = stream_sources(cfn_template)
    assert (src.function_id, src.table_id, src.batch_size) == ("RollupFunction", "EventsTable", 100)
    assert src.filters == ({"eventName": ["INSERT"]},)
    assert src.maximum_retry_attempts == 5
    assert src.maximum_record_age_s == 3600
    assert src.bisect_on_error and src.report_item_failures


def test_filter_patterns() -> None:
    rec = {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "pageview"}, "n": {"N": "7"}}}}
    assert matches_pattern({"eventName": ["INSERT"]}, rec)
    assert not matches_pattern({"eventName": ["REMOVE", "MODIFY"]}, rec)
    assert matches_pattern({"dynamodb": {"NewImage": {"type": {"S": [{"prefix": "page"}]}}}}, rec)
    assert matches_pattern({"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 5, "<=", 7]}]}}}}, rec)
    assert matches_pattern({"eventName": [{"anything-but": ["REMOVE"]}]}, rec)
    assert matches_pattern({"userIdentity": [{"exists": False}]}, rec)
    assert not matches_pattern({"userIdentity": {"type": ["Service"]}}, rec)


class FakeHandler:
    """Records every batch; ``decide(seqs, call_no)`` returns the handler's response or raises."""

    def __init__(self, decide: Callable[[list[str], int], Any] | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.decide = decide

    def __call__(self, event: dict[str, Any]) -> Any:
        self.batches.append(event["Records"])
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        return self.decide(seqs, len(self.batches)) if self.decide else {"batchItemFailures": []}

    def ids(self, batch: int | None = None) -> list[str]:
        batches = self.batches if batch is None else [self.batches[batch]]
        return [r["dynamodb"]["Keys"]["sk"]["S"] for b in batches for r in b]


@pytest.fixture
def rollup_source(cfn_template: dict[str, Any]) -> StreamSource:
    (src,) = stream_sources(cfn_template)
    return src


@pytest.fixture
def make_poller(
    ddb_client: Any, ddb_streams: Any, local_tables: dict[str, str], rollup_source: StreamSource
) -> Callable[..., StreamPoller]:
    def make(
        handler: FakeHandler, sink: list[dict[str, Any]] | None = None, **overrides: Any
    ) -> StreamPoller:
        checkpoint = overrides.pop("checkpoint_path", None)
        return StreamPoller(
            handler,
            replace(rollup_source, **overrides),
            local_tables["EventsTable"],
            dynamodb=ddb_client,
            streams=ddb_streams,
            sink=(sink if sink is not None else []).append,
            checkpoint_path=checkpoint,
        )

    return make


@pytest.fixture
def put_event(ddb_client: Any, local_tables: dict[str, str]) -> Callable[..., None]:
    def put(sk: str, **attrs: Any) -> None:
        item = {"pk": {"S": "4#gs_1"}, "sk": {"S": sk}, "props": {"M": {}}, "b": {"B": b"\x00\x01"}}
        item.update({k: {"S": v} for k, v in attrs.items()})
        ddb_client.put_item(TableName=local_tables["EventsTable"], Item=item)

    return put


def test_poller_delivers_inserts_as_lambda_batches(
    make_poller: Callable[..., StreamPoller],
    put_event: Callable[..., None],
    ddb_client: Any,
    local_tables: dict[str, str],
) -> None:
    # a write to another table first: DynamoDB Local numbers stream records across tables
    ddb_client.put_item(TableName=local_tables["SitesTable"], Item={"pk": {"S": "x"}, "sk": {"S": "y"}})
    handler = FakeHandler()
    poller = make_poller(handler, batch_size=3)
    poller.drain()  # empty stream
    for i in range(5):
        put_event(f"e{i}")
    put_event("e0", page="/changed")  # MODIFY: filtered out
    ddb_client.delete_item(
        TableName=local_tables["EventsTable"], Key={"pk": {"S": "4#gs_1"}, "sk": {"S": "e1"}}
    )  # REMOVE: filtered out
    poller.drain()
    assert handler.ids() == ["e0", "e1", "e2", "e3", "e4"]
    assert [len(b) for b in handler.batches] == [3, 2]
    rec = handler.batches[0][0]
    assert set(rec) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert (rec["eventName"], rec["eventVersion"], rec["eventSource"]) == ("INSERT", "1.1", "aws:dynamodb")
    assert rec["eventSourceARN"].startswith("arn:aws:dynamodb:")
    ddb = rec["dynamodb"]
    assert ddb["Keys"] == {"pk": {"S": "4#gs_1"}, "sk": {"S": "e0"}}
    assert ddb["NewImage"]["props"] == {"M": {}}  # DynamoDB Local sends {} for an empty map
    assert ddb["NewImage"]["b"] == {"B": "AAE="}  # binary as base64, like Lambda's JSON
    assert ddb["StreamViewType"] == "NEW_IMAGE"
    assert isinstance(ddb["ApproximateCreationDateTime"], int)
    assert int(ddb["SequenceNumber"]) > 0 and ddb["SizeBytes"] > 0
    json.dumps(handler.batches)  # the event is plain JSON
    poller.drain()
    assert len(handler.batches) == 2  # nothing redelivered
    put_event("e9")
    poller.drain()
    assert handler.ids(2) == ["e9"]


def test_partial_failure_redelivers_from_lowest_failed(
    make_poller: Callable[..., StreamPoller], put_event: Callable[..., None]
) -> None:
    def decide(seqs: list[str], call: int) -> dict[str, Any]:
        failed = [seqs[3], seqs[1]] if call == 1 else []  # lowest failed is the 2nd record
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}

    handler = FakeHandler(decide)
    poller = make_poller(handler, batch_size=10)
    for i in range(5):
        put_event(f"e{i}")
    poller.drain()
    assert handler.ids(0) == ["e0", "e1", "e2", "e3", "e4"]
    assert handler.ids(1) == ["e1", "e2", "e3", "e4"]  # everything after the checkpoint, again
    assert len(handler.batches) == 2


def test_report_ignored_without_report_batch_item_failures(
    make_poller: Callable[..., StreamPoller], put_event: Callable[..., None]
) -> None:
    handler = FakeHandler(lambda seqs, call: {"batchItemFailures": [{"itemIdentifier": seqs[0]}]})
    poller = make_poller(handler, report_item_failures=False)
    put_event("e0")
    poller.drain()
    assert len(handler.batches) == 1


def test_poison_record_goes_to_sink_after_retries(
    make_poller: Callable[..., StreamPoller], put_event: Callable[..., None]
) -> None:
    def decide(seqs: list[str], call: int) -> dict[str, Any]:
        ids = [r["dynamodb"]["Keys"]["sk"]["S"] for r in handler.batches[-1]]
        return {
            "batchItemFailures": [{"itemIdentifier": s} for s, i in zip(seqs, ids, strict=True) if i == "bad"]
        }

    handler = FakeHandler(decide)
    sink: list[dict[str, Any]] = []
    poller = make_poller(handler, sink, batch_size=10, maximum_retry_attempts=2)
    for sk in ("a", "bad", "b"):
        put_event(sk)
    poller.drain()
    assert sum(handler.ids().count(x) for x in ["bad"]) == 3  # first attempt + 2 retries
    (entry,) = sink
    assert entry["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in entry["records"]] == ["bad"]
    assert entry["DDBStreamBatchInfo"]["batchSize"] == 1
    put_event("c")
    poller.drain()
    assert handler.ids(len(handler.batches) - 1) == ["c"]  # the shard moved on


def test_exception_bisects_then_sinks_the_poison_record(
    make_poller: Callable[..., StreamPoller], put_event: Callable[..., None]
) -> None:
    ok: list[str] = []

    def decide(seqs: list[str], call: int) -> None:
        ids = [r["dynamodb"]["Keys"]["sk"]["S"] for r in handler.batches[-1]]
        if "bad" in ids:
            raise ValueError("poison")
        ok.extend(ids)

    handler = FakeHandler(decide)
    sink: list[dict[str, Any]] = []
    poller = make_poller(handler, sink, batch_size=4, maximum_retry_attempts=1)
    for sk in ("a", "b", "bad", "c"):
        put_event(sk)
    poller.drain()
    assert [len(b) for b in handler.batches[:3]] == [4, 2, 2]  # halved, then halved again
    assert ok == ["a", "b", "c"]
    (entry,) = sink
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in entry["records"]] == ["bad"]
    assert entry["responseContext"]["functionError"] == "Unhandled"


def test_checkpoints_survive_a_restart(
    make_poller: Callable[..., StreamPoller], put_event: Callable[..., None], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoints.json"
    first = FakeHandler()
    make_poller(first, checkpoint_path=checkpoint).drain()
    put_event("e0")
    put_event("e1")
    make_poller(first, checkpoint_path=checkpoint).drain()
    assert first.ids() == ["e0", "e1"]
    put_event("e2")
    second = FakeHandler()
    make_poller(second, checkpoint_path=checkpoint).drain()
    assert second.ids() == ["e2"]  # resumed after the checkpoint
    fresh = FakeHandler()
    make_poller(fresh, checkpoint_path=tmp_path / "other.json").drain()
    assert fresh.ids() == ["e0", "e1", "e2"]  # unknown shard: TRIM_HORIZON


def test_run_forever_polls_until_stopped(
    make_poller: Callable[..., StreamPoller], put_event: Callable[..., None]
) -> None:
    handler = FakeHandler()
    poller = make_poller(handler)
    stop = threading.Event()
    thread = threading.Thread(target=poller.run_forever, args=(stop, 0.05))
    thread.start()
    try:
        put_event("e0")
        poller.drain()
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert handler.ids() == ["e0"]


class FakeStreams:
    """A closed parent shard and its child, served in the order the poller asks for them."""

    class exceptions:  # mirrors boto3's client.exceptions
        class ExpiredIteratorException(Exception):
            pass

        class TrimmedDataAccessException(Exception):
            pass

    def __init__(self) -> None:
        def rec(seq: int) -> dict[str, Any]:
            ddb = {
                "Keys": {"sk": {"S": f"r{seq}"}},
                "NewImage": {},
                "SequenceNumber": str(seq),
                "SizeBytes": 1,
            }
            return {"eventID": str(seq), "eventName": "INSERT", "dynamodb": ddb}

        self.records = {"child": [rec(3), rec(4)], "parent": [rec(1), rec(2)]}
        self.closed = {"parent"}

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {
            "StreamDescription": {
                "Shards": [{"ShardId": "child", "ParentShardId": "parent"}, {"ShardId": "parent"}]
            }
        }

    def get_shard_iterator(self, ShardId: str, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": ShardId}

    def get_records(self, ShardIterator: str, **_: Any) -> dict[str, Any]:
        records, self.records[ShardIterator] = self.records[ShardIterator], []
        nxt = None if ShardIterator in self.closed and not records else ShardIterator
        return {"Records": records, "NextShardIterator": nxt}


class FakeDynamoDB:
    def describe_table(self, **_: Any) -> dict[str, Any]:
        return {"Table": {"LatestStreamArn": "arn:aws:dynamodb:us-east-1:1:table/T/stream/x"}}


def test_parent_shard_before_child(rollup_source: StreamSource) -> None:
    handler = FakeHandler()
    sink: list[dict[str, Any]] = []
    poller = StreamPoller(
        handler,
        rollup_source,
        "T",
        dynamodb=FakeDynamoDB(),  # type: ignore[arg-type]
        streams=FakeStreams(),  # type: ignore[arg-type]
        sink=sink.append,
    )
    poller.drain()
    assert handler.ids() == ["r1", "r2", "r3", "r4"]


# ----------------------------------------------------------------------------- gateway


def echo(name: str) -> Callable[[dict[str, Any]], Any]:
    def handler(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json", "X-Fn": name},
            "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
            "body": json.dumps(event),
        }

    return handler


def every_api_function(template: dict[str, Any], make: Callable[[str], Any]) -> dict[str, Any]:
    return {fid: make(fid) for fid in function_ids(template)}


@pytest.fixture
def gateway(cfn_template: dict[str, Any]) -> Iterator[LocalGateway]:
    server = make_gateway(cfn_template, every_api_function(cfn_template, echo), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def request(
    server: LocalGateway,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.headers, data


def test_gateway_builds_payload_v2_events(gateway: LocalGateway) -> None:
    status, headers, body = request(
        gateway,
        "GET",
        "/api/stats?siteId=4&timeRange=7d&x=1&x=2",
        {"Cookie": "session=abc; theme=dark", "CloudFront-Viewer-Country": "US", "User-Agent": "t/1"},
    )
    assert status == 200
    assert headers["X-Fn"] == "StatsFunction"
    assert headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    event = json.loads(body)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /api/stats"
    assert event["rawPath"] == "/api/stats"
    assert event["rawQueryString"] == "siteId=4&timeRange=7d&x=1&x=2"
    assert event["queryStringParameters"] == {"siteId": "4", "timeRange": "7d", "x": "1,2"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["cloudfront-viewer-country"] == "US"
    assert "cookie" not in event["headers"]
    assert "pathParameters" not in event
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["http"] == {
        "method": "GET",
        "path": "/api/stats",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "t/1",
    }
    assert (ctx["stage"], ctx["routeKey"], ctx["apiId"]) == ("$default", "GET /api/stats", "local")
    assert ctx["requestId"] and isinstance(ctx["timeEpoch"], int)
    assert headers["apigw-requestid"] == ctx["requestId"]


def test_gateway_path_parameters(gateway: LocalGateway) -> None:
    status, headers, body = request(gateway, "GET", "/api/session/gs_1%20x?siteId=4")
    assert status == 200 and headers["X-Fn"] == "SessionFunction"
    event = json.loads(body)
    assert event["routeKey"] == "GET /api/session/{id}"
    assert event["pathParameters"] == {"id": "gs_1 x"}
    assert "cookies" not in event


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("POST", "/api/stats"),
        ("GET", "/api/session/a/b"),
        ("GET", "/api/session/"),
        ("TRACE", "/api/stats"),
        ("PROPFIND", "/api/track"),
        ("DELETE", "/api/me"),
    ],
)
def test_gateway_sends_what_matches_no_route_to_default(
    gateway: LocalGateway, method: str, path: str
) -> None:
    """As API Gateway does: the `$default` route's function (the template's event without a path)
    gets every request no route matches, whatever its method, and answers it (404 or 405)."""
    status, headers, body = request(gateway, method, path, body=b"{}" if method == "POST" else None)
    assert (status, headers["X-Fn"]) == (200, "StatsFunction")
    event = json.loads(body)
    assert (event["routeKey"], event["requestContext"]["routeKey"]) == ("$default", "$default")
    assert (event["rawPath"], event["requestContext"]["http"]["method"]) == (path, method)
    assert "pathParameters" not in event


def test_without_a_default_route_api_gateway_answers_itself(cfn_template: dict[str, Any]) -> None:
    template = copy.deepcopy(cfn_template)
    template["Resources"]["StatsFunction"]["Properties"]["Events"].pop("UnknownRoutes")
    server = make_gateway(template, every_api_function(template, echo), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, _, body = request(server, "GET", "/nope")
    finally:
        server.shutdown()
        server.server_close()
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_gateway_response_mapping(cfn_template: dict[str, Any]) -> None:
    def binary(event: dict[str, Any]) -> dict[str, Any]:
        return {"statusCode": 201, "body": "aGk=", "isBase64Encoded": True, "headers": {"X-A": "1"}}

    def bare(event: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    for fn, expected in ((binary, (201, b"hi")), (bare, (200, b'{"ok": true}')), (broken, (500, None))):
        server = make_gateway(cfn_template, every_api_function(cfn_template, lambda _: fn), port=0)  # noqa: B023
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            status, _, body = request(server, "GET", "/api/stats")
        finally:
            server.shutdown()
            server.server_close()
        assert status == expected[0]
        if expected[1] is not None:
            assert body == expected[1]
        else:
            assert json.loads(body) == {"message": "Internal Server Error"}


def test_route_precedence() -> None:
    def fn(path: str, method: str = "GET") -> dict[str, Any]:
        return {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Events": {"E": {"Type": "HttpApi", "Properties": {"Path": path, "Method": method}}}
            },
        }

    template = {
        "Resources": {
            "Greedy": fn("/api/{proxy+}", "ANY"),
            "Param": fn("/api/items/{id}"),
            "Literal": fn("/api/items/new"),
        }
    }
    routes = http_routes(template)
    assert match_route(routes, "GET", "/api/items/new")[0].function_id == "Literal"  # type: ignore[index]
    assert match_route(routes, "GET", "/api/items/7") == (routes[1], {"id": "7"})
    assert match_route(routes, "DELETE", "/api/items/7")[1] == {"proxy": "items/7"}  # type: ignore[index]
    assert match_route(routes, "GET", "/other") is None


def test_gateway_body_encoding(cfn_template: dict[str, Any]) -> None:
    seen: list[dict[str, Any]] = []

    def keep(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 204}

    template = json.loads(json.dumps(cfn_template))
    template["Resources"]["StatsFunction"]["Properties"]["Events"]["GetStats"]["Properties"]["Method"] = "ANY"
    server = make_gateway(template, every_api_function(template, lambda _: keep), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        request(server, "POST", "/api/stats", {"Content-Type": "application/json"}, b'{"a": 1}')
        request(server, "POST", "/api/stats", {"Content-Type": "application/octet-stream"}, b"\x00\xff")
    finally:
        server.shutdown()
        server.server_close()
    assert (seen[0]["body"], seen[0]["isBase64Encoded"]) == ('{"a": 1}', False)
    assert (seen[1]["body"], seen[1]["isBase64Encoded"]) == ("AP8=", True)


# ----------------------------------------------------------------------------- handler loading


def test_load_function_imports_with_its_environment(tmp_path: Path) -> None:
    code = tmp_path / "fn"
    code.mkdir()
    (code / "helper_for_test_local_stack.py").write_text("VALUE = 'sibling'\n")
    (code / "app.py").write_text(
        "import os\n"
        "from helper_for_test_local_stack import VALUE\n"
        "AT_IMPORT = os.environ['GHOSTID_TEST_VAR']\n"
        "def lambda_handler(event, context):\n"
        "    return [AT_IMPORT, VALUE, context.function_name, context.get_remaining_time_in_millis() > 0]\n"
    )
    props = {"CodeUri": "fn/", "Handler": "app.lambda_handler"}
    template = {
        "Globals": {"Function": {"Timeout": 7}},
        "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": props}},
    }
    assert "GHOSTID_TEST_VAR" not in os.environ
    fn = load_function(template, "Fn", {"GHOSTID_TEST_VAR": "mine"}, root=tmp_path)
    assert "GHOSTID_TEST_VAR" not in os.environ  # only visible during the import
    assert fn.timeout_s == 7
    assert fn.invoke({}) == ["mine", "sibling", "Fn", True]
