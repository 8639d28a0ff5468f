"""docs/strategies.md runs: its Python blocks are one test module (run by pytester, the way a user runs them),
its scenario YAML is checked by the emulator and is exactly what the search prints, and its sample output is
what pytest shows."""

from __future__ import annotations

import re
from pathlib import Path

from emulator.core import scenario as scenarios
from emulator.vendors.registry import vendors

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(kind: str) -> list[str]:
    return [body for lang, body in FENCE.findall(DOC.read_text()) if lang == kind]


def test_every_yaml_block_is_a_scenario_the_emulator_accepts():
    assert blocks("yaml")
    for number, text in enumerate(blocks("yaml")):
        scenarios.check(text, f"{DOC.name} yaml block {number + 1}", list(vendors()))


def shown(output: str) -> str:
    """The error lines of pytest output (`E   ...`) without their prefix and indent."""
    lines = [line[1:] for line in output.splitlines() if line.startswith("E")]
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines) + "\n"


def _without_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def test_the_sample_output_shows_the_yaml_block():
    [output] = blocks("text")
    lines = shown(output).splitlines()
    start = lines.index("version: 1")
    end = lines.index("", start)
    [saved] = [b for b in blocks("yaml") if b.startswith("# naive-poller.yaml")]
    assert "\n".join(lines[start:end]) + "\n" == _without_comments(saved)


def test_the_python_blocks_run_as_the_doc_says(pytester):
    pytester.makepyfile(test_doc="\n\n".join(blocks("python")))
    for text in blocks("yaml"):
        first = text.splitlines()[0]
        if first.startswith("# ") and first.endswith(".yaml"):
            (pytester.path / first[2:]).write_text(text)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider", "--hypothesis-seed=0")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 3 and outcomes.get("failed") == 1, result.stdout.str()
    [failed] = [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed]
    assert failed.nodeid.endswith("test_naive_poller_finishes")
    seen = shown(str(failed.longrepr))
    [saved] = [b for b in blocks("yaml") if b.startswith("# naive-poller.yaml")]
    assert _without_comments(saved) in seen
    [output] = blocks("text")
    note = shown(output).split("\nFailing test case")[0]
    assert note in seen
