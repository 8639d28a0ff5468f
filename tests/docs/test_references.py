"""The generated parts of the docs (emulator/docs_reference.py) are what the code generates now: the scenario
reference in docs/scenarios.md (from the JSON Schema) and the `serve` options table in docs/cli.md (from
cli.SERVE_OPTIONS). A stale page fails with the command that regenerates it."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from emulator import docs_reference
from emulator.cli import SERVE_OPTIONS
from emulator.core.scenario import json_schema
from emulator.vendors.registry import vendors

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", sorted(docs_reference.PAGES))
def test_the_generated_reference_is_current(page):
    text = (ROOT / page).read_text()
    fresh = docs_reference.spliced(text, docs_reference.PAGES[page](), page)
    diff = "".join(list(difflib.unified_diff(text.splitlines(True), fresh.splitlines(True), page, "generated"))[:40])
    assert fresh == text, (f"{page} is stale: run `{docs_reference.REGENERATE}` from the repository root and "
                           f"commit the result\n{diff}")


def _objects(schema: dict, node: dict, seen: set[int]):
    """Every object with fields the schema holds (through $refs, unions, lists and maps)."""
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen.add(id(node))
    if "$ref" in node:
        yield from _objects(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[-1]], seen)
    if node.get("properties"):
        yield node
    for key in ("anyOf", "oneOf"):
        for option in node.get(key, []):
            yield from _objects(schema, option, seen)
    for key in ("items", "additionalProperties"):
        yield from _objects(schema, node.get(key), seen)
    for prop in node.get("properties", {}).values():
        yield from _objects(schema, prop, seen)


def test_the_scenario_reference_has_a_table_for_every_object_and_vendor():
    schema = json_schema(vendors())
    reference = docs_reference.scenario_reference()
    tables = [{line.split("`")[1] for line in table.splitlines()[2:]}
              for table in reference.split("\n\n") if table.startswith("| field |")]
    for node in _objects(schema, schema, set()):
        assert set(node["properties"]) in tables, f"no table lists exactly the fields of {node.get('title')}"
    for vendor in vendors():
        assert f"### `{vendor.name}`" in reference and f"| `{vendor.name}` |" in reference  # section, fault codes
    anchors = {line.split('"')[1] for line in reference.splitlines() if line.startswith("<a id=")}
    links = {part.split(")")[0] for part in reference.split("](#")[1:]}
    assert links <= anchors, links - anchors


def test_the_options_table_has_every_option_and_variable():
    table = docs_reference.serve_options()
    for option in SERVE_OPTIONS:
        assert f"`{option.flag}" in table and f"`{option.env}`" in table


def test_check_names_a_stale_page_and_regenerating_fixes_it(tmp_path, capsys):
    for page in docs_reference.PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / page, tmp_path / page)
    page = tmp_path / "docs" / "cli.md"
    page.write_text(page.read_text().replace("EMULATOR_PORT", "EMULATOR_PROT"))
    assert docs_reference.main(["--check", "--root", str(tmp_path)]) == 1
    assert f"docs/cli.md is stale: run {docs_reference.REGENERATE}" in capsys.readouterr().err
    assert docs_reference.main(["--root", str(tmp_path)]) == 0
    assert docs_reference.main(["--check", "--root", str(tmp_path)]) == 0
    assert page.read_text() == (ROOT / "docs" / "cli.md").read_text()
