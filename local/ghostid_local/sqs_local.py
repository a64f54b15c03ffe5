"""A local SQS for the local stack: the calls the project makes, in SQS's own JSON protocol, so the same
botocore code runs against it (`AWS_ENDPOINT_URL_SQS`) as against AWS, from any process.

Standard-queue semantics: a received message is hidden for the visibility timeout and comes back unless
deleted; ChangeMessageVisibility moves that moment (0 to 12 hours); DelaySeconds; the receive count; a
RedrivePolicy moves a message that was received maxReceiveCount times to its dead-letter queue on the
next receive; MessageRetentionPeriod; long polling. State lives in SQLite (a file under the local state
folder), so queued deliveries survive a restart of `make serve`. Not emulated: FIFO queues, message
attributes, permissions, and the approximate, distributed nature of SQS (this one is exact).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
MAX_VISIBILITY_S = 43_200
MAX_DELAY_S = 900
MAX_BODY_BYTES = 262_144
DEFAULTS = {"VisibilityTimeout": "30", "MessageRetentionPeriod": "345600", "DelaySeconds": "0"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (name TEXT PRIMARY KEY, attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    sent REAL NOT NULL,
    visible_at REAL NOT NULL,
    receives INTEGER NOT NULL DEFAULT 0,
    first_receive REAL,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS messages_of_queue ON messages (queue, visible_at);
"""


class SqsError(Exception):
    """An SQS error answer: `code` is the JSON protocol's, `query_code` the classic one botocore maps."""

    def __init__(self, code: str, query_code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.query_code, self.message = code, query_code, message


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _invalid(message: str) -> SqsError:
    return SqsError("InvalidParameterValue", "InvalidParameterValue", message)


class LocalSqs:
    """The queues and the HTTP endpoint. `call(operation, params)` is the whole API, for tests too."""

    def __init__(self, db_path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        if db_path is not None:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(db_path or ":memory:"), check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._changed = threading.Condition()
        self.clock = clock
        self.endpoint = "http://127.0.0.1"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the HTTP endpoint

    def start(self, port: int = 0) -> str:
        """Serves on 127.0.0.1 (a free port by default); returns the endpoint URL."""
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-sqs", daemon=True)
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._changed:
            self._db.close()

    def queue_url(self, name: str) -> str:
        return f"{self.endpoint}/{ACCOUNT_ID}/{name}"

    @staticmethod
    def queue_arn(name: str) -> str:
        return f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{name}"

    # -- the API

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise SqsError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", operation)
        if operation == "ReceiveMessage":
            return self._receive_waiting(params)
        with self._changed:
            result: dict[str, Any] = handler(params)
            self._changed.notify_all()
        return result

    def _queue(self, params: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = str(params.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
        row = self._db.execute("SELECT attributes FROM queues WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise SqsError(
                "QueueDoesNotExist",
                "AWS.SimpleQueueService.NonExistentQueue",
                "The specified queue does not exist.",
            )
        return name, {**DEFAULTS, **json.loads(row[0])}

    def _op_CreateQueue(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["QueueName"]
        attributes = {k: str(v) for k, v in (params.get("Attributes") or {}).items()}
        self._db.execute(
            "INSERT INTO queues (name, attributes) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET attributes = excluded.attributes",
            (name, json.dumps(attributes)),
        )
        return {"QueueUrl": self.queue_url(name)}

    def _op_GetQueueUrl(self, params: dict[str, Any]) -> dict[str, Any]:
        name, _ = self._queue({"QueueUrl": params["QueueName"]})
        return {"QueueUrl": self.queue_url(name)}

    def _op_SetQueueAttributes(self, params: dict[str, Any]) -> dict[str, Any]:
        name, attributes = self._queue(params)
        attributes.update({k: str(v) for k, v in params.get("Attributes", {}).items()})
        self._db.execute("UPDATE queues SET attributes = ? WHERE name = ?", (json.dumps(attributes), name))
        return {}

    def _op_GetQueueAttributes(self, params: dict[str, Any]) -> dict[str, Any]:
        name, attributes = self._queue(params)
        now = self.clock()
        counts = self._db.execute(
            "SELECT SUM(visible_at <= ?), SUM(visible_at > ? AND receipt IS NOT NULL), "
            "SUM(visible_at > ? AND receipt IS NULL) FROM messages WHERE queue = ?",
            (now, now, now, name),
        ).fetchone()
        found = {
            **attributes,
            "QueueArn": self.queue_arn(name),
            "ApproximateNumberOfMessages": str(counts[0] or 0),
            "ApproximateNumberOfMessagesNotVisible": str(counts[1] or 0),
            "ApproximateNumberOfMessagesDelayed": str(counts[2] or 0),
        }
        wanted = params.get("AttributeNames") or ["All"]
        return {"Attributes": found if "All" in wanted else {k: v for k, v in found.items() if k in wanted}}

    def _op_PurgeQueue(self, params: dict[str, Any]) -> dict[str, Any]:
        name, _ = self._queue(params)
        self._db.execute("DELETE FROM messages WHERE queue = ?", (name,))
        return {}

    def _send(self, name: str, attributes: dict[str, str], body: str, delay: Any) -> dict[str, str]:
        if not isinstance(body, str) or not body or len(body.encode()) > MAX_BODY_BYTES:
            raise _invalid(f"The message body must be 1 to {MAX_BODY_BYTES} bytes.")
        seconds = int(attributes["DelaySeconds"] if delay is None else delay)
        if not 0 <= seconds <= MAX_DELAY_S:
            raise _invalid(f"DelaySeconds must be 0 to {MAX_DELAY_S}.")
        message_id, now = str(uuid.uuid4()), self.clock()
        self._db.execute(
            "INSERT INTO messages (id, queue, body, sent, visible_at) VALUES (?, ?, ?, ?, ?)",
            (message_id, name, body, now, now + seconds),
        )
        return {"MessageId": message_id, "MD5OfMessageBody": _md5(body)}

    def _op_SendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        name, attributes = self._queue(params)
        return self._send(name, attributes, params.get("MessageBody", ""), params.get("DelaySeconds"))

    def _op_SendMessageBatch(self, params: dict[str, Any]) -> dict[str, Any]:
        name, attributes = self._queue(params)
        entries = params.get("Entries", [])
        if not 1 <= len(entries) <= 10:
            raise SqsError(
                "TooManyEntriesInBatchRequest",
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                "A batch holds 1 to 10 entries.",
            )
        successful, failed = [], []
        for entry in entries:
            try:
                sent = self._send(name, attributes, entry.get("MessageBody", ""), entry.get("DelaySeconds"))
            except SqsError as error:
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": error.code, "Message": error.message}
                )
            else:
                successful.append({"Id": entry["Id"], **sent})
        return {"Successful": successful, "Failed": failed}

    def _redrive(self, name: str, attributes: dict[str, str], now: float) -> None:
        policy = attributes.get("RedrivePolicy")
        if not policy:
            return
        rules = json.loads(policy)
        target = str(rules["deadLetterTargetArn"]).rsplit(":", 1)[-1]
        self._db.execute(
            "UPDATE messages SET queue = ?, receives = 0, first_receive = NULL, receipt = NULL "
            "WHERE queue = ? AND visible_at <= ? AND receives >= ?",
            (target, name, now, int(rules["maxReceiveCount"])),
        )

    def _op_ReceiveMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        name, attributes = self._queue(params)
        now = self.clock()
        wanted = int(params.get("MaxNumberOfMessages", 1))
        if not 1 <= wanted <= 10:
            raise _invalid("MaxNumberOfMessages must be 1 to 10.")
        visibility = int(params.get("VisibilityTimeout", attributes["VisibilityTimeout"]))
        retention = float(attributes["MessageRetentionPeriod"])
        self._db.execute("DELETE FROM messages WHERE queue = ? AND sent < ?", (name, now - retention))
        self._redrive(name, attributes, now)
        rows = self._db.execute(
            "SELECT seq, id, body, sent, receives, first_receive FROM messages "
            "WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?",
            (name, now, wanted),
        ).fetchall()
        messages = []
        for seq, message_id, body, sent, receives, first in rows:
            receipt = f"{message_id}#{uuid.uuid4().hex}"
            first = first if first is not None else now
            self._db.execute(
                "UPDATE messages SET receives = ?, first_receive = ?, receipt = ?, visible_at = ? "
                "WHERE seq = ?",
                (receives + 1, first, receipt, now + visibility, seq),
            )
            messages.append(
                {
                    "MessageId": message_id,
                    "ReceiptHandle": receipt,
                    "MD5OfBody": _md5(body),
                    "Body": body,
                    "Attributes": {
                        "ApproximateReceiveCount": str(receives + 1),
                        "SentTimestamp": str(int(sent * 1000)),
                        "ApproximateFirstReceiveTimestamp": str(int(first * 1000)),
                        "SenderId": ACCOUNT_ID,
                    },
                }
            )
        return {"Messages": messages} if messages else {}

    def _receive_waiting(self, params: dict[str, Any]) -> dict[str, Any]:
        """ReceiveMessage with long polling: waits up to WaitTimeSeconds (at most 20) for a message."""
        deadline = time.monotonic() + min(20, int(params.get("WaitTimeSeconds", 0)))
        with self._changed:
            while True:
                found = self._op_ReceiveMessage(params)
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                self._changed.wait(min(left, 0.2))  # also wakes for messages whose delay ends

    def _in_flight(self, name: str, receipt: str) -> int:
        row = self._db.execute(
            "SELECT seq, visible_at FROM messages WHERE queue = ? AND receipt = ?", (name, receipt)
        ).fetchone()
        if row is None:
            raise SqsError(
                "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The receipt handle is not valid."
            )
        if row[1] <= self.clock():
            raise SqsError(
                "MessageNotInflight",
                "AWS.SimpleQueueService.MessageNotInflight",
                "The message is not in flight.",
            )
        return int(row[0])

    def _op_ChangeMessageVisibility(self, params: dict[str, Any]) -> dict[str, Any]:
        name, _ = self._queue(params)
        seconds = int(params["VisibilityTimeout"])
        if not 0 <= seconds <= MAX_VISIBILITY_S:
            raise _invalid(f"VisibilityTimeout must be 0 to {MAX_VISIBILITY_S}.")
        seq = self._in_flight(name, params["ReceiptHandle"])
        self._db.execute("UPDATE messages SET visible_at = ? WHERE seq = ?", (self.clock() + seconds, seq))
        return {}

    def _op_DeleteMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        name, _ = self._queue(params)
        # As SQS: only the latest receipt deletes; an older one is accepted and does nothing.
        self._db.execute(
            "DELETE FROM messages WHERE queue = ? AND receipt = ?", (name, params["ReceiptHandle"])
        )
        return {}

    def _op_DeleteMessageBatch(self, params: dict[str, Any]) -> dict[str, Any]:
        for entry in params.get("Entries", []):
            self._op_DeleteMessage({"QueueUrl": params["QueueUrl"], "ReceiptHandle": entry["ReceiptHandle"]})
        return {"Successful": [{"Id": e["Id"]} for e in params.get("Entries", [])], "Failed": []}


def _handler_for(sqs: LocalSqs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            operation = self.headers.get("X-Amz-Target", "").removeprefix("AmazonSQS.")
            length = int(self.headers.get("Content-Length") or 0)
            try:
                params = json.loads(self.rfile.read(length) or b"{}")
                self._answer(200, sqs.call(operation, params))
            except SqsError as error:
                body = {"__type": f"com.amazonaws.sqs#{error.code}", "message": error.message}
                self._answer(400, body, {"x-amzn-query-error": f"{error.query_code};Sender"})
            except (KeyError, ValueError, TypeError) as error:
                self._answer(
                    400, {"__type": "com.amazonaws.sqs#InvalidParameterValue", "message": str(error)}
                )

        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the local stack logs what matters

    return Handler
