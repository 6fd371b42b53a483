#!/usr/bin/env python
"""Is an OpenAPI schema a compatible extension of an earlier one? Prints what was removed or changed.

    python manage.py spectacular --file /tmp/before.yaml     # on the old code
    python manage.py spectacular --file /tmp/after.yaml      # on the new code
    python scripts/schema_compat.py /tmp/before.yaml /tmp/after.yaml

Compatible means: every operation (path and method) is still there with the same operation id; every response
and component property is still there with the same type; no request gained a required field; no parameter
became required. Additions of any kind are listed, not counted against it. Exit status 1 when incompatible.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml


def _load(path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def _shape(schema: dict[str, Any]) -> Any:
    """What a client relies on in a property: its type (and format), or the component it refers to."""
    if "$ref" in schema:
        return schema["$ref"]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _shape(schema["allOf"][0])
    return (schema.get("type"), schema.get("format"), _shape(schema["items"]) if "items" in schema else None)


def compare(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[str], list[str]]:
    broken: list[str] = []
    added: list[str] = []
    for path, operations in before["paths"].items():
        for method, operation in operations.items():
            new = after["paths"].get(path, {}).get(method)
            if new is None:
                broken.append(f"removed: {method.upper()} {path}")
                continue
            if new.get("operationId") != operation.get("operationId"):
                old_id, new_id = operation.get("operationId"), new.get("operationId")
                broken.append(f"renamed: {method.upper()} {path} {old_id} -> {new_id}")
            old_params = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
            for parameter in new.get("parameters", []):
                key = (parameter["in"], parameter["name"])
                if key not in old_params and parameter.get("required"):
                    broken.append(f"new required parameter {key} on {method.upper()} {path}")
            for code in operation.get("responses", {}):
                if code not in new.get("responses", {}):
                    broken.append(f"response {code} removed from {method.upper()} {path}")
    for path, operations in after["paths"].items():
        for method in operations:
            if method not in before["paths"].get(path, {}):
                added.append(f"operation: {method.upper()} {path}")
    old_components = before["components"]["schemas"]
    new_components = after["components"]["schemas"]
    for name, schema in old_components.items():
        new = new_components.get(name)
        if new is None:
            broken.append(f"component removed: {name}")
            continue
        old_props, new_props = schema.get("properties", {}), new.get("properties", {})
        for prop, prop_schema in old_props.items():
            if prop not in new_props:
                broken.append(f"property removed: {name}.{prop}")
            elif _shape(prop_schema) != _shape(new_props[prop]):
                broken.append(f"property changed: {name}.{prop} {_shape(prop_schema)} -> {_shape(new_props[prop])}")
        for prop in new_props:
            if prop not in old_props:
                added.append(f"property: {name}.{prop}")
        if name.endswith("Request"):  # a request body: a newly required field breaks old clients
            for prop in set(new.get("required", [])) - set(schema.get("required", [])):
                broken.append(f"request field became required: {name}.{prop}")
    added += [f"component: {name}" for name in new_components if name not in old_components]
    return broken, added


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    broken, added = compare(_load(sys.argv[1]), _load(sys.argv[2]))
    for line in added:
        print(f"+ {line}")
    for line in broken:
        print(f"! {line}")
    print(f"{len(added)} addition(s), {len(broken)} incompatible change(s)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
