"""`st run docs/openapi.yaml --checks all` against the local stack, as anyone would run it.

The real schemathesis command line, on the local gateway with the real handlers on DynamoDB Local,
a member's site with folded traffic and another site. Schemathesis finds the operations in the spec
itself (a route added to the spec is fuzzed without touching this file) and runs every phase it has
(examples, coverage, fuzzing, stateful) with every check it has: no 5xx, documented statuses, content
types, headers and bodies, schema-valid data accepted and invalid data refused, undeclared methods
answered 405 with `Allow`, missing required headers refused, credentials not ignored.

Runs: anonymous, with a member's session cookie and with an API key of the member's site; and, with
the cookie and the key, the read routes (GETs) again pinned to the member's site and one of its
sessions, so that 200s and their bodies are checked too. Each credentialed run has a credential of its
own (the rate limit counts per credential). And the collector pinned to a registered site and its
origin (202s). `FUZZ_SEED` replays a run; `FUZZ_EXAMPLES` asks for more examples per operation (5).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from ghostid.dal import sites as sites_dal
from ghostid.logic import apikeys
from ghostid.models.sites import Site

from tests.support import figures, traffic
from tests.support.scenario import NOW, NOW_MS, import_traffic, stored_items
from tests.support.stack import Stack, local_stack, member_session

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs/openapi.yaml"
REPO_CONFIG = ROOT / "schemathesis.toml"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
OWN_SITE, OTHER_SITE = 4, 9
USER = "jane@example.com"


@dataclass(frozen=True)
class Run:
    name: str
    credential: str | None  # None, "cookie" or "api key"
    # "reads": the GET routes pinned to the member's site and one of its sessions (200s and their
    # bodies get checked); "collector": POST /api/track pinned to a registered site and its origin (202s)
    pinned: str | None = None


RUNS = [
    Run("anonymous", None),
    Run("cookie", "cookie"),
    Run("api key", "api key"),
    Run("cookie, own site", "cookie", pinned="reads"),
    Run("api key, own site", "api key", pinned="reads"),
    Run("collector, registered site", None, pinned="collector"),
]
PINNED_EXAMPLES = 5 * EXAMPLES  # pinned runs skip the coverage phase (the full runs had it) and fuzz more


@dataclass
class Seeded:
    stack: Stack
    session_ids: list[str]
    statuses: Counter[tuple[str, int]]  # (route key, status) of every request the handlers answered


@pytest.fixture
def seeded(
    local_aws_env: dict[str, str], cfn_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Seeded]:
    """Site 4 (our member's) and site 9 (someone else's), both with folded traffic."""
    with local_stack(local_aws_env, cfn_template, monkeypatch) as stack:
        # The collector's run sends Origin: the stack's own URL, so site 4 is the site served there.
        sites_dal.put_site(Site(site_id=OWN_SITE, domain=urlsplit(stack.url).hostname or "127.0.0.1"))
        member_session(OWN_SITE, USER)
        member_session(OTHER_SITE, "other@example.com")
        import_traffic(traffic.generate(NOW, seed=41, visitors=10), site=OWN_SITE)
        import_traffic(traffic.generate(NOW, seed=42, visitors=3), site=OTHER_SITE)
        stack.poller.drain(timeout=120)
        assert stack.dead_letters == []
        items = stored_items(stack.tables["EventsTable"])
        session_ids = sorted({i["session_id"]["S"] for i in items if i["pk"]["S"].startswith(f"{OWN_SITE}#")})
        statuses: Counter[tuple[str, int]] = Counter()
        stack.gateway.functions = {
            fid: _counted(invoke, statuses) for fid, invoke in stack.gateway.functions.items()
        }
        yield Seeded(stack, session_ids, statuses)


def _counted(invoke: Callable[[dict[str, Any]], Any], statuses: Counter[tuple[str, int]]) -> Any:
    def counted(event: dict[str, Any]) -> Any:
        result = invoke(event)
        statuses[(event["routeKey"], int(result["statusCode"]))] += 1
        return result

    return counted


def _headers(run: Run) -> list[str]:
    if run.credential == "cookie":
        return ["-H", f"Cookie: session={member_session(OWN_SITE, USER)}"]
    if run.credential == "api key":
        key = apikeys.create_key(OWN_SITE, f"fuzz-{random.randrange(10**9)}", NOW_MS)
        return ["-H", f"Authorization: Bearer {key}"]
    return []


def st_run(url: str, run: Run, seed: int, session_id: str, folder: Path) -> tuple[dict[str, Any], str]:
    """One `st run ... --checks all`; its JSON report and its console output."""
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.json"
    options = ["--max-examples", str(EXAMPLES)]
    # What OpenAPI cannot state about the read routes, as `st run` from the repository reads it (the
    # collector's run leaves it out: its operation filters would widen the run's selection).
    config = "" if run.pinned == "collector" else REPO_CONFIG.read_text()
    if run.pinned:
        config = _pins(run.pinned, url, session_id) + "\n" + config
        options = ["--max-examples", str(PINNED_EXAMPLES), "--phases", "examples,fuzzing"]
        options += ["--include-method", "GET"] if run.pinned == "reads" else _collector()
    (folder / "schemathesis.toml").write_text(config)
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(folder / "schemathesis.toml")]
    command += ["run", str(SPEC), "--checks", "all", "--url", url, "--seed", str(seed), "--no-color"]
    command += ["--report", "json", "--report-json-path", str(report), *options, *_headers(run)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=folder, check=False)
    return json.loads(report.read_text()), done.stdout + done.stderr


def _pins(pinned: str, url: str, session_id: str) -> str:
    """Schemathesis' config: fixed parameters, and the site id offered for every event of a body."""
    if pinned == "reads":
        return f'[parameters]\n"query.siteId" = {OWN_SITE}\n"path.id" = {json.dumps(session_id)}\n'
    return (
        f"[dictionaries.sites]\nvalues = [{OWN_SITE}]\n\n[parameters]\n"
        f'"query.siteId" = {OWN_SITE}\n"header.Origin" = {json.dumps(url)}\n'
        '"body.site_id" = { dictionary = "sites" }\n"body.events[*].site_id" = { dictionary = "sites" }\n'
    )


def _collector() -> list[str]:
    return ["--include-name", "POST /api/track"]  # one filter: several are alternatives, not all required


def spec_operations() -> set[str]:
    spec = yaml.safe_load(SPEC.read_text())
    methods = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
    return {f"{m.upper()} {path}" for path, item in spec["paths"].items() for m in item if m in methods}


def read_operations() -> set[str]:
    return {operation for operation in spec_operations() if operation.startswith("GET ")}


@pytest.mark.slow
def test_st_run_checks_all_with_and_without_credentials(
    seeded: Seeded, tmp_path: Path, record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("FUZZ_SEED") or random.randrange(2**31))
    record_property("fuzz_seed", seed)
    generated, problems, started = 0, [], time.monotonic()
    for n, run in enumerate(RUNS):
        report, output = st_run(seeded.stack.url, run, seed, seeded.session_ids[0], tmp_path / f"run{n}")
        generated += report["test_cases"]["generated"]
        tested = report["operations"]["tested"]
        expected = {None: len(spec_operations()), "reads": len(read_operations()), "collector": 1}[run.pinned]
        if report["exit_code"] != 0 or report["failures"] or report["errors"] or tested != expected:
            problems.append(f"--- {run.name}: replay with FUZZ_SEED={seed}\n{output[-6000:]}")
    elapsed = time.monotonic() - started
    figures.record("requests fuzzed", generated)
    record_property("fuzz_requests", generated)
    with capsys.disabled():
        print(
            f"\nst run --checks all: {generated} cases in {elapsed:.0f}s, {len(RUNS)} runs, FUZZ_SEED={seed}"
        )
        for (route, status), count in sorted(seeded.statuses.items()):
            print(f"  {route:<28} {status}  x{count}")
    assert problems == [], "\n".join(problems)
    assert not any(status >= 500 for _, status in seeded.statuses)
    # Every run got past each check of the read routes: refused, invalid and served requests happened.
    for route in ("GET /api/stats", "GET /api/session/{id}"):
        assert {s for r, s in seeded.statuses if r == route} >= {200, 400, 401, 403}, route
    assert {s for r, s in seeded.statuses if r == "$default"} >= {404, 405}
    assert seeded.statuses[("POST /api/track", 202)] > 0
