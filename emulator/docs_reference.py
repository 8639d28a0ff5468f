"""The generated parts of the docs: the scenario reference (from the JSON Schema) and the `serve` options table
(from cli.SERVE_OPTIONS), each written between `<!-- reference:start -->` and `<!-- reference:end -->` in its page.

    python -m emulator.docs_reference           # rewrite docs/scenarios.md and docs/cli.md in place
    python -m emulator.docs_reference --check   # exit 1, naming the stale pages, if either is out of date

Run it from the repository root (or pass --root). tests/docs/test_references.py fails when a page is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, Callable

START, END = "<!-- reference:start -->", "<!-- reference:end -->"
REGENERATE = "python -m emulator.docs_reference"
TOP = "(top level)"


# ---- the scenario reference ------------------------------------------------------------------------------------


def _number(value: float) -> str:
    from emulator.core.durations import MAX_SECONDS

    if value == MAX_SECONDS:
        return "ten years"
    if value == 2**63 - 1:
        return "2^63-1"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


class SchemaReference:
    """Markdown for a scenario JSON Schema: one table per object, in the order a file reads, each shared object
    described once (where it first appears) and linked from everywhere else."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.placed: dict[str, str] = {}  # $def name -> the anchor of its section
        self.labels: dict[str, str] = {}  # $def name -> what tells it from the other objects a union allows
        self.sections: list[tuple[str, str, str | None, dict[str, Any]]] = []  # (heading, anchor, $def, object)
        self.anchors: dict[str, str] = {}  # an inline object's path -> its anchor

    def anchor(self, heading: str) -> str:
        """A new anchor for a section (numbered if two headings read alike)."""
        base = "ref-" + (re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "top")
        taken = {a for _, a, _, _ in self.sections}
        found, number = base, 1
        while found in taken:
            number += 1
            found = f"{base}-{number}"
        return found

    def deref(self, node: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        ref = node.get("$ref")
        if ref is None:
            return None, node
        name = ref.rsplit("/", 1)[-1]
        return name, self.defs[name]

    def render(self) -> str:
        self.plan(TOP, "", None, self.schema)
        return "\n".join(self.section(*s) for s in self.sections).rstrip() + "\n"

    def plan(self, path: str, label: str, def_name: str | None, node: dict[str, Any]) -> None:
        """Sections in the order a file reads (depth first); a shared object only where it first appears."""
        if def_name is not None and def_name in self.placed:
            return
        heading = f"{path} ({label})" if label else path
        anchor = self.anchor(heading)
        if def_name is not None:
            self.placed[def_name], self.labels[def_name] = anchor, label
        else:
            self.anchors[path] = anchor
        self.sections.append((heading, anchor, def_name, node))
        for name, prop in node.get("properties", {}).items():
            for sub in self.objects_in(prop, name if path == TOP else f"{path}.{name}"):
                self.plan(*sub)

    def objects_in(self, node: dict[str, Any], path: str):
        """The objects with fields a property holds (through unions, lists and maps), each with its path."""
        options = [o for o in node.get("anyOf", node.get("oneOf", [])) if o.get("type") != "null"]
        alternatives = [o for o in options if "$ref" in o]
        for option in options:
            found = list(self.objects_in(option, path))
            if len(alternatives) > 1 and option in alternatives:
                found = [(p, self.label(option), d, n) for p, _, d, n in found]
            yield from found
        def_name, target = self.deref(node)
        if def_name is not None:
            yield path, "", def_name, target
        elif node.get("type") == "array":
            yield from self.objects_in(node.get("items", {}), path + "[]")
        elif node.get("type") == "object":
            if node.get("properties"):
                yield path, "", None, node
            elif isinstance(node.get("additionalProperties"), dict):
                yield from self.objects_in(node["additionalProperties"], path + ".*")

    def label(self, option: dict[str, Any]) -> str:
        """What tells one alternative of a union from the others: its constant field, or `generate`."""
        _, target = self.deref(option)
        for name, prop in target.get("properties", {}).items():
            if "const" in prop:
                return f"{name}: {prop['const']}"
        if "generate" in target.get("required", ()):
            return "generated"
        if "generate" in target.get("properties", {}):
            return "one, or generated"
        return "written out"

    def section(self, heading: str, anchor: str, def_name: str | None, node: dict[str, Any]) -> str:
        """An object's description and the table of its fields."""
        path = heading.split(" (")[0] if heading != TOP else TOP
        lines = [f'<a id="{anchor}"></a>', "", f"### `{heading}`", ""]
        if node.get("description") and def_name is not None:
            lines += [" ".join(node["description"].split()), ""]
        required = set(node.get("required", ()))
        lines += ["| field | type | default | description |", "| --- | --- | --- | --- |"]
        for name, prop in node.get("properties", {}).items():
            kind = self.type_of(prop, name if path == TOP else f"{path}.{name}")
            default = "required" if name in required else self.default_of(prop)
            text = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
            lines.append(f"| `{name}` | {kind} | {default} | {text} |")
        if node.get("additionalProperties") is True:
            lines += ["", "Other keys are allowed: the resource's own wire fields."]
        lines.append("")
        if node.get("allOf"):
            lines += self.per_vendor(node["allOf"])
        return "\n".join(lines)

    @staticmethod
    def default_of(prop: dict[str, Any]) -> str:
        value = prop.get("default")
        if value is None:
            return ""
        if value in ([], {}):
            return "empty"
        if value == "":
            return '`""`'
        if isinstance(value, bool):
            return f"`{str(value).lower()}`"
        return f"`{value}`"

    def type_of(self, node: dict[str, Any], path: str) -> str:
        """A short type description; an object with fields is a link to its section."""
        from emulator.core.durations import MAX_SECONDS

        if "anyOf" in node or "oneOf" in node:
            options = [o for o in node.get("anyOf", node.get("oneOf", [])) if o.get("type") != "null"]
            if any("90s" in o.get("examples", ()) for o in options):
                top = next((o["maximum"] for o in options if "maximum" in o), None)
                bound = f", at most {_number(top)}" + ("" if top == MAX_SECONDS else " s") if top else ""
                return f"duration: seconds, or `90s`, `2m`, `1h`, `250ms`{bound}"
            return " or ".join(dict.fromkeys(self.type_of(o, path) for o in options))
        def_name, _ = self.deref(node)
        if def_name is not None:
            return f"[{self.labels[def_name] or 'object'}](#{self.placed[def_name]})"
        kind = node.get("type")
        if "const" in node:
            return f"`{node['const']}`"
        if "enum" in node:
            return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
        if kind == "array":
            item = self.type_of(node.get("items", {}), path + "[]")
            return f"list of {item}" + self.bounds(node, "minItems", "maxItems", "items")
        if kind == "object":
            if node.get("properties"):
                return f"[object](#{self.anchors[path]})"
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return f"map of {self.type_of(extra, path + '.*')}"
            return "mapping"
        if node.get("format") == "date-time":
            return "time (ISO 8601)"
        if kind == "number" and node.get("maximum") == MAX_SECONDS and node.get("minimum") == 0:
            return "seconds (0 to ten years)"
        text = kind if kind in ("integer", "number", "string", "boolean") else "any"
        text += self.bounds(node, "minimum", "maximum", "")
        text += self.bounds(node, "minLength", "maxLength", "characters")
        if "pattern" in node:
            text += f" matching `{node['pattern']}`"
        return text

    @staticmethod
    def bounds(node: dict[str, Any], low: str, high: str, unit: str) -> str:
        suffix = f" {unit}" if unit else ""
        if unit and node.get(low) == 1 and high not in node:
            return " (not empty)"
        if low in node and high in node:
            return f" ({_number(node[low])} to {_number(node[high])}{suffix})"
        if low in node:
            return f" (at least {_number(node[low])}{suffix})"
        if high in node:
            return f" (at most {_number(node[high])}{suffix})"
        return ""

    @staticmethod
    def per_vendor(rules: list[dict[str, Any]]) -> list[str]:
        """A fault's if/then rules: per vendor, how many operation names it takes and which error codes."""
        lines = ["Per vendor, `operation` takes one of the vendor's operation names or aliases (`GET "
                 "/_emulator/operations` lists them) and `error` one of its codes:", "",
                 "| vendor | operation names | error codes |", "| --- | --- | --- |"]
        for rule in rules:
            vendor = rule["if"].get("properties", {}).get("vendor", {}).get("const")
            if vendor is None:
                continue
            then = rule["then"]["properties"]
            names = next(o["enum"] for o in then["operation"]["anyOf"] if "enum" in o)
            error = then["error"]["anyOf"]
            codes = next(o["enum"] for o in error if "enum" in o)
            numeric = " (and any numeric legacy code)" if any("pattern" in o for o in error) else ""
            lines.append(f"| `{vendor}` | {len(names)} | {', '.join(f'`{c}`' for c in codes)}{numeric} |")
        return lines + [""]


def scenario_reference() -> str:
    from emulator.core.scenario import json_schema
    from emulator.vendors.registry import vendors

    return SchemaReference(json_schema(vendors())).render()


# ---- the serve options -----------------------------------------------------------------------------------------


def serve_options() -> str:
    from emulator.cli import SERVE_OPTIONS

    lines = ["| option | variable | default | what it does |", "| --- | --- | --- | --- |"]
    for option in SERVE_OPTIONS:
        flag = option.flag if option.switch else f"{option.flag} {option.metavar or option.dest.upper()}"
        if option.choices:
            flag = option.flag + " " + "\\|".join(option.choices)
        if option.switch:
            default = "off"
        elif option.default in (None, []):
            default = ""
        else:
            default = f"`{option.default}`"
        help_text = option.help.replace("|", "\\|")
        lines.append(f"| `{flag}` | `{option.env}` | {default} | {help_text} |")
    return "\n".join(lines) + "\n"


# ---- pages -----------------------------------------------------------------------------------------------------

PAGES: dict[str, Callable[[], str]] = {
    "docs/scenarios.md": scenario_reference,
    "docs/cli.md": serve_options,
}


def spliced(text: str, generated: str, page: str = "page") -> str:
    """`text` with what stands between the markers replaced by `generated`."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{page} has no {START} ... {END} markers")
    return text[:start + len(START)] + "\n" + generated + text[end:]


def stale(root: Path) -> list[str]:
    """The pages whose generated part is not what the code generates now."""
    return [page for page, make in PAGES.items()
            if spliced((root / page).read_text(), make(), page) != (root / page).read_text()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report the stale pages (exit 1 if any)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root (default: here)")
    args = parser.parse_args(argv)
    if args.check:
        found = stale(args.root)
        for page in found:
            print(f"{page} is stale: run {REGENERATE}", file=sys.stderr)
        return 1 if found else 0
    for page, make in PAGES.items():
        path = args.root / page
        path.write_text(spliced(path.read_text(), make(), page))
        print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
