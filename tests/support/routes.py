"""The HTTP routes as template.yaml declares them and as their handlers serve them, read from the code.

For each route: its function, the handler's code folder, and (for the read routes, whose handlers call
`authorize_read`) the query model the parameters are validated with, which template path parameter is
which field, and what the route's logic returns. Read from each handler's source, not imported (importing
a handler validates the environment), so the spec tests and the route tests need no hand-kept list.
"""

from __future__ import annotations

import ast
import importlib
import re
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ghostid_local.cfn_yaml import load_template
from ghostid_local.gateway import http_routes
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
LOGIC = "ghostid.logic"


@dataclass(frozen=True)
class HttpRoute:
    key: str  # "GET /api/visitors/{ghost_vid}", as in template.yaml and docs/openapi.yaml
    function: str  # the template's logical id, e.g. "VisitorFunction"
    folder: str  # functions/<folder>/app.py
    query_model: type[BaseModel] | None = None  # None: the handler does not call authorize_read
    path_fields: dict[str, str] = field(default_factory=dict)  # template path parameter -> query field
    answer: Any = None  # the return type of the logic function the handler serves

    @property
    def authenticated(self) -> bool:
        return self.query_model is not None

    @property
    def path(self) -> str:
        return self.key.split(" ", 1)[1]


@cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = load_template(ROOT / "template.yaml")
    return loaded


def function_folders() -> dict[str, str]:
    """Code folder (functions/<folder>) -> logical id, for every function of the template."""
    found = {}
    for logical_id, resource in template()["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            found[resource["Properties"]["CodeUri"].strip("/").rsplit("/", 1)[-1]] = logical_id
    return found


@cache
def http_route_table() -> dict[str, HttpRoute]:
    folders = {logical_id: folder for folder, logical_id in function_folders().items()}
    found = {}
    for route in http_routes(template()):
        folder = folders[route.function_id]
        served = _served(ROOT / "functions" / folder / "app.py", route.method, route.params)
        found[route.route_key] = HttpRoute(route.route_key, route.function_id, folder, **served)
    return found


def read_routes() -> dict[str, HttpRoute]:
    """The routes behind the session cookie (their handlers call `authorize_read`)."""
    return {key: route for key, route in http_route_table().items() if route.authenticated}


# ------------------------------------------------------------------ reading a handler


def _served(app: Path, method: str, template_params: tuple[str, ...]) -> dict[str, Any]:
    tree = ast.parse(app.read_text())
    imported = _imports(tree)
    function, rule = _route_function(tree, method)
    if function is None:
        return {}
    handler_params = re.findall(r"<(\w+)>", rule)
    assert len(handler_params) == len(template_params), (app, rule, template_params)
    calls = [node for node in ast.walk(function) if isinstance(node, ast.Call)]
    authorize = next(
        (c for c in calls if isinstance(c.func, ast.Name) and c.func.id == "authorize_read"), None
    )
    if authorize is None:
        return {}
    model_name = authorize.args[1]
    assert isinstance(model_name, ast.Name)
    field_of = {
        keyword.value.id: keyword.arg for keyword in authorize.keywords if isinstance(keyword.value, ast.Name)
    }
    return {
        "query_model": _load(imported[model_name.id]),
        "path_fields": {
            template: str(field_of[handler])
            for template, handler in zip(template_params, handler_params, strict=True)
        },
        "answer": _logic_answer(calls, imported),
    }


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted path of what `from x import y` brought in."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def _route_function(tree: ast.Module, method: str) -> tuple[ast.FunctionDef | None, str]:
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == method.lower()
                and isinstance(decorator.args[0], ast.Constant)
            ):
                return node, str(decorator.args[0].value)
    return None, ""


def _logic_answer(calls: list[ast.Call], imported: dict[str, str]) -> Any:
    """The return type of the first `<logic module>.<function>(...)` the route calls."""
    for call in calls:
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = imported.get(func.value.id, "")
            if module.startswith(f"{LOGIC}."):
                function = getattr(importlib.import_module(module), func.attr)
                return typing.get_type_hints(function)["return"]
    return None


def _load(dotted: str) -> Any:
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)
