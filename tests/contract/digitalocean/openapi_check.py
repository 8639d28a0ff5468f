"""Strict checks of every DigitalOcean response against the vendor's own OpenAPI description.

/work/shared/vendor-openapi/digitalocean-genai-evaluation.yaml (a subset of digitalocean/openapi) is read once;
a response is matched to its operation by method and path, and its body validated against that operation's
schema for the status: types, enums, `format` (date-time, 64-bit integers as digit strings), required keys, and
no key the schema does not name (except the few pydo 0.44.0 adds, listed in PYDO_ADDITIONS). Headers: the
ratelimit-* values are integers, the body is JSON, and only 429/503 carry Retry-After.

A small validator instead of jsonschema/openapi-core: neither is installed, and the subset of OpenAPI used
here (objects, arrays, enums, formats, $ref) is small.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC = Path("/work/shared/vendor-openapi/digitalocean-genai-evaluation.yaml")
FALLBACK = Path(__file__).with_name("digitalocean-genai-evaluation.yaml")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
# Fields pydo 0.44.0 documents that the (older) public spec does not: schema name -> {field: allowed values}.
PYDO_ADDITIONS = {
    "apiEvaluationDataset": {"dataset_paradigm": {"EVALUATION_DATASET_PARADIGM_SINGLE_TURN",
                                                  "EVALUATION_DATASET_PARADIGM_MULTI_TURN",
                                                  "EVALUATION_DATASET_PARADIGM_CODING",
                                                  "EVALUATION_DATASET_PARADIGM_N_PLUS_1"}},
}


@cache
def spec() -> dict[str, Any]:
    path = SPEC if SPEC.exists() else FALLBACK
    return yaml.safe_load(path.read_text())


@cache
def _routes() -> list[tuple[str, re.Pattern, dict[str, Any]]]:
    found = []
    for template, ops in spec()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
        for method, op in ops.items():
            found.append((method.upper(), pattern, op))
    # Literal segments before parameters: /evaluation_datasets/file_upload_presigned_urls beats /{dataset_uuid}.
    found.sort(key=lambda item: item[1].pattern.count("[^/]+"))
    return found


def operation(method: str, path: str) -> dict[str, Any]:
    for m, pattern, op in _routes():
        if m == method.upper() and pattern.match(path):
            return op
    raise AssertionError(f"{method} {path} is not an operation of the vendor's OpenAPI description")


def _resolve(node: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    name = None
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        section = node["$ref"].split("/")[2]
        node = spec()["components"][section][name]
    return name, node


def response_schema(op: dict[str, Any], status: int) -> dict[str, Any]:
    responses = op["responses"]
    found = responses.get(str(status)) or responses.get("default")
    assert found is not None, f"status {status} is not documented for {op['operationId']}"
    _, found = _resolve(found)
    return found["content"]["application/json"]["schema"]


def validate(schema: dict[str, Any], value: Any, where: str = "$") -> None:
    name, schema = _resolve(schema)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} is not one of the enum {schema['enum']}"
    if kind == "object":
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        props = schema.get("properties")
        for key in schema.get("required", []):
            assert key in value, f"{where}: required key {key!r} is missing"
        if props is None:
            return  # a free-form object (span input/output)
        extra = PYDO_ADDITIONS.get(name or "", {})
        for key, item in value.items():
            if key in props:
                validate(props[key], item, f"{where}.{key}")
            elif key in extra:
                assert item in extra[key], f"{where}.{key}: {item!r} is not a value pydo documents"
            else:
                raise AssertionError(f"{where}: key {key!r} is not in the vendor's schema {name or ''}")
    elif kind == "array":
        assert isinstance(value, list), f"{where}: expected an array, got {value!r}"
        for i, item in enumerate(value):
            validate(schema["items"], item, f"{where}[{i}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: expected a string, got {value!r}"
        fmt = schema.get("format")
        if fmt == "date-time":
            assert DATE_TIME.match(value), f"{where}: {value!r} is not an RFC 3339 UTC date-time"
        elif fmt in ("int64", "uint64"):
            assert re.fullmatch(r"-?\d+" if fmt == "int64" else r"\d+", value), f"{where}: {value!r} is not {fmt}"
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer, got {value!r}"
        if schema.get("format") == "int32":
            assert -2**31 <= value < 2**31, f"{where}: {value} overflows int32"
    elif kind == "number":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: expected a number"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: expected a boolean, got {value!r}"


def check_exchange(method: str, path: str, status: int, headers: Any, body: bytes) -> Any:
    """Validate one response of the API (any status); answers the parsed body."""
    assert headers.get("content-type", "").startswith("application/json"), (status, headers.get("content-type"))
    for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
        if headers.get(name) is not None:
            assert re.fullmatch(r"\d+", headers[name]), f"{name}: {headers[name]!r} is not an integer"
    if status not in (429, 503):
        assert headers.get("retry-after") is None, f"Retry-After on a {status}: pydo would retry it"
    data = json.loads(body)
    try:
        op = operation(method, path)
    except AssertionError:
        assert status >= 400, f"{method} {path} answered {status} but is no operation of the vendor"
        op = None
    validate(response_schema(op, status) if op else {"$ref": "#/components/schemas/error"}, data)
    if status >= 400:
        assert set(data) <= {"id", "message", "request_id"}, data
        assert data["message"] and data["id"], data
    return data
