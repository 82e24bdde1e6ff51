"""Read template.yaml (CloudFormation short-form tags included) so the local stack and the template tests
use the very values the deployed stack would."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


@dataclass(frozen=True)
class Tag:
    """A CloudFormation intrinsic such as ``!Ref X`` or ``!GetAtt A.B``, kept as data."""

    name: str
    value: Any


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tag(suffix, value)


_Loader.add_multi_constructor("!", _construct)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


@dataclass
class Template:
    """Convenience accessors over the parsed template."""

    path: Path = TEMPLATE_PATH

    @cached_property
    def data(self) -> dict[str, Any]:
        return load_template(self.path)

    @property
    def resources(self) -> dict[str, Any]:
        return self.data["Resources"]

    def resource(self, name: str) -> dict[str, Any]:
        return self.resources[name]

    def props(self, name: str) -> dict[str, Any]:
        return self.resources[name].get("Properties", {})

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {n: r for n, r in self.resources.items() if r.get("Type") == type_}

    def parameter_default(self, name: str) -> Any:
        return self.data["Parameters"][name].get("Default")

    def resolve(self, value: Any, overrides: dict[str, Any] | None = None) -> Any:
        """Resolve ``!Ref Parameter`` to its default (or an override); other values pass through."""
        if isinstance(value, Tag) and value.name == "Ref" and value.value in self.data.get("Parameters", {}):
            if overrides and value.value in overrides:
                return overrides[value.value]
            return self.parameter_default(value.value)
        return value

    def function_env(self, function: str) -> dict[str, Any]:
        merged = dict(
            self.data.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        merged.update(self.props(function).get("Environment", {}).get("Variables", {}))
        return merged

    def function_timeout(self, function: str) -> int:
        props = self.props(function)
        return int(props.get("Timeout") or self.data.get("Globals", {}).get("Function", {}).get("Timeout", 3))

    def http_routes(self) -> list[tuple[str, str, str]]:
        """(method, path, function) for every HttpApi event in the template."""
        routes = []
        for name, res in self.of_type("AWS::Serverless::Function").items():
            for event in res.get("Properties", {}).get("Events", {}).values():
                if event.get("Type") == "HttpApi":
                    props = event["Properties"]
                    routes.append((props["Method"].upper(), props["Path"], name))
        return routes

    def render(self, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """The template as CloudFormation would deploy it with these parameter values (others at their
        defaults): conditions decided, ``!If`` chosen, ``!Ref Parameter`` replaced, ``AWS::NoValue`` dropped,
        resources and outputs whose condition is false removed. Other intrinsics stay as they are."""
        return render(self.data, parameters)

    def sqs_event(self, function: str) -> dict[str, Any]:
        for event in self.props(function).get("Events", {}).values():
            if event.get("Type") == "SQS":
                return event["Properties"]
        raise KeyError(f"{function} has no SQS event")


_NO_VALUE = object()


def render(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """:meth:`Template.render` for a parsed template in either form: short-form tags (``!If``, as loaded
    here) or JSON intrinsics (``{"Fn::If": ...}``, as the SAM translator prints them)."""
    values = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()} | dict(
        parameters or {}
    )
    conditions: dict[str, bool] = {}
    definitions = template.get("Conditions", {})

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = bool(evaluate(definitions[name]))
        return conditions[name]

    def intrinsic(node: Any) -> tuple[str, Any] | None:
        if isinstance(node, Tag):
            return node.name, node.value
        if isinstance(node, dict) and len(node) == 1:
            [(key, value)] = node.items()
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                return key.removeprefix("Fn::"), value
        return None

    def evaluate(node: Any) -> Any:
        found = intrinsic(node)
        if found is not None:
            name, value = found
            if name == "Ref" and value == "AWS::NoValue":
                return _NO_VALUE
            if name == "Ref" and value in values:
                return values[value]
            if name == "Condition":
                return condition(value)
            if name == "If":
                return evaluate(value[1] if condition(value[0]) else value[2])
            if name == "Equals":
                left, right = (evaluate(v) for v in value)
                return str(left) == str(right)
            if name == "Not":
                return not evaluate(value[0])
            if name == "And":
                return all(evaluate(v) for v in value)
            if name == "Or":
                return any(evaluate(v) for v in value)
            rendered = evaluate(value)
            return Tag(name, rendered) if isinstance(node, Tag) else {next(iter(node)): rendered}
        if isinstance(node, dict):
            out = {k: evaluate(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not _NO_VALUE}
        if isinstance(node, list):
            return [v for v in (evaluate(item) for item in node) if v is not _NO_VALUE]
        return node

    rendered = dict(template)
    for section in ("Resources", "Outputs"):
        kept = {
            name: body
            for name, body in template.get(section, {}).items()
            if "Condition" not in body or condition(body["Condition"])
        }
        rendered[section] = evaluate(kept)
    return rendered
