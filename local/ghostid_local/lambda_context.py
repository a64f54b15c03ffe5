"""Lambda runtime emulation for the local stack: a fake context and in-process handler loading."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "123456789012"

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The attributes and method of the Python runtime's context object that handlers use."""

    def __init__(
        self,
        function_name: str,
        *,
        memory_mb: int = 128,
        timeout_s: float = 3.0,
        region: str | None = None,
        request_id: str | None = None,
    ) -> None:
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (not enforced) timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@contextmanager
def overlay_environ(env: Mapping[str, str]) -> Iterator[None]:
    """Temporarily set ``env`` in os.environ (restored on exit; not thread-safe: use at start-up)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def load_handler_from_file(code_dir: Path, handler: str, module_name: str) -> Handler:
    """Import ``<code_dir>/<module>.py`` under ``module_name`` and return its handler function.

    ``handler`` is SAM's ``Handler`` (``app.lambda_handler``). ``code_dir`` is put on sys.path
    while the module executes so that sibling imports work as in Lambda.
    """
    mod_path, _, func_name = handler.rpartition(".")
    file = code_dir / (mod_path.replace(".", "/") + ".py")
    if not file.is_file():
        raise FileNotFoundError(f"handler file {file} not found")
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(code_dir))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        sys.path.remove(str(code_dir))
    func = getattr(module, func_name)
    if not callable(func):
        raise TypeError(f"{handler} in {file} is not callable")
    return func  # type: ignore[no-any-return]


@dataclass
class LocalFunction:
    """A handler plus its settings; ``invoke`` runs one invocation at a time, like one warm Lambda."""

    name: str
    handler: Handler
    memory_mb: int = 128
    timeout_s: float = 3.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with ``event`` and a fresh context; exceptions propagate."""
        with self._lock:
            ctx = LambdaContext(self.name, memory_mb=self.memory_mb, timeout_s=self.timeout_s)
            return self.handler(event, ctx)


def _function_setting(template: Mapping[str, Any], props: Mapping[str, Any], key: str, default: Any) -> Any:
    globals_fn = template.get("Globals", {}).get("Function", {})
    return props.get(key, globals_fn.get(key, default))


def _layer_dirs(template: Mapping[str, Any], props: Mapping[str, Any], root: Path) -> list[Path]:
    """Source folders of the function's layers that are defined in the template (``!Ref Layer``)."""
    resources = template.get("Resources", {})
    dirs = []
    for layer in _function_setting(template, props, "Layers", []):
        ref = layer.get("Ref") if isinstance(layer, dict) else None
        res = resources.get(ref, {}) if ref else {}
        uri = res.get("Properties", {}).get("ContentUri")
        if isinstance(uri, str):
            dirs.append((root / uri).resolve())
    return dirs


def load_function(
    template: Mapping[str, Any],
    logical_id: str,
    env: Mapping[str, str],
    root: Path = REPO_ROOT,
) -> LocalFunction:
    """Load a template function's handler in-process.

    Layer source folders go on sys.path for good; ``env`` is set in os.environ while the module is
    imported (so import-time reads, e.g. Powertools' service name, see this function's values).
    """
    props = template["Resources"][logical_id]["Properties"]
    for d in _layer_dirs(template, props, root):
        if str(d) not in sys.path:
            sys.path.insert(0, str(d))
    code_dir = (root / props["CodeUri"]).resolve()
    with overlay_environ(env):
        handler = load_handler_from_file(code_dir, props["Handler"], f"ghostid_fn_{logical_id}")
    return LocalFunction(
        name=logical_id,
        handler=handler,
        memory_mb=int(_function_setting(template, props, "MemorySize", 128)),
        timeout_s=float(_function_setting(template, props, "Timeout", 3)),
    )
