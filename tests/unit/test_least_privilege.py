"""Least privilege, measured: each function's IAM policy grants exactly the DynamoDB, SQS and KMS actions
its code makes, resource by resource.

Every handler runs in-process (moto) through the scenarios that reach all of its calls, while a botocore
`before-parameter-build` hook on the shared clients records (resource, IAM action) per function. A grant
the code never uses fails (broader than needed), and so does a call the policy does not grant
(AccessDenied in Lambda). Transactions are counted as the per-item actions IAM checks. A grant that Lambda
itself uses with the function's role (sending a failed stream batch to its on-failure queue) is not the
code's and is left out.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from argon2 import PasswordHasher
from ghostid import settings, timeutil
from ghostid.dal import auth as auth_dal
from ghostid.dal import client, queue, secrets
from ghostid.dal import sites as sites_dal
from ghostid.dal import users as users_dal
from ghostid.logic import alerts, apikeys, auth
from ghostid.models.alerts import Transition
from ghostid.models.credentials import User
from ghostid.models.sites import LoginSession, Site
from ghostid_local.cfn_yaml import load_template
from ghostid_local.lambda_context import LambdaContext

from tests.support import lambdas, traffic
from tests.support.receiver import Answer, Post, receiving
from tests.support.routes import read_routes
from tests.support.scenario import NOW, NOW_MS, import_traffic, stored_items

pytestmark = pytest.mark.usefixtures("alerts_aws")

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
TOKEN = "demo-token-not-secret"
USER = "jane@example.com"
PASSWORD = "correct horse battery staple"
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}

SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage"}
RESOURCE_SERVICES = {"AWS::DynamoDB::Table": "dynamodb", "AWS::SQS::Queue": "sqs", "AWS::KMS::Key": "kms"}

Grants = set[tuple[str, str]]  # (resource logical id, "service:Action")


def iam_actions(
    service: str, operation: str, params: dict[str, Any], keys: dict[str, str]
) -> Iterator[tuple[str, str]]:
    """(resource, IAM action) pairs IAM evaluates for one API call (moto's names are the logical ids)."""
    if service == "sqs":
        yield params["QueueUrl"].rsplit("/", 1)[-1], f"sqs:{SQS_ACTIONS.get(operation, operation)}"
    elif service == "kms":
        yield keys[params["KeyId"]], f"kms:{operation}"
    elif operation in ("TransactWriteItems", "TransactGetItems"):
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            yield body["TableName"], f"dynamodb:{TRANSACT_ACTIONS[kind]}"
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in params["RequestItems"]:
            yield table, f"dynamodb:{operation}"
    elif "IndexName" in params:
        yield f"{params['TableName']}/index/{params['IndexName']}", f"dynamodb:{operation}"
    else:
        yield params["TableName"], f"dynamodb:{operation}"


class Recorder:
    """Records the calls of whichever function is `current` (the tests run one handler at a time)."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.current: str | None = None
        self.used: dict[str, Grants] = defaultdict(set)
        self.keys = keys  # KMS key id -> logical id

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if self.current is not None:
            service = model.service_model.service_name
            self.used[self.current] |= set(iam_actions(service, model.name, params, self.keys))

    def invoke(self, function: str, name: str, event: dict[str, Any]) -> Any:
        self.current = function
        try:
            return lambdas.handler(name)(event, LambdaContext(function))
        finally:
            self.current = None


def used_by_lambda(function: str) -> Grants:
    """What Lambda does with the function's role: send failed stream batches to the on-failure queue."""
    found: Grants = set()
    for event in TEMPLATE["Resources"][function]["Properties"].get("Events", {}).values():
        destination = event["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is not None:
            found.add((destination["Fn::GetAtt"][0], "sqs:SendMessage"))
    return found


def granted(function: str) -> Grants:
    """The (resource, action) pairs the template's inline policies grant `function`'s code."""
    resources = TEMPLATE["Resources"]
    grants: Grants = set()
    for policy in resources[function]["Properties"].get("Policies", []):
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for target in targets:
                if "Fn::Sub" in target:  # an index: "${Table.Arn}/index/Name"
                    match = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/(\w+)", target["Fn::Sub"])
                    assert match, target
                    table, index = match.groups()
                    resource = f"{table}/index/{index}"
                else:
                    table = resource = target["Fn::GetAtt"][0]
                service = RESOURCE_SERVICES.get(resources[table]["Type"])
                if service is None:
                    continue
                grants |= {(resource, action) for action in actions if action.startswith(f"{service}:")}
    return grants - used_by_lambda(function)


def template_functions() -> dict[str, str]:
    """Logical id -> code folder of every function of the template."""
    return {fid: folder for folder, fid in lambdas.FUNCTIONS.items()}


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, alerts_aws: dict[str, str]) -> Iterator[Recorder]:
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    hook = Recorder({alerts_aws["WebhookSecretsKey"]: "WebhookSecretsKey"})
    clients = (client.dynamodb(), queue.sqs(), secrets.kms())
    for shared in clients:
        shared.meta.events.register("before-parameter-build.*.*", hook)
    yield hook
    for shared in clients:
        shared.meta.events.unregister("before-parameter-build.*.*", hook)


def run_rollup(recorder: Recorder) -> None:
    """Fresh sessions, the same again (no-ops), new events in known sessions, an event earlier than its
    session's start (the session's first cell moves), removals and a poison; with a webhook on the site,
    so its leads' transitions queue deliveries."""
    alerts.add_webhook(4, "http://127.0.0.1:9/hook", ["lead.hot", "visitor.identified"], NOW_MS)
    events = traffic.generate(NOW, seed=11, visitors=25)
    import_traffic(events[: len(events) // 2])
    first = stored_items()
    records = [lambdas.stream_record(item, n) for n, item in enumerate(first, 1)]
    recorder.invoke("RollupFunction", "rollup", {"Records": records})
    recorder.invoke("RollupFunction", "rollup", {"Records": records})
    import_traffic(events)
    later = stored_items()
    records = [lambdas.stream_record(item, 10_000 + n) for n, item in enumerate(later, 1)]
    recorder.invoke("RollupFunction", "rollup", {"Records": records})
    start = min(events, key=lambda e: timeutil.parse_timestamp(e["timestamp"]))
    earlier = timeutil.format_timestamp(timeutil.parse_timestamp(start["timestamp"]) - 3_600_000)
    import_traffic([{**start, "event_id": "earlier", "timestamp": earlier}])
    moved = [item for item in stored_items() if item["event_id"]["S"] == "earlier"]
    recorder.invoke("RollupFunction", "rollup", {"Records": [lambdas.stream_record(moved[0], 15_000)]})
    removals = [lambdas.stream_record(item, 20_000 + n, "REMOVE") for n, item in enumerate(later[:5])]
    poison = lambdas.stream_record({"pk": {"S": "4#x"}, "sk": {"S": "x"}}, 30_000)
    recorder.invoke("RollupFunction", "rollup", {"Records": [*removals, poison]})
    boto3.client("sqs").purge_queue(QueueUrl=settings.webhook_queue_url())  # the sender's scenario is its own


def run_reads(recorder: Recorder) -> None:
    """Served with a cookie and with an API key, unknown credentials, a non-member, another site's key,
    a missing session, for both read functions."""
    for time_range in ("24h", "7d", "30d"):
        event = lambdas.http_event("stats_get.json", query={"siteId": "4", "timeRange": time_range})
        assert recorder.invoke("StatsFunction", "stats", event)["statusCode"] == 200
    sessions = sorted({item["session_id"]["S"] for item in stored_items()})
    for session_id in [*sessions[:5], "gs_missing"]:
        event = lambdas.http_event("session_get.json", query={"siteId": "4"}, path_id=session_id)
        assert recorder.invoke("SessionFunction", "session", event)["statusCode"] in (200, 404)
    key = apikeys.create_key(4, "reads", NOW_MS)
    for headers, cookies, site in (
        ({}, ["session=unknown-token-but-well-formed-123"], "4"),
        ({}, None, "5"),
        ({"authorization": f"Bearer {key}"}, None, "4"),
        ({"authorization": f"Bearer {key}"}, None, "5"),
        ({"authorization": "Bearer gk_unknown-but-well-formed-key"}, None, "4"),
    ):
        for name, function, file in (
            ("stats", "StatsFunction", "stats_get.json"),
            ("session", "SessionFunction", "session_get.json"),
        ):
            event = lambdas.http_event(file, query={"siteId": site}, cookies=cookies, headers=headers)
            assert recorder.invoke(function, name, event)["statusCode"] in (200, 401, 403, 404)


def run_me(recorder: Recorder) -> None:
    """The account of a signed-in member, of an API key, and an unknown cookie."""
    key = apikeys.create_key(4, "me", NOW_MS)
    for headers, cookies, status in (
        ({}, None, 200),
        ({"authorization": f"Bearer {key}"}, None, 200),
        ({}, ["session=unknown-token-but-well-formed-123"], 401),
    ):
        event = lambdas.http_event("me_get.json", cookies=cookies, headers=headers)
        assert recorder.invoke("MeFunction", "me", event)["statusCode"] == status


def run_auth(recorder: Recorder) -> None:
    """Sign-ins: right (with a hash of older parameters: rehashed), wrong password, unknown email, a
    locked account; sign-out."""
    old_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    users_dal.put_new_user(User(user_id=USER, email=USER, password_hash=old_hash), NOW_MS)

    def login(email: str, password: str) -> int:
        event = copy.deepcopy(lambdas.event_file("login_post.json"))
        event["body"] = json.dumps({"email": email, "password": password})
        return int(recorder.invoke("AuthFunction", "auth", event)["statusCode"])

    assert login(USER, PASSWORD) == 200
    assert login("nobody@example.com", PASSWORD) == 401
    assert [login(USER, "wrong password!") for _ in range(6)][-2:] == [401, 429]
    logout = lambdas.event_file("logout_post.json")
    assert recorder.invoke("AuthFunction", "auth", copy.deepcopy(logout))["statusCode"] == 204


def run_track(recorder: Recorder) -> None:
    """The shipped event (stored), the same again (duplicates), a preflight and a refused origin."""
    event = lambdas.event_file("track_post.json")
    for _ in range(2):
        assert recorder.invoke("TrackFunction", "track", copy.deepcopy(event))["statusCode"] == 202
    refused = copy.deepcopy(event)
    refused["headers"]["origin"] = "https://evil.example"
    assert recorder.invoke("TrackFunction", "track", refused)["statusCode"] >= 400
    preflight = copy.deepcopy(event)
    preflight["requestContext"]["http"]["method"] = "OPTIONS"
    preflight["routeKey"] = preflight["requestContext"]["routeKey"] = "OPTIONS /api/track"
    preflight.pop("body")
    assert recorder.invoke("TrackFunction", "track", preflight)["statusCode"] < 500


def run_sender(recorder: Recorder) -> None:
    """A delivery that succeeds, one that fails (its message hidden for the backoff), a duplicate
    message, a delivery whose webhook was removed, and a message that names no delivery."""

    def fail_one(earlier: list[Post], post: Post) -> Answer:
        return Answer(500 if post.json["lead"]["ghost_vid"] == "gv_fail" else 200)

    with receiving(fail_one) as receiver:
        alerts.add_webhook(4, receiver.url(), ["lead.hot"], NOW_MS)
        gone = alerts.add_webhook(4, receiver.url(), ["visitor.identified"], NOW_MS)[0]
        transitions = [
            Transition(4, vid, kind, NOW_MS, {"ghost_vid": vid})
            for vid in ("gv_ok", "gv_fail")
            for kind in ("lead.hot", "visitor.identified")
        ]
        alerts.record_transitions(transitions, NOW_MS)
        alerts.remove_webhook(4, gone.webhook_id)
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(QueueUrl=settings.webhook_queue_url(), MaxNumberOfMessages=10)[
            "Messages"
        ]
        records = [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            for m in messages
        ]
        records += [records[0], {**records[0], "messageId": "poison", "body": "{}"}]
        response = recorder.invoke("WebhookSenderFunction", "webhook_sender", {"Records": records})
        assert len(response["batchItemFailures"]) >= 2
        assert len(receiver.posts) == 2


# Requests beyond each file in events/ that reach the rest of a read function's calls.
MORE_READS: dict[str, list[dict[str, str]]] = {
    "leads": [{"status": "all"}, {"status": "identified", "sort": "score"}, {"timeRange": "yesterday"}],
    "sessions": [{"hot": "true", "country": "Canada"}],
    "timeseries": [{"timeRange": "30d", "compare": "year"}, {"timeRange": "24h", "interval": "hour"}],
    "breakdown": [{"dimension": "country", "limit": "1"}],
    "export": [{"from": "2026-03-09", "to": "2026-03-10"}],
}


def run_new_reads(recorder: Recorder) -> None:
    """Each read route other than stats and session: its file in events/, the requests above, a visitor
    that is not there, an unknown cookie and a site that is not the member's."""
    stored = stored_items()[0]
    known = {"ghost_vid": stored["ghost_vid"]["S"], "id": stored["session_id"]["S"]}
    for key, route in read_routes().items():
        if route.folder in ("stats", "session"):
            continue
        file = f"{route.folder}_get.json"
        query = lambdas.event_file(file)["queryStringParameters"]
        path = {name: known[name] for name in route.path_fields} or None
        for extra in [{}, *MORE_READS.get(route.folder, [])]:
            event = lambdas.http_event(file, query={**query, **extra}, path=path)
            assert recorder.invoke(route.function, route.folder, event)["statusCode"] == 200, (key, extra)
        if route.path_fields:
            missing = lambdas.http_event(file, path=dict.fromkeys(route.path_fields, "gv_missing"))
            assert recorder.invoke(route.function, route.folder, missing)["statusCode"] == 404
        key = apikeys.create_key(4, f"reads-{route.folder}", NOW_MS)
        for headers, cookies, site in (
            ({}, ["session=unknown-token-but-well-formed-123"], "4"),
            ({}, None, "5"),
            ({"authorization": f"Bearer {key}"}, None, "4"),
            ({"authorization": "Bearer gk_unknown-but-well-formed-key"}, None, "4"),
        ):
            event = lambdas.http_event(
                file, query={**query, "siteId": site}, cookies=cookies, headers=headers, path=path
            )
            assert recorder.invoke(route.function, route.folder, event)["statusCode"] in (200, 401, 403)


# Each function of the template, and the scenario that reaches every DynamoDB call its code makes.
SCENARIOS = {
    "RollupFunction": run_rollup,
    "StatsFunction": run_reads,
    "SessionFunction": run_reads,
    **{
        route.function: run_new_reads
        for route in read_routes().values()
        if route.folder not in ("stats", "session")
    },
    "WebhookSenderFunction": run_sender,
    "MeFunction": run_me,
    "AuthFunction": run_auth,
    "TrackFunction": run_track,
}


def test_every_function_has_a_scenario() -> None:
    missing = sorted(set(template_functions()) - set(SCENARIOS))
    assert missing == [], (
        f"no least-privilege scenario for {missing}: add one to SCENARIOS in "
        "tests/unit/test_least_privilege.py that makes every DynamoDB call the function's code can make"
    )


def test_policies_grant_exactly_what_the_code_calls(recorder: Recorder) -> None:
    sites_dal.put_site(Site(site_id=4, domain="demo.ghostid.local"))
    sites_dal.put_site(Site(site_id=5, domain="other.example.com"))
    sites_dal.add_member(4, USER)
    auth_dal.put_login_session(
        auth.hash_token(TOKEN), LoginSession(user_id=USER, expires_at=int(time.time()) + 3600)
    )
    for scenario in dict.fromkeys(SCENARIOS.values()):  # each once, in order (the rollup first)
        scenario(recorder)
    report = {}
    for function in template_functions():
        used, grants = recorder.used[function], granted(function)
        if used != grants:
            report[function] = {
                "granted but never used": sorted(grants - used),
                "used but not granted": sorted(used - grants),
            }
    assert report == {}, json.dumps(report, indent=1)
