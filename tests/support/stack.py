"""The local stack in-process for HTTP tests: DynamoDB Local tables, the real handlers behind the local
gateway, and the stream poller (the on-failure sink is a list). Used by the fuzz, auth-matrix,
fault-injection and collector-abuse tests."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from ghostid import timeutil
from ghostid.dal import auth as auth_dal
from ghostid.dal import sites as sites_dal
from ghostid.logic import auth
from ghostid.models.sites import LoginSession, Site
from ghostid_local import serve
from ghostid_local.gateway import WEB_DIST, LocalGateway, make_gateway
from ghostid_local.lambda_context import LocalFunction
from ghostid_local.streams import StreamPoller, stream_sources

from tests.support.scenario import NOW_MS


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)

    @property
    def code(self) -> str | None:
        """The error code of an error envelope (None for anything else)."""
        try:
            body = self.body
        except ValueError:
            return None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("code"))
        return None


@dataclass
class Stack:
    url: str
    gateway: LocalGateway
    functions: dict[str, LocalFunction]
    poller: StreamPoller
    tables: dict[str, str]
    dead_letters: list[dict[str, Any]] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        """One raw HTTP request (headers as given, repeated names kept, nothing re-encoded)."""
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers or []:
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def get(self, path: str, cookie: str | None = None) -> Reply:
        return self.request("GET", path, headers=[("Cookie", cookie)] if cookie is not None else [])


def member_session(site_id: int, user: str, hours: float = 2) -> str:
    """Site (created if need be) + membership + a login session; returns the raw cookie token."""
    if sites_dal.get_site(site_id) is None:
        sites_dal.put_site(Site(site_id=site_id, domain=f"site{site_id}.example.com"))
    sites_dal.add_member(site_id, user)
    return auth.create_login_session(user, hours=hours)


def put_session(token: str, user: str, expires_in_s: int, revoked: bool = False) -> None:
    auth_dal.put_login_session(
        auth.hash_token(token),
        LoginSession(user_id=user, expires_at=int(time.time()) + expires_in_s, revoked=revoked),
    )


@contextmanager
def local_stack(
    tables: Mapping[str, str],
    template: Mapping[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    *,
    serve_web: bool = False,
) -> Iterator[Stack]:
    """Gateway on a free port serving every template route; `now` frozen at the scenario's NOW.
    ``serve_web`` also serves the built dashboard (web/dist) at ``/``, as ``make serve`` does."""
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    monkeypatch.setenv("DDB_ENDPOINT", os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    union, per_function = serve.combined_environment(template, tables)
    for name, value in union.items():
        monkeypatch.setenv(name, value)
    functions = serve.load_functions(template, per_function)
    invokers = {fid: f.invoke for fid, f in functions.items()}
    gateway = make_gateway(template, invokers, port=0, web_dir=WEB_DIST if serve_web else None)
    thread = threading.Thread(target=gateway.serve_forever, daemon=True)
    thread.start()
    source = stream_sources(template)[0]
    dead: list[dict[str, Any]] = []
    poller = StreamPoller(
        functions[source.function_id].invoke,
        source,
        tables[source.table_id],
        dynamodb=boto3.client("dynamodb"),
        streams=boto3.client("dynamodbstreams"),
        sink=dead.append,
    )
    host, port = gateway.server_address[:2]
    try:
        yield Stack(f"http://{host!s}:{port}", gateway, functions, poller, dict(tables), dead)
    finally:
        gateway.shutdown()
        gateway.server_close()
        thread.join(timeout=10)
