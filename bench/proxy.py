"""A counting proxy in front of DynamoDB: requests and capacity units as seen from outside the process.

    python -m bench.proxy 8302 http://127.0.0.1:8000      # then DDB_ENDPOINT=http://127.0.0.1:8302 make serve
    curl -s 127.0.0.1:8302/_reset; <calls>; curl -s 127.0.0.1:8302/_stats

It adds `ReturnConsumedCapacity=TOTAL` to every call that takes it and sums what DynamoDB answers, per
operation. DynamoDB Local under-reports transactions (bench/meter.py recomputes them); reads are exact.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.meter import READS, WITH_CAPACITY, consumed_units


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, int] = {}
        self.rcu = 0.0
        self.wcu = 0.0

    def add(self, operation: str, units: float) -> None:
        with self.lock:
            self.requests[operation] = self.requests.get(operation, 0) + 1
            if operation in READS:
                self.rcu += units
            else:
                self.wcu += units

    def as_json(self) -> bytes:
        with self.lock:
            total = sum(self.requests.values())
            return json.dumps(
                {"requests": total, "rcu": self.rcu, "wcu": self.wcu, "by_operation": self.requests}
            ).encode()


def make_handler(upstream: str, counts: Counts) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, headers: Any = ()) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/_reset":
                with counts.lock:
                    counts.reset()
            self._reply(200, counts.as_json())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            if operation in WITH_CAPACITY:
                request = json.loads(body)
                request.setdefault("ReturnConsumedCapacity", "TOTAL")
                body = json.dumps(request).encode()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length", "host")}
            forwarded = urllib.request.Request(
                upstream + self.path, data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(forwarded) as response:
                    status, answer, answer_headers = (
                        response.status,
                        response.read(),
                        response.headers.items(),
                    )
            except urllib.error.HTTPError as error:
                status, answer, answer_headers = error.code, error.read(), error.headers.items()
            units = (
                consumed_units(json.loads(answer)) if operation in WITH_CAPACITY and status == 200 else 0.0
            )
            counts.add(operation, units)
            self._reply(status, answer, answer_headers)

    return Proxy


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2].rstrip("/")
    ThreadingHTTPServer(("127.0.0.1", port), make_handler(upstream, Counts())).serve_forever()


if __name__ == "__main__":
    main()
