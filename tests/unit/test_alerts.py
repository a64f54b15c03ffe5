"""Lead alerts against moto (DynamoDB, SQS, KMS): webhooks, and `record_transitions` recording each
transition once with exactly one delivery id per webhook, however often it is called or wherever it is
interrupted."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from ghostid import settings
from ghostid.dal import alerts as alerts_dal
from ghostid.dal import client as ddb_client
from ghostid.dal import queue
from ghostid.dal import secrets as secrets_dal
from ghostid.errors import InvalidParameter, NotFound
from ghostid.logic import alerts
from ghostid.models.alerts import TRANSITION_TYPES as TYPES
from ghostid.models.alerts import Transition
from ghostid.timeutil import HOUR_MS, format_timestamp

pytestmark = pytest.mark.usefixtures("alerts_aws")

SITE = 4
NOW_MS = 1_773_163_200_000
LEAD = {"ghost_vid": "gv_1", "identified_user_id": "jane@example.com", "score": 40, "hot": True}


def hot(vid: str = "gv_1", at_ms: int = NOW_MS - 60_000, site: int = SITE, **lead: Any) -> Transition:
    return Transition(site, vid, "lead.hot", at_ms, {**LEAD, "ghost_vid": vid, **lead})


def identified(vid: str = "gv_1", at_ms: int = NOW_MS - 60_000) -> Transition:
    return Transition(SITE, vid, "visitor.identified", at_ms, {**LEAD, "ghost_vid": vid})


def add(
    url: str = "https://127.0.0.1/hook", events: tuple[str, ...] = ("lead.hot", "visitor.identified")
) -> str:
    return alerts.add_webhook(SITE, url, events, NOW_MS)[0].webhook_id


def queued_messages() -> Counter[str]:
    """Delivery ids of every message on the queue (received and deleted, so each is counted once)."""
    sqs, url = boto3.client("sqs"), settings.webhook_queue_url()
    found: Counter[str] = Counter()
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found[queue.decode(message["Body"]).delivery_id] += 1
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def delivery_ids() -> Counter[tuple[str, str, str]]:
    """(webhook, visitor, type) of every stored delivery, counted."""
    return Counter((d.webhook_id, d.ghost_vid, d.type) for d in alerts.list_deliveries(SITE, limit=1000))


# ------------------------------------------------------------------ webhooks and their secrets


def test_a_webhook_is_added_with_a_secret_shown_once_and_stored_encrypted() -> None:
    webhook, secret = alerts.add_webhook(SITE, "https://127.0.0.1/hook", ["visitor.identified"], NOW_MS)
    assert webhook.webhook_id.startswith("wh_") and secret.startswith("whsec_") and len(secret) > 40
    assert alerts.list_webhooks(SITE) == [webhook]
    items = boto3.client("dynamodb").scan(TableName="AlertsTable")["Items"]
    raw = repr(items).encode()
    assert secret.encode() not in raw and secret[6:].encode() not in raw  # a leaked table shows no secret
    (item,) = items
    assert secret.encode() not in bytes(item["secret"]["B"])
    _, sealed = alerts_dal.webhook_with_secret(SITE, webhook.webhook_id) or pytest.fail("stored")
    assert secrets_dal.unseal(sealed, SITE, webhook.webhook_id) == secret


def test_a_secret_only_decrypts_for_its_own_webhook() -> None:
    first, second = add(), add()
    _, sealed = alerts_dal.webhook_with_secret(SITE, first) or pytest.fail("stored")
    with pytest.raises(secrets_dal.SecretUnavailable):
        secrets_dal.unseal(sealed, SITE, second)  # copied onto another item, it is useless
    with pytest.raises(secrets_dal.SecretUnavailable):
        secrets_dal.unseal(sealed, SITE + 1, first)


@pytest.mark.parametrize(
    ("url", "events", "words"),
    [
        (
            "https://127.0.0.1/hook",
            ("lead.cold",),
            "events must be one or more of lead.hot, visitor.identified",
        ),
        ("https://127.0.0.1/hook", (), "events must be one or more"),
        ("ftp://127.0.0.1/hook", ("lead.hot",), "use http(s)://"),
        ("http://10.0.0.8/hook", ("lead.hot",), "10.0.0.8, a private address"),
        ("http://169.254.169.254/latest", ("lead.hot",), "a link-local address"),
    ],
)
def test_a_bad_webhook_is_refused_with_the_reason(url: str, events: tuple[str, ...], words: str) -> None:
    with pytest.raises(InvalidParameter, match=words.replace("(", r"\(").replace(")", r"\)")):
        alerts.add_webhook(SITE, url, events, NOW_MS)
    assert alerts.list_webhooks(SITE) == []


def test_a_site_has_at_most_ten_webhooks() -> None:
    for _ in range(alerts.MAX_WEBHOOKS):
        add()
    with pytest.raises(InvalidParameter, match="10 webhooks"):
        add()


def test_removing_a_webhook_deletes_it_and_its_secret() -> None:
    keep, gone = add(), add()
    alerts.remove_webhook(SITE, gone)
    assert [w.webhook_id for w in alerts.list_webhooks(SITE)] == [keep]
    assert alerts_dal.webhook_with_secret(SITE, gone) is None
    with pytest.raises(NotFound):
        alerts.remove_webhook(SITE, gone)


# ------------------------------------------------------------------ recording transitions


def test_each_matching_webhook_gets_one_delivery_with_the_lead_row() -> None:
    both, only_identified = add(), add(events=("visitor.identified",))
    assert alerts.record_transitions([hot(), identified()], NOW_MS) == 2
    assert delivery_ids() == Counter(
        {
            (both, "gv_1", "lead.hot"): 1,
            (both, "gv_1", "visitor.identified"): 1,
            (only_identified, "gv_1", "visitor.identified"): 1,
        }
    )
    deliveries = {(d.webhook_id, d.type): d for d in alerts.list_deliveries(SITE)}
    assert sorted(queued_messages()) == sorted(d.delivery_id for d in deliveries.values())
    delivery = deliveries[(both, "lead.hot")]
    body = json.loads(delivery.body)
    assert list(body) == ["id", "type", "site_id", "occurred_at", "lead"]
    assert body == {
        "id": delivery.delivery_id,
        "type": "lead.hot",
        "site_id": SITE,
        "occurred_at": format_timestamp(NOW_MS - 60_000),
        "lead": LEAD,
    }
    assert (delivery.status, delivery.attempts, delivery.created_at_ms) == ("pending", 0, NOW_MS)


def test_calling_again_records_nothing_and_queues_nothing() -> None:
    add()
    assert alerts.record_transitions([hot(), hot()], NOW_MS) == 1  # the same transition twice in one call
    assert sum(queued_messages().values()) == 1
    assert alerts.record_transitions([hot()], NOW_MS + 5 * HOUR_MS) == 0
    assert queued_messages() == Counter()
    assert sum(delivery_ids().values()) == 1


def test_the_first_record_wins_whatever_later_calls_say() -> None:
    add()
    alerts.record_transitions([hot(at_ms=NOW_MS - 5_000, score=35)], NOW_MS)
    alerts.record_transitions([hot(at_ms=NOW_MS - 9_000, score=90)], NOW_MS + 1_000)  # recomputed differently
    (delivery,) = alerts.list_deliveries(SITE)
    body = json.loads(delivery.body)
    assert (body["occurred_at"], body["lead"]["score"]) == (format_timestamp(NOW_MS - 5_000), 35)


def test_a_webhook_added_later_does_not_get_old_transitions() -> None:
    alerts.record_transitions([hot()], NOW_MS)
    add()
    alerts.record_transitions([hot()], NOW_MS + 1)
    assert alerts.list_deliveries(SITE) == []
    assert queued_messages() == Counter()


@pytest.mark.parametrize(("age_ms", "sent"), [(24 * HOUR_MS, True), (24 * HOUR_MS + 1, False)])
def test_a_transition_over_24_hours_old_is_recorded_but_not_sent(age_ms: int, sent: bool) -> None:
    add()
    assert alerts.record_transitions([hot(at_ms=NOW_MS - age_ms)], NOW_MS) == 1
    assert alerts.record_transitions([hot(at_ms=NOW_MS - age_ms)], NOW_MS) == 0  # it is recorded
    assert len(alerts.list_deliveries(SITE)) == int(sent)
    assert sum(queued_messages().values()) == int(sent)


def test_old_and_new_transitions_in_one_call_are_told_apart() -> None:
    add()
    old, new = hot("gv_old", at_ms=NOW_MS - 30 * HOUR_MS), hot("gv_new")
    assert (
        alerts.record_transitions([new, old, identified("gv_old", at_ms=NOW_MS - 25 * HOUR_MS)], NOW_MS) == 3
    )
    assert delivery_ids() == Counter({(alerts.list_webhooks(SITE)[0].webhook_id, "gv_new", "lead.hot"): 1})


def test_delivery_ids_are_one_per_transition_and_webhook() -> None:
    keys = [
        (SITE, vid, kind, "wh_a") for vid in ("gv_1", "gv_2") for kind in ("lead.hot", "visitor.identified")
    ]
    keys += [(SITE + 1, "gv_1", "lead.hot", "wh_a"), (SITE, "gv_1", "lead.hot", "wh_b")]
    ids = [alerts.delivery_id(*key) for key in keys]  # type: ignore[arg-type]
    assert len(set(ids)) == len(keys)
    assert ids == [alerts.delivery_id(*key) for key in keys]  # type: ignore[arg-type]


def test_a_transition_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"lead\.cold"):
        alerts.record_transitions([Transition(SITE, "gv_1", "lead.cold", NOW_MS, {})], NOW_MS)  # type: ignore[arg-type]


# ------------------------------------------------------------------ crashes after k calls


class Crash(RuntimeError):
    pass


@pytest.fixture
def crash_after() -> Iterator[list[int | None]]:
    """`crash_after[0] = k`: the next DynamoDB or SQS call after k more succeed raises (once)."""
    budget: list[int | None] = [None]

    def hook(**_: Any) -> None:
        if budget[0] is None:
            return
        if budget[0] == 0:
            budget[0] = None
            raise Crash("the consumer died here")
        budget[0] -= 1

    clients = (ddb_client.dynamodb(), queue.sqs())
    for c in clients:
        c.meta.events.register("before-call.*.*", hook)
    yield budget
    for c in clients:
        c.meta.events.unregister("before-call.*.*", hook)


def site_messages(site: int) -> Counter[str]:
    return Counter(
        {k: v for k, v in queued_messages().items() if k in {d.delivery_id for d in deliveries_of(site)}}
    )


def deliveries_of(site: int) -> list[Any]:
    return alerts.list_deliveries(site, limit=1000)


def test_a_crash_after_any_number_of_calls_still_ends_with_one_delivery_each(
    crash_after: list[int | None],
) -> None:
    """For every k: a fresh site, a crash after k DynamoDB/SQS calls, a retry that crashes again
    somewhere, then a retry that completes. Each ends with exactly the expected deliveries, each queued."""
    rng = random.Random(7)
    k = 0
    while True:
        site = 1000 + k
        hooks = [
            alerts.add_webhook(site, "https://127.0.0.1/h", events, NOW_MS)[0].webhook_id
            for events in (TYPES, ("lead.hot",))
        ]
        transitions = [
            hot("gv_1", site=site),
            hot("gv_2", site=site),
            replace(identified("gv_1"), site_id=site),
            replace(identified("gv_3"), site_id=site),
        ]
        crashed = []
        for budget in (k, rng.randint(0, k + 2), None):
            crash_after[0] = budget
            try:
                alerts.record_transitions(transitions, NOW_MS)
            except Crash:
                crashed.append(budget)
        crash_after[0] = None
        expected = {
            (h, t.ghost_vid, t.type)
            for t in transitions
            for h in hooks
            if h == hooks[0] or t.type == "lead.hot"
        }
        assert Counter((d.webhook_id, d.ghost_vid, d.type) for d in deliveries_of(site)) == Counter(
            expected
        ), k
        messages = site_messages(site)
        assert set(messages) == {d.delivery_id for d in deliveries_of(site)}, k  # each queued, at least once
        assert alerts.record_transitions(transitions, NOW_MS) == 0
        assert site_messages(site) == Counter(), k  # all marked queued: nothing more is sent
        if k not in crashed:  # k is past the last call: every crash point has been tried
            break
        k += 1
    assert k > 15
