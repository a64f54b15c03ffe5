"""``make routes``: writes ``layers/shared/ghostid/api_routes.json`` from template.yaml.

Deployed, a request whose method a path does not declare reaches the API's ``$default`` route, whose
function must answer 405 with ``Allow`` listing that path's methods: the file tells it the API's routes.
tests/unit/test_http.py fails while the file differs from what this writes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ghostid_local.cfn_yaml import load_template
from ghostid_local.gateway import http_routes

REPO_ROOT = Path(__file__).resolve().parents[2]
ROUTES_FILE = REPO_ROOT / "layers" / "shared" / "ghostid" / "api_routes.json"


def routes_document(template: Mapping[str, Any]) -> str:
    routes = sorted({(route.path, route.method) for route in http_routes(template)})
    document = {
        "about": "Generated from template.yaml by `make routes`; do not edit.",
        "routes": [{"method": method, "path": path} for path, method in routes],
    }
    return json.dumps(document, indent=2) + "\n"


def main() -> int:
    text = routes_document(load_template(REPO_ROOT / "template.yaml"))
    if not ROUTES_FILE.exists() or ROUTES_FILE.read_text(encoding="utf-8") != text:
        ROUTES_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {ROUTES_FILE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
