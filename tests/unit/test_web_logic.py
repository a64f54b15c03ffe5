"""The dashboard's pure logic (URL state, ranges, intervals, formatting) under node's own test runner:
web/test/*.test.mjs import the very modules the bundle is built from."""

from __future__ import annotations

import re
import shutil
import subprocess

from tests.support.browser import WEB, unavailable


def test_the_pages_logic_passes_its_node_tests() -> None:
    if shutil.which("node") is None:
        unavailable("node is not installed")
    done = subprocess.run(
        ["node", "--test", *sorted(str(p) for p in (WEB / "test").glob("*.test.mjs"))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.M)
    assert passed and int(passed.group(1)) >= 10, done.stdout
