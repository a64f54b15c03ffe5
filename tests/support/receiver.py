"""A local webhook receiver for the alert tests: records every POST and answers from a script; and the
README's own signature verifier, so the tests check what users are told to run."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0


Script = Callable[[list[Post], Post], Answer]  # (the POSTs before this one, this one) -> the answer


class Receiver:
    """`url` takes POSTs; `posts` lists them in arrival order."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.posts: list[Post] = []
        self.lock = threading.Lock()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(post.json["id"] for post in self.posts)


def always(status: int, *headers: tuple[str, str], delay_s: float = 0.0) -> Script:
    return lambda earlier, post: Answer(status, headers, delay_s)


def failing_first(times: int, status: int = 500) -> Script:
    """Answers `status` to the first `times` POSTs of each delivery id, then 200."""

    def script(earlier: list[Post], post: Post) -> Answer:
        seen = sum(1 for p in earlier if p.json["id"] == post.json["id"])
        return Answer(status if seen < times else 200)

    return script


@contextmanager
def receiving(script: Script | None = None) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (a free port) for the duration of the block."""
    answer_for = script or always(200)
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver = holder[0]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            post = Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
            with receiver.lock:
                earlier = list(receiver.posts)
                receiver.posts.append(post)
            answer = answer_for(earlier, post)
            time.sleep(answer.delay_s)
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Receiver(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def readme_verifier() -> Callable[..., bool]:
    """The `verify` function of the README's webhook section (the Python block that defines it)."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    (code,) = [block for block in blocks if "def verify(" in block]
    assert len(code.strip().splitlines()) <= 10, "the README promises a verifier in ten lines"
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify
