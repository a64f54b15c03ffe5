"""Local stand-in for the HTTP API: template routes -> payload v2.0 events -> in-process handlers."""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import re
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger("ghostid_local.gateway")

Invoke = Callable[[dict[str, Any]], Any]
ACCOUNT_ID = "123456789012"
API_ID = "local"
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")
# Not part of the API: the tracker and the demo site, served from static/ (a CDN's job when deployed).
STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
STATIC_ROUTES = ("/ghost.js", "/demo/")
# The dashboard (web/, built by `make web`): served at / when a gateway is given its folder.
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class Route:
    """One ``Type: HttpApi`` event: ``method`` is upper case or ``ANY``; ``path`` as in the template."""

    function_id: str
    method: str
    path: str
    regex: re.Pattern[str]
    params: tuple[str, ...]

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key: literal routes before parameters, greedy ``{x+}`` last, longer first."""
        greedy = sum(p.endswith("+") for p in re.findall(r"\{([^}]+)\}", self.path))
        return (greedy, len(self.params), -self.path.count("/"))


def _compile(path: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names: list[str] = []
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            names.append(name.rstrip("+"))
            out += f"(?P<p{len(names) - 1}>.+)" if greedy else f"(?P<p{len(names) - 1}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$"), tuple(names)


def _http_events(template: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(function id, path, method) of every function's ``HttpApi`` event (no Path: ``$default``)."""
    found = []
    for fid, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for ev in res.get("Properties", {}).get("Events", {}).values():
            if ev.get("Type") == "HttpApi":
                p = ev.get("Properties", {})
                found.append((fid, p.get("Path", DEFAULT_ROUTE), str(p.get("Method", "ANY")).upper()))
    return found


def default_route(template: Mapping[str, Any]) -> Route | None:
    """The ``$default`` route, which API Gateway gives every request that matches no route (any method)."""
    for fid, path, _ in _http_events(template):
        if path == DEFAULT_ROUTE:
            return Route(fid, "ANY", DEFAULT_ROUTE, re.compile(r"(?!)"), ())
    return None


def http_routes(template: Mapping[str, Any]) -> list[Route]:
    """Every function's ``HttpApi`` routes (``$default`` aside), most specific first."""
    routes = []
    for fid, path, method in _http_events(template):
        if path != DEFAULT_ROUTE:
            regex, params = _compile(path)
            any_method = method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD")
            routes.append(Route(fid, "ANY" if any_method else method, path, regex, params))
    return sorted(routes, key=lambda r: r.specificity)


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving ``method path`` and its (URL-decoded) path parameters, or None."""
    for route in routes:
        if route.method not in ("ANY", method.upper()):
            continue
        m = route.regex.match(path)
        if m:
            return route, {name: unquote(m.group(f"p{i}")) for i, name in enumerate(route.params)}
    return None


def build_event(
    route: Route,
    path_params: Mapping[str, str],
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    merged["x-forwarded-for"] = (
        f"{merged['x-forwarded-for']}, {source_ip}" if "x-forwarded-for" in merged else source_ip
    )
    merged.setdefault("x-forwarded-proto", "http")
    query: dict[str, str] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    now = datetime.now(UTC)
    host = merged.get("host", "127.0.0.1").split(":")[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = dict(path_params)
    if body:
        ctype = merged.get("content-type", "")
        text = _utf8(body) if any(t in ctype for t in _TEXT_TYPES) else None
        if text is not None:
            event["body"] = text
        else:  # binary, or a "text" body that is not UTF-8: passed on exactly, as base64
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalGateway
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive responses otherwise wait ~40 ms for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is logged by _handle

    def __getattr__(self, name: str) -> Any:
        """Every method, declared or not (TRACE, PROPFIND, ...), reaches the API as in API Gateway."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        start = time.perf_counter()
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, cookies, payload = self._dispatch(url.path, url.query, body)
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        ms = (time.perf_counter() - start) * 1000
        log.info("%s %s %d %.1fms", self.command, self.path, status, ms)

    def _dispatch(self, path: str, query: str, body: bytes) -> tuple[int, dict[str, str], list[str], bytes]:
        json_headers = {"Content-Type": "application/json"}
        if self.command in ("GET", "HEAD"):
            static = None
            if self.server.static_dir is not None:
                static = static_file(self.server.static_dir, path)
            if static is None and self.server.web_dir is not None:
                static = web_file(self.server.web_dir, path)
            if static is not None:
                return static
        found = match_route(self.server.routes, self.command, path)
        if found is None and self.server.default is not None:
            found = self.server.default, {}
        if found is None:  # API Gateway's own answer when an API has no $default route
            return 404, json_headers, [], b'{"message":"Not Found"}'
        route, params = found
        event = build_event(
            route,
            params,
            method=self.command,
            raw_path=path,
            raw_query=query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        request_id = event["requestContext"]["requestId"]
        try:
            result = self.server.functions[route.function_id](event)
            status, headers, cookies, payload = to_http_response(result)
        except Exception:
            log.error("%s failed:\n%s", route.function_id, traceback.format_exc())
            return 500, json_headers, [], b'{"message":"Internal Server Error"}'
        headers.setdefault("apigw-requestid", request_id)
        return status, headers, cookies, payload

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle


def static_file(root: Path, path: str) -> tuple[int, dict[str, str], list[str], bytes] | None:
    """``/ghost.js`` and ``/demo/...`` from ``root`` (a path without a file under /demo/ is the page of
    that name, else the SPA's index.html); None for any other path, which the API routes then serve."""
    if path == "/demo":
        return 308, {"Location": "/demo/"}, [], b""
    if not path.startswith(STATIC_ROUTES):
        return None
    base = root.resolve()
    file = (base / unquote(path).lstrip("/")).resolve()
    if not file.is_relative_to(base):
        return None
    if file.is_dir():
        file = file / "index.html"
    if not file.is_file() and "." not in path.rsplit("/", 1)[-1] and path.startswith("/demo/"):
        page = file.with_name(file.name + ".html")  # /demo/about is about.html, else the SPA's page
        file = page if page.is_file() else base / "demo" / "index.html"
    if not file.is_file():
        return None
    ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype.endswith("javascript"):
        ctype += "; charset=utf-8"
    return 200, {"Content-Type": ctype, "Cache-Control": "no-cache"}, [], file.read_bytes()


def web_file(root: Path, path: str) -> tuple[int, dict[str, str], list[str], bytes] | None:
    """The dashboard's files from ``root`` (web/dist): ``/`` and any path without a file extension is
    its index.html (the page routes itself, so deep links work); None for ``/api/...`` and for a
    missing file with an extension, which the API routes then answer (404 in our envelope)."""
    if path == "/api" or path.startswith("/api/"):
        return None
    base = root.resolve()
    file = (base / unquote(path).lstrip("/")).resolve()
    if not file.is_relative_to(base):
        return None
    if not file.is_file() and "." not in path.rsplit("/", 1)[-1]:
        file = base / "index.html"
    if not file.is_file():
        return None
    ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype.endswith("javascript"):
        ctype += "; charset=utf-8"
    # Assets carry a content hash in their name: cached for good; index.html is checked every time.
    cache = "public, max-age=31536000, immutable" if path.startswith("/assets/") else "no-cache"
    return 200, {"Content-Type": ctype, "Cache-Control": cache}, [], file.read_bytes()


def to_http_response(result: Any) -> tuple[int, dict[str, str], list[str], bytes]:
    """Status, headers, Set-Cookie values and body from a handler's payload 2.0 response."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result["statusCode"]), headers, [str(c) for c in result.get("cookies") or []], raw
    return 200, {"Content-Type": "application/json"}, [], json.dumps(result).encode()


class LocalGateway(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` serving ``routes`` with ``functions[function_id](event)``."""

    daemon_threads = True
    request_queue_size = 128  # listen backlog: bursts of concurrent clients are queued, not reset

    def __init__(
        self,
        address: tuple[str, int],
        routes: list[Route],
        functions: Mapping[str, Invoke],
        static_dir: Path | None = None,
        web_dir: Path | None = None,
        default: Route | None = None,
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.routes = routes
        self.functions = functions
        self.static_dir = static_dir
        self.web_dir = web_dir
        self.default = default

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def make_gateway(
    template: Mapping[str, Any],
    functions: Mapping[str, Invoke],
    host: str = "127.0.0.1",
    port: int = 3000,
    static_dir: Path | None = STATIC_DIR,
    web_dir: Path | None = None,
) -> LocalGateway:
    """A gateway for the template's HttpApi routes (``port=0`` picks a free port); call ``serve_forever``.

    ``static_dir`` also serves ``/ghost.js`` and ``/demo/`` (None: API routes only); ``web_dir``
    (e.g. ``WEB_DIST``) serves the dashboard at ``/`` (None: no dashboard)."""
    routes, default = http_routes(template), default_route(template)
    missing = {r.function_id for r in [*routes, *([default] if default else [])]} - set(functions)
    if missing:
        raise ValueError(f"no handler given for {sorted(missing)}")
    return LocalGateway((host, port), routes, functions, static_dir, web_dir, default)
