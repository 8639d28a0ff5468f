"""`python -m emulator validate` and `schema`, run as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.control.conftest import scenario

ROOT = Path(__file__).resolve().parents[2]
DEMOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_every_demo_scenario_validates():
    assert len(DEMOS) >= 5
    res = cli("validate", *map(str, DEMOS))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [f"{path}: ok" for path in DEMOS]


def test_validate_reports_each_mistake_with_its_line(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(scenario("    - suite: s\n      models: [m]\n"))
    typo = tmp_path / "typo.yaml"
    typo.write_text(scenario().replace("      name: Support", "      nmae: Support"))
    forbidden = tmp_path / "forbidden.yaml"
    forbidden.write_text(scenario("""\
    - suite: s
      models: [m]
      timeline:
        - at: 10s
          status: cancelled
"""))
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text(scenario("    - suite: elsewhere\n      models: [m]\n"))
    missing = tmp_path / "missing.yaml"

    res = cli("validate", str(good), str(typo), str(forbidden), str(dangling), str(missing))
    assert res.returncode == 1
    assert res.stdout.splitlines() == [f"{good}: ok"]
    errors = res.stderr.splitlines()
    assert len(errors) == 4, res.stderr

    def line(path: Path, needle: str) -> int:
        (number,) = [n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
        return number

    assert errors[0].startswith(f"{typo}:{line(typo, 'nmae')}: mka1.suites.0.nmae: ")
    assert errors[1].startswith(f"{forbidden}:{line(forbidden, '- at: 10s')}: mka1.runs.0.timeline.0: ")
    assert "'queued'" in errors[1] and "'cancelled'" in errors[1]
    assert errors[2].startswith(f"{dangling}:{line(dangling, 'suite: elsewhere')}: mka1.runs.0.suite: ")
    assert errors[3].startswith(f"{missing}: cannot read")


def test_validate_exits_0_for_one_good_file_and_1_for_one_bad_one(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\n")
    res = cli("validate", str(bad))
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith(f"{bad}:1: version: ")
    assert cli("validate").returncode == 2  # no file: a usage error


# ---- the JSON Schema ----------------------------------------------------------------------------------------

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


@pytest.fixture(scope="module")
def schema() -> dict:
    res = cli("schema")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _resolve(schema: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = schema
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _walk_schema(root: dict, node, where: str) -> None:
    """Structural checks: every keyword has the type JSON Schema gives it, every $ref resolves."""
    if isinstance(node, bool):
        return
    assert isinstance(node, dict), where
    if "$ref" in node:
        _resolve(root, node["$ref"])
    if "type" in node:
        kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
        assert set(kinds) <= set(TYPES) | {"integer", "number"}, where
    for key in ("properties", "$defs", "patternProperties"):
        if key in node:
            assert isinstance(node[key], dict), where
            for name, sub in node[key].items():
                _walk_schema(root, sub, f"{where}.{key}.{name}")
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            assert isinstance(node[key], list) and node[key], where
            for n, sub in enumerate(node[key]):
                _walk_schema(root, sub, f"{where}.{key}[{n}]")
    for key in ("items", "additionalProperties", "not"):
        if key in node:
            _walk_schema(root, node[key], f"{where}.{key}")
    if "required" in node:
        assert isinstance(node["required"], list) and set(node["required"]) <= set(node.get("properties", {})), where
    if "enum" in node:
        assert isinstance(node["enum"], list) and node["enum"], where


def test_the_schema_is_a_json_schema_naming_every_section(schema):
    _walk_schema(schema, schema, "$")
    assert schema["type"] == "object" and schema["title"]
    assert {"version", "seed", "clock", "namespace", "faults", "mka1", "qianfan", "mistral", "digitalocean"} <= \
        set(schema["properties"])
    assert schema.get("additionalProperties") is False  # a typo'd section is flagged in the editor
    for vendor in ("mka1", "qianfan", "mistral", "digitalocean"):
        options = schema["properties"][vendor].get("anyOf", [schema["properties"][vendor]])
        assert any("$ref" in o for o in options), f"{vendor}'s section has no model in the schema"


def _errors(root: dict, node, value, where: str) -> list[str]:
    """A small validator for the keywords pydantic emits (enough to check the demo files against the schema)."""
    if node is True or node == {}:
        return []
    if node is False:
        return [f"{where}: not allowed"]
    if "$ref" in node:
        return _errors(root, _resolve(root, node["$ref"]), value, where)
    for key in ("anyOf", "oneOf"):
        if key in node:
            tries = [_errors(root, sub, value, where) for sub in node[key]]
            return [] if any(not t for t in tries) else min(tries, key=len)
    out = []
    for sub in node.get("allOf", []):
        out += _errors(root, sub, value, where)
    if "type" in node:
        kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
        ok = any((k == "integer" and isinstance(value, int) and not isinstance(value, bool))
                 or (k == "number" and isinstance(value, (int, float)) and not isinstance(value, bool))
                 or (k in TYPES and isinstance(value, TYPES[k])) for k in kinds)
        if not ok:
            return out + [f"{where}: {value!r} is not {kinds}"]
    if "enum" in node and value not in node["enum"]:
        out.append(f"{where}: {value!r} not in {node['enum']}")
    if "pattern" in node and isinstance(value, str) and not re.search(node["pattern"], value):
        out.append(f"{where}: {value!r} does not match {node['pattern']}")
    if "const" in node and value != node["const"]:
        out.append(f"{where}: {value!r} != {node['const']!r}")
    if isinstance(value, dict):
        props = node.get("properties", {})
        for name in node.get("required", []):
            if name not in value:
                out.append(f"{where}: {name} is required")
        for name, item in value.items():
            if name in props:
                out += _errors(root, props[name], item, f"{where}.{name}")
            elif "additionalProperties" in node:
                out += _errors(root, node["additionalProperties"], item, f"{where}.{name}")
    if isinstance(value, list) and "items" in node:
        for n, item in enumerate(value):
            out += _errors(root, node["items"], item, f"{where}[{n}]")
    return out


def _as_json(value):
    """YAML as an editor's schema validator sees it: timestamps are strings."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


@pytest.mark.parametrize("path", DEMOS, ids=lambda p: p.name)
def test_every_demo_scenario_matches_the_schema(schema, path):
    assert _errors(schema, schema, _as_json(yaml.safe_load(path.read_text())), "$") == []


def test_the_schema_flags_mistakes(schema):
    data = _as_json(yaml.safe_load(scenario("""\
    - suite: s
      models: [m]
      timeline:
        - {after_polls: 1, status: in_progress}
        - {at: 1.5m, status: failed}
""", "  - {vendor: mka1, latency: 250ms}\n  - {vendor: mka1, latency: 0.5, nth: 2}\n")))
    assert _errors(schema, schema, data, "$") == []  # durations as numbers or strings
    assert _errors(schema, schema, {**data, "faults": [{"latency": "soon"}]}, "$")
    assert _errors(schema, schema, {**data, "faults": [{"latency": [1]}]}, "$")
    assert _errors(schema, schema, {**data, "sede": 1}, "$")
    assert _errors(schema, schema, {**data, "seed": "five"}, "$")
    data["mka1"]["runs"][0]["modles"] = data["mka1"]["runs"][0].pop("models")
    assert _errors(schema, schema, data, "$")


# ---- the schema as an editor uses it (the jsonschema library, draft 2020-12) -----------------------------------


def test_the_shipped_schema_is_the_generated_one(schema):
    from emulator import shipped

    shipped_schema = json.loads(shipped.schema_path().read_text())
    assert shipped_schema == schema, "emulator/scenario.schema.json is stale: python -m emulator schema > it"
    assert schema["$schema"].endswith("2020-12/schema") and schema["$id"]


def test_an_editor_offers_and_checks_operations_and_codes(schema):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(schema)
    for path in DEMOS:
        assert not list(validator.iter_errors(_as_json(yaml.safe_load(path.read_text())))), path

    def problems(rule: dict) -> list[str]:
        return [e.message for e in validator.iter_errors({"faults": [rule]})]

    assert problems({"vendor": "mka1", "operation": "get_run", "error": "api_error"}) == []
    assert problems({"vendor": "qianfan", "operation": "DescribeEvalTasks", "error": "InternalError"}) == []
    assert problems({"vendor": "qianfan", "operation": "eval/detail", "error": "500000"}) == []
    assert problems({"operation": "getEvalRun", "error": "internal"}) == []
    assert problems({"vendor": "mka1", "operation": "getEvalRn", "error": "internal"})
    assert problems({"vendor": "qianfan", "operation": "DescribeEvalTaskz", "error": "InternalError"})
    assert problems({"vendor": "mka1", "error": "InternalError"})  # Qianfan's code, not MKA1's
    assert problems({"vendor": "mka2", "error": "internal"})


# ---- stopping ---------------------------------------------------------------------------------------------------


def test_sigterm_right_after_the_start_up_lines_stops_serve_cleanly():
    """A script that waits for the start-up lines and then sends SIGTERM (a test harness, a process manager) gets a
    normal exit that removes the temporary CA file, however soon the signal comes: it once could arrive before
    uvicorn listened for signals, and either kill the process outright or be lost and leave the server running."""
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", "--tls"], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            lines = [proc.stdout.readline() for _ in range(7)]
            assert "listening on" in lines[0] and lines[-1].startswith("TLS CA certificate: "), lines
            proc.terminate()
            assert proc.wait(timeout=60) == 0, proc.stdout.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert not Path(lines[-1].split(": ", 1)[1].strip()).exists()  # removed at exit
