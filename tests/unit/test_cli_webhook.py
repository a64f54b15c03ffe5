"""`ghostid webhook add/list/remove/deliveries` against moto: the secret printed once and never again,
deliveries with their status, attempts, last error and times, and clear refusals."""

from __future__ import annotations

import io

import pytest
from ghostid.dal import queue
from ghostid.dal import sites as sites_dal
from ghostid.logic import alerts, webhook_sender
from ghostid.models.alerts import Transition
from ghostid.models.sites import Site
from ghostid_local import cli, target

from tests.support.receiver import failing_first, receiving

NOW_MS = 1_773_163_200_000


@pytest.fixture(autouse=True)
def site(alerts_aws: dict[str, str]) -> None:
    sites_dal.put_site(Site(site_id=4, domain="example.com"))


def ghostid(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(target, "use_local", lambda endpoint=None: None)  # moto's tables, not a local stack
        code = cli.main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_add_prints_the_id_and_the_secret_once_and_list_never_shows_it() -> None:
    code, out, _ = ghostid(
        "webhook", "add", "--site", "4", "--url", "http://127.0.0.1:9/hook", "--events", "lead.hot"
    )
    assert code == 0
    lines = out.splitlines()
    webhook_id = lines[0].split()[1]
    secret = lines[2].rsplit(" ", 1)[1]
    assert lines[0] == f"webhook {webhook_id} added to site 4: http://127.0.0.1:9/hook"
    assert lines[1] == "events: lead.hot"
    assert secret.startswith("whsec_")
    code, listed, _ = ghostid("webhook", "list", "--site", "4")
    assert code == 0 and listed.startswith(f"{webhook_id}  http://127.0.0.1:9/hook  lead.hot  created ")
    assert secret not in listed


def test_deliveries_show_status_attempts_last_error_and_times() -> None:
    with receiving(failing_first(1)) as receiver:
        webhook, _ = alerts.add_webhook(4, receiver.url(), ["lead.hot"], NOW_MS)
        alerts.record_transitions([Transition(4, "gv_1", "lead.hot", NOW_MS, {"ghost_vid": "gv_1"})], NOW_MS)
        (delivery,) = alerts.list_deliveries(4)
        webhook_sender.handle_message(queue.encode(delivery.key), lambda: NOW_MS)
        code, out, _ = ghostid("webhook", "deliveries", "--site", "4", "--webhook", webhook.webhook_id)
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:6] == ["DELIVERY", "WEBHOOK", "TYPE", "VISITOR", "STATUS", "ATTEMPTS"]
    cells = row.split()
    assert cells[:6] == [delivery.delivery_id, webhook.webhook_id, "lead.hot", "gv_1", "pending", "1"]
    assert cells[6:9] == ["2026-03-10T17:20:00.000Z", "2026-03-10T17:20:00.000Z", "2026-03-10T17:20:10.000Z"]
    assert row.endswith("HTTP 500")


def test_remove_and_the_refusals() -> None:
    webhook, _ = alerts.add_webhook(4, "http://127.0.0.1:9/hook", ["lead.hot"], NOW_MS)
    assert ghostid("webhook", "remove", "--site", "4", "--id", webhook.webhook_id)[1].strip() == (
        f"webhook {webhook.webhook_id} removed from site 4"
    )
    assert alerts.list_webhooks(4) == []
    refusals = [
        (
            ("remove", "--site", "4", "--id", webhook.webhook_id),
            f"Site 4 has no webhook {webhook.webhook_id}.",
        ),
        (("add", "--site", "4", "--url", "http://192.168.0.10/x"), "192.168.0.10, a private address"),
        (
            ("add", "--site", "4", "--url", "http://127.0.0.1/x", "--events", "hot"),
            "events must be one or more",
        ),
        (("list", "--site", "5"), "site 5 does not exist"),
        (("deliveries", "--site", "4", "--limit", "0"), "--limit must be positive"),
    ]
    for args, words in refusals:
        code, out, err = ghostid("webhook", *args)
        assert (code, out) == (2, ""), args
        assert words in err, (args, err)
