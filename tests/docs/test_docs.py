"""Every fenced code block of README.md and docs/*.md runs, so an example can no longer rot.

- ```python: a page's Python blocks run in order as one script (from the repository root) against real servers
  started with `--scenario scenarios/demo.yaml` (what `make run` serves): `http://127.0.0.1:8080` in the text
  becomes the http server's address, `https://127.0.0.1:8443` the TLS server's and `"ca.pem"` its CA file. The
  servers are shared by every page: an example that changes state uses a namespace of its own. A failure names
  the page's line. A block whose first line is `# test_<name>.py` is a pytest file instead: the page's test files
  run through pytester, with the YAML blocks whose first line is `# <name>.yaml` beside them, and every test they
  define must pass (none skipped).
- ```yaml: a scenario, checked by the emulator (`validate` finds no mistake), unless its first line says
  `# not a scenario`.
- ```sh: each command runs (bash, the project's venv first on PATH, no EMULATOR_* variables, in a scratch folder
  that links scenarios/); it must exit 0. A `serve` command (after its `VAR=value` words) is started on a free
  port and stopped once it says it is listening; `make <target>` lines are dry-run (`make -n`), since they would
  run this very suite.
- ```json and ```toml: they parse. ```text: output shown in a page; only pages with a test of their own use it.
- Links: every relative link reaches a file, and its `#anchor` a heading or an `<a id>` of that file.

docs/strategies.md has its own test (tests/docs/test_strategies_doc.py), which also checks its sample output, and
docs/persistence.md its own (tests/docs/test_persistence_doc.py), which restarts servers on one directory.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from emulator.control.server import EmulatorServer
from emulator.core import scenario as scenarios
from emulator.vendors.registry import vendors

ROOT = Path(__file__).resolve().parents[2]
OWN_TESTS = {"strategies.md", "persistence.md"}  # pages whose blocks another test runs
ALL_PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
PAGES = [p for p in ALL_PAGES if p.name not in OWN_TESTS]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LANGUAGES = {"python", "yaml", "sh", "json", "toml"}
HTTP_URL, TLS_URL, CA_FILE = "http://127.0.0.1:8080", "https://127.0.0.1:8443", "ca.pem"


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """(language, text, line) of every fenced block of a page."""
    text = page.read_text()
    return [(m.group(1), m.group(2), text[:m.start()].count("\n") + 1) for m in FENCE.finditer(text)]


def ids(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_every_block_has_a_language_this_test_runs(page):
    for language, _, line in blocks(page):
        assert language in LANGUAGES, f"{ids(page)}:{line}: a ```{language or '(none)'} block nothing runs"


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_yaml_blocks_are_scenarios_the_emulator_accepts(page):
    served = vendors()
    for language, text, line in blocks(page):
        if language == "yaml" and not text.startswith("# not a scenario"):
            scenarios.check(text, f"{ids(page)}:{line}", served)  # raises ScenarioError with the line
        if language == "json":
            json.loads(text)
        if language == "toml":
            tomllib.loads(text)


@pytest.fixture(scope="module")
def servers():
    demo = [str(ROOT / "scenarios" / "demo.yaml")]
    with EmulatorServer(scenarios=demo, clock="realtime") as http, \
            EmulatorServer(scenarios=demo, clock="realtime", tls=True) as tls:
        yield http, tls


def addressed(text: str, servers) -> str:
    http, tls = servers
    return text.replace(HTTP_URL, http.url).replace(TLS_URL, tls.url).replace(f'"{CA_FILE}"', repr(tls.ca_file))


@pytest.mark.parametrize("page", [p for p in PAGES if any(lang == "python" for lang, _, _ in blocks(p))], ids=ids)
def test_python_blocks_run_against_a_server(page, servers, tmp_path, pytester):
    scripts = [(text, line) for lang, text, line in blocks(page) if lang == "python"]
    plain = [(t, line) for t, line in scripts if not re.match(r"# test_\w+\.py\n", t)]
    tests = [(t, line) for t, line in scripts if re.match(r"# test_\w+\.py\n", t)]
    if plain:
        script, starts, parts = tmp_path / "blocks.py", [], []  # starts: (script line, page line) of each block
        for text, line in plain:
            starts.append((sum(part.count("\n") + 2 for part in parts) + 2, line + 1))
            parts.append(f"# {ids(page)}:{line}\n{addressed(text, servers)}")
        script.write_text("\n\n".join(parts))
        done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            def on_page(match: re.Match) -> str:  # a traceback's script line, as the page's line
                number = int(match.group(1))
                start, first = max((s for s in starts if s[0] <= number), default=(1, 1))
                return f"{match.group(0)} ({ids(page)}:{first + number - start})"

            trace = re.sub(rf'"{re.escape(str(script))}", line (\d+)', on_page, done.stderr)
            pytest.fail(f"{ids(page)}: the Python blocks failed:\n{done.stdout}\n{trace}", pytrace=False)
    if tests:
        for text, _ in tests:
            name = text.splitlines()[0][2:]
            (pytester.path / name).write_text(addressed(text, servers))
        for language, text, _ in blocks(page):
            first = text.splitlines()[0] if text else ""
            if language == "yaml" and re.fullmatch(r"# [\w.-]+\.yaml", first):
                (pytester.path / first[2:]).write_text(text)
        result = pytester.runpytest("-p", "no:cacheprovider")
        outcomes = result.parseoutcomes()
        written = sum(len(re.findall(r"^(?:async )?def test_", text, re.M)) for text, _ in tests)
        assert outcomes.get("passed", 0) >= written and not set(outcomes) - {"passed", "warnings", "warning"}, \
            f"{ids(page)}: its test files did not all pass:\n{result.stdout.str()}"


def commands(text: str) -> list[str]:
    """A shell block's commands: comment lines dropped, backslash continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def run_command(command: str, cwd: Path, env: dict) -> None:
    words = shlex.split(command, comments=True)
    if words[0] == "make":
        done = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        return
    if "serve" in words:
        assigned = {}  # VAR=value words before the command
        while "=" in words[0] and not words[0].startswith("-"):
            name, _, value = words.pop(0).partition("=")
            assigned[name] = value
        if "--port" in words:
            words[words.index("--port") + 1] = "0"
        else:
            words += ["--port", "0"]
        proc = subprocess.Popen(words, cwd=cwd, env={**env, **assigned}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            first = proc.stdout.readline()
            assert "listening on" in first, f"{command}: {first}{proc.stdout.read() if proc.poll() is not None else ''}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"{command}: still running 60 s after SIGTERM", pytrace=False)
        return
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("page", [p for p in PAGES if any(lang == "sh" for lang, _, _ in blocks(p))], ids=ids)
def test_shell_blocks_run(page, tmp_path, servers):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env = {k: v for k, v in env.items() if not k.startswith("EMULATOR_")}
    for language, text, _ in blocks(page):
        if language == "sh":
            for command in commands(addressed(text, servers)):
                run_command(command, tmp_path, env)


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """The anchors a page has: its headings as GitHub spells them, and its `<a id>` elements."""
    text = FENCE.sub("", page.read_text())
    found = set(re.findall(r'<a id="([^"]+)">', text))
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        found.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return found


@pytest.mark.parametrize("page", ALL_PAGES, ids=ids)
def test_links_reach_a_file_and_its_anchor(page):
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http(s): the docs link out only to stable places
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{ids(page)}: {target} links to nothing"
        if anchor:
            assert anchor in anchors(linked), f"{ids(page)}: {target}: {linked.name} has no anchor {anchor!r}"
