"""Load a CloudFormation/SAM YAML template into plain Python data.

CloudFormation's short-form tags become their long-form JSON equivalents, so code can walk the
template without knowing about YAML tags:

    !Ref X               -> {"Ref": "X"}
    !GetAtt A.B          -> {"Fn::GetAtt": ["A", "B"]}   (the list form is kept as given)
    !Sub "..."           -> {"Fn::Sub": "..."}
    !If [c, a, b]        -> {"Fn::If": ["c", a, b]}
    !Condition C         -> {"Condition": "C"}
    !<Anything> v        -> {"Fn::<Anything>": v}

Timestamps are not parsed (CloudFormation treats `2010-09-09` as a string).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["load_template", "loads_template"]


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that knows CloudFormation's short-form intrinsic functions."""


# Keep dates as strings: copy the resolver table without the timestamp resolver.
_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _node_value(loader: _CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    problem = f"unexpected node {type(node).__name__}"
    raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def _construct_intrinsic(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def loads_template(text: str) -> dict[str, Any]:
    """Parse template text; raises ValueError when the document is not a mapping."""
    data = yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass: no arbitrary objects
    if not isinstance(data, dict):
        raise ValueError("a CloudFormation template must be a YAML mapping")
    return data


def load_template(path: str | Path) -> dict[str, Any]:
    """Load a CloudFormation/SAM template file (see the module docstring for the tag mapping)."""
    return loads_template(Path(path).read_text(encoding="utf-8"))
