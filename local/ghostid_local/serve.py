"""``make serve``: DynamoDB Local + tables + stream consumer + queues + HTTP routes, all from template.yaml.

Run as ``python -m ghostid_local.serve``. Environment: ``PORT`` (3000), ``DDB_PORT`` (8000),
``DDB_ENDPOINT`` (use that DynamoDB instead of starting one), ``LOG_FORMAT`` (``json``: the handlers'
Powertools lines as deployed; otherwise one short line per request and per stream batch). State lives
in ``.local/`` of the repo (``GHOSTID_LOCAL_STATE`` overrides it): DynamoDB data, stream checkpoints,
the on-failure records (``dlq.ndjson``), the demo token and the demo user's password, the local SQS's
messages (``sqs.sqlite3``), the key that encrypts webhook secrets (``webhook-secrets.key``) and the
generated secrets (``secrets/``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from ghostid_local import dynamodb_local, target
from ghostid_local.cfn_yaml import load_template
from ghostid_local.gateway import WEB_DIST, LocalGateway, make_gateway
from ghostid_local.lambda_context import LocalFunction, load_function
from ghostid_local.queues import QueuePoller, create_queues, queue_sources
from ghostid_local.sqs_local import LocalSqs
from ghostid_local.streams import StreamPoller, file_sink, stream_sources
from ghostid_local.tables import create_tables, function_environment, function_ids

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
STATE_DIR = target.local_state_dir()
os.environ.setdefault("GHOSTID_LOCAL_STATE", str(STATE_DIR))  # local secrets persist there (tables.py)
DEMO_SITE_ID = 4
# Template parameters the local stack overrides: it serves plain http, where a Secure cookie is never sent.
LOCAL_PARAMETERS = {"SecureCookies": "false"}
# What the local stack sets differently from the template: webhooks may go to http://127.0.0.1.
LOCAL_SETTINGS = {"WEBHOOK_TARGETS": "local"}

log = logging.getLogger("ghostid_local.serve")


def local_aws_environment(endpoint: str) -> None:
    """Point boto3 (also inside handlers) at ``endpoint``; dummy credentials and region if unset."""
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = endpoint
    os.environ["DDB_ENDPOINT"] = endpoint
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"
        os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no CloudWatch: keep the console readable


def combined_environment(
    template: Mapping[str, Any], table_names: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The union of all functions' variables (first definition wins) and each function's own.

    `table_names` maps logical ids to local names, and may map queues and the secrets key too."""
    per_function = {
        fid: _local(function_environment(template, fid, table_names, LOCAL_PARAMETERS))
        for fid in function_ids(template)
    }
    union: dict[str, str] = {}
    for fid, env in per_function.items():
        for key, value in env.items():
            if key in union and union[key] != value:
                log.info("%s=%s differs in %s; it gets its own value at import only", key, value, fid)
            union.setdefault(key, value)
    return union, per_function


def _local(env: dict[str, str]) -> dict[str, str]:
    return {k: LOCAL_SETTINGS.get(k, v) for k, v in env.items()}


def start_queues(template: Mapping[str, Any], endpoint: str) -> tuple[LocalSqs, dict[str, str]]:
    """The local SQS (messages kept in the state folder) with the template's queues; `{logical id: URL}`.

    Its endpoint is written to the state folder, so `ghostid` queues to the same place."""
    sqs = LocalSqs(STATE_DIR / "sqs.sqlite3")
    os.environ["AWS_ENDPOINT_URL_SQS"] = sqs.start()
    urls = create_queues(boto3.client("sqs"), template)
    running = {"ddb_endpoint": endpoint, "endpoint": sqs.endpoint, "queues": urls}
    (STATE_DIR / target.LOCAL_QUEUES_FILE).write_text(json.dumps(running, indent=1))
    return sqs, urls


def start_queue_pollers(
    template: Mapping[str, Any],
    functions: Mapping[str, LocalFunction],
    urls: Mapping[str, str],
    stop: threading.Event,
) -> list[threading.Thread]:
    """One poller thread per SQS event in the template (the webhook sender)."""
    threads = []
    for src in queue_sources(template):
        poller = QueuePoller(functions[src.function_id].invoke, src, urls[src.queue_id], boto3.client("sqs"))
        thread = threading.Thread(
            target=poller.run_forever, args=(stop,), name=f"queue-{src.function_id}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def load_functions(
    template: Mapping[str, Any], per_function: Mapping[str, Mapping[str, str]]
) -> dict[str, LocalFunction]:
    """Import every function's handler (with its own environment visible during the import)."""
    return {fid: load_function(template, fid, env, REPO_ROOT) for fid, env in per_function.items()}


def _demo_needed(endpoint: str, sites_table: str) -> bool:
    client = dynamodb_local.ddb_client(endpoint)
    key = {"pk": {"S": f"SITE#{DEMO_SITE_ID}"}, "sk": {"S": "SITE"}}
    return "Item" not in client.get_item(TableName=sites_table, Key=key)


def seed_demo_once(
    endpoint: str, table_names: Mapping[str, str], pollers: list[StreamPoller]
) -> tuple[str | None, str]:
    """Seed demo site 4 on first start and wait for the rollups; returns the demo cookie token and the
    demo user's password."""
    from ghostid_local import demo  # imports the ghostid package: only once handlers are loaded

    token_file = STATE_DIR / "demo-token"
    password = demo.ensure_demo_user(STATE_DIR / "demo-password")
    if not _demo_needed(endpoint, table_names["SitesTable"]):
        demo.allow_local_origins()
        return demo.demo_token(token_file), password
    log.info("first start: seeding demo site %d with a month of traffic...", DEMO_SITE_ID)
    token = demo.seed_demo(token_file)
    log.info("demo events stored; waiting for the stream consumer to roll them up...")
    for poller in pollers:
        try:
            poller.drain(timeout=600)
        except TimeoutError:
            log.warning("rollups are still catching up; numbers will grow for a while")
    return token, password


def start_pollers(
    template: Mapping[str, Any],
    functions: Mapping[str, LocalFunction],
    table_names: Mapping[str, str],
    stop: threading.Event,
) -> tuple[list[StreamPoller], list[threading.Thread]]:
    """One poller thread per DynamoDB stream event in the template."""
    dynamodb = boto3.client("dynamodb")
    streams = boto3.client("dynamodbstreams")
    sink = file_sink(STATE_DIR / "dlq.ndjson")
    pollers, threads = [], []
    for src in stream_sources(template):
        poller = StreamPoller(
            functions[src.function_id].invoke,
            src,
            table_names[src.table_id],
            dynamodb=dynamodb,
            streams=streams,
            sink=sink,
            checkpoint_path=STATE_DIR / "streams" / f"{src.function_id}.{src.event_id}.json",
            retry_backoff=0.25,
        )
        t = threading.Thread(
            target=poller.run_forever, args=(stop,), name=f"poller-{src.function_id}", daemon=True
        )
        t.start()
        pollers.append(poller)
        threads.append(t)
    return pollers, threads


def _banner(api: str, endpoint: str, own_ddb: bool, token: str | None, password: str | None) -> str:
    data = STATE_DIR / "dynamodb"
    shown = data.relative_to(REPO_ROOT) if data.is_relative_to(REPO_ROOT) else data
    where = f"{endpoint} (data in {shown}/)" if own_ddb else f"{endpoint} (DDB_ENDPOINT)"
    lines = ["", "Ghost ID Analytics local stack is ready", f"  API:       {api}", f"  DynamoDB:  {where}"]
    lines.append(f"  Dashboard: {api}/   (built from web/ by make web)")
    url = f"'{api}/api/stats?siteId={DEMO_SITE_ID}&timeRange=30d'"
    if password:
        from ghostid_local.demo import DEMO_USER

        lines.append(f"  Sign in:   {DEMO_USER} / {password}   (the demo page, or POST /api/auth/login)")
    if token:
        lines.append(f"  Try:       curl -s --cookie 'session={token}' {url}")
    else:
        lines.append("  Try:       ghostid session create --user you@example.com   # then:")
        lines.append(f"             curl -s --cookie 'session=<token>' {url}")
    lines.append(
        f"  Demo page: {api}/demo/   (ghost.js at {api}/ghost.js sends its events to site {DEMO_SITE_ID})"
    )
    lines.append(
        f"  Webhooks:  ghostid webhook add --site {DEMO_SITE_ID} --url http://127.0.0.1:<port>/<path>"
    )
    lines += ["  Stop:      Ctrl-C", ""]
    return "\n".join(lines)


def human_logs() -> None:
    """The handlers' Powertools logger as short text lines, warnings and errors only: the gateway and the
    stream poller already print one line per request and per batch (LOG_FORMAT=json keeps it as deployed)."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
    from ghostid.observability import logger

    class Human(LambdaPowertoolsFormatter):
        def format(self, record: logging.LogRecord) -> str:
            clock = time.strftime("%H:%M:%S", time.localtime(record.created))
            text = f"{clock} {record.levelname} {record.getMessage()}"
            return f"{text}\n{self.formatException(record.exc_info)}" if record.exc_info else text

    logger.registered_handler.setFormatter(Human())
    logger.setLevel(logging.WARNING)


def drop_local_metrics() -> None:
    """No CloudWatch locally (POWERTOOLS_METRICS_DISABLED): Powertools then keeps every metric unflushed and
    prints the lot as JSON every 100, so here each flush drops them instead."""
    from ghostid.observability import metrics

    setattr(metrics.provider, "flush_metrics", lambda raise_on_empty_metrics=False: metrics.clear_metrics())  # noqa: B010


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the local stack until Ctrl-C (or SIGTERM)."""
    parser = argparse.ArgumentParser(prog="ghostid_local.serve", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--no-demo", action="store_true", help="do not seed demo site 4")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # "pool is full" noise
    signal.signal(signal.SIGTERM, _raise_interrupt)

    stop = threading.Event()
    threads: list[threading.Thread] = []
    gateway: LocalGateway | None = None
    ddb: dynamodb_local.DynamoDBLocal | None = None
    sqs: LocalSqs | None = None
    endpoint = os.environ.get("DDB_ENDPOINT", "")
    try:
        if endpoint:
            dynamodb_local.wait_ready(endpoint, timeout=10)
        else:
            ddb = dynamodb_local.start(
                db_path=STATE_DIR / "dynamodb", log_path=STATE_DIR / "dynamodb-local.log"
            )
            endpoint = ddb.endpoint
        local_aws_environment(endpoint)
        template = load_template(TEMPLATE)
        table_names = create_tables(boto3.client("dynamodb"), template)
        sqs, queue_urls = start_queues(template, endpoint)
        names = {**table_names, **queue_urls, "WebhookSecretsKey": target.local_webhook_key()}
        union, per_function = combined_environment(template, names)
        os.environ.update(union)
        functions = load_functions(template, per_function)
        drop_local_metrics()
        if os.environ.get("LOG_FORMAT", "").lower() != "json":
            human_logs()
        pollers, threads = start_pollers(template, functions, table_names, stop)
        threads += start_queue_pollers(template, functions, queue_urls, stop)
        token, password = (None, None) if args.no_demo else seed_demo_once(endpoint, table_names, pollers)
        invokers = {fid: f.invoke for fid, f in functions.items()}
        gateway = make_gateway(template, invokers, port=args.port, web_dir=WEB_DIST)
        threads.append(threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True))
        threads[-1].start()
        print(_banner(gateway.url, endpoint, ddb is not None, token, password), flush=True)
        stop.wait()
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    except (RuntimeError, FileNotFoundError, TimeoutError, OSError) as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 1
    finally:
        stop.set()
        if gateway is not None:
            gateway.shutdown()
            gateway.server_close()
        for t in threads:
            t.join(timeout=10)
        if sqs is not None:
            sqs.stop()
            (STATE_DIR / target.LOCAL_QUEUES_FILE).unlink(missing_ok=True)
        if ddb is not None:
            ddb.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
