"""The package as a team adopts it: an outside project installs the built wheel (not editable, no Makefile, no
checkout on its path) and runs a scenario with a scripted InternalError, a journal assertion and a clock advance
through the plugin, with and without `-n 2`, and sees no warning from the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """\
seed: 7
clock: {mode: manual, start: 2026-06-01T00:00:00Z}
mka1:
  suites:
    - ref: s
      name: Outside project
      manifest: {tasks: [{id: t, type: qa, dataset: {file_id: f}}]}
  runs:
    - suite: s
      models: [m]
faults:
  - {id: first-poll-fails, vendor: mka1, operation: get_run, nth: 1, error: internal}
"""

USER_TEST = '''
import pytest
from meetkai_mka1 import SDK
from meetkai_mka1.utils import RetryConfig
from meetkai_mka1.errors import SDKDefaultError


def evals(handle, **client):
    return SDK(bearer_auth=handle.token, server_url=handle.base_url, retry_config=RetryConfig("none", None, False),
               **client).llm.evals


def poll(evals, run_id):
    """The code under test: polls until the run is done, retrying a 500 once."""
    for _ in range(10):
        try:
            run = evals.get_run(run_id=run_id)
        except SDKDefaultError as error:
            assert error.status_code == 500
            continue
        if run.status in ("completed", "failed", "cancelled"):
            return run
    raise AssertionError("never finished")


@pytest.mark.emulator_scenario("world.yaml")
def test_in_process(emulator):
    api = evals(emulator, client=emulator.client)
    run = api.list_runs().data[0]
    emulator.advance(3600)
    assert poll(api, run.id).status == "completed"
    emulator.assert_faults_fired()
    emulator.assert_called("getEvalRun", times=2)
    emulator.assert_stopped_polling_at_terminal(run.id)


@pytest.mark.emulator_scenario("world.yaml")
@pytest.mark.parametrize("worker", range(4))
def test_on_the_shared_server(emulator_server, worker):
    api = evals(emulator_server)
    run = api.list_runs().data[0]
    emulator_server.advance(3600)
    assert poll(api, run.id).status == "completed"
    emulator_server.assert_faults_fired("first-poll-fails")
    assert [e["status"] for e in emulator_server.journal(operation="get_run")] == [500, 200]


@pytest.mark.emulator_scenario("mka1.yaml")
def test_a_shipped_scenario(emulator):
    assert {r.metadata.get("purpose") for r in evals(emulator, client=emulator.client).list_runs().data} >= {"nightly"}
'''


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh virtual environment with the built wheel, pytest, pytest-xdist and the MKA1 SDK, and a project."""
    where = tmp_path_factory.mktemp("outside")
    wheels = where / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("llm_eval_emulator-*.whl")
    env_dir = where / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel), "pytest>=8", "pytest-xdist>=3.5",
                    "meetkai-mka1==0.12.128"], check=True, capture_output=True, timeout=900)
    project = where / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "world.yaml").write_text(SCENARIO)
    (project / "tests" / "test_user.py").write_text(USER_TEST)
    return python, project


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_an_outside_project_uses_the_installed_wheel(outside, workers):
    python, project = outside
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHONPATH", "CI"))}
    result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers],
                            cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout, result.stdout
    assert "warning" not in result.stdout.lower(), result.stdout  # no warnings summary at all
    imported = subprocess.run([str(python), "-c", "import emulator; print(emulator.__file__)"], cwd=project,
                              capture_output=True, text=True, check=True).stdout
    assert "site-packages" in imported and str(ROOT) not in imported
