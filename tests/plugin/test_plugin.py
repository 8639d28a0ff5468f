"""The pytest plugin used the way a user would: small test files run by pytester."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import httpx

SCENARIO = """\
seed: 4
clock: {mode: manual, start: 2026-05-01T00:00:00Z}
mka1:
  suites:
    - ref: s
      name: From the marker
      manifest: {tasks: [{id: faq, type: qa, dataset: {file_id: f}}]}
  runs:
    - suite: s
      models: [m]
      timeline:
        - after_polls: 2
          status: in_progress
        - at: 30s
          status: failed
"""

IN_PROCESS = '''
import pytest
from meetkai_mka1 import SDK
from meetkai_mka1.utils import RetryConfig
from meetkai_mka1.errors import SDKDefaultError


def sdk(emulator):
    return SDK(bearer_auth="any", server_url=emulator.base_url, client=emulator.client,
               retry_config=RetryConfig("none", None, False)).llm.evals


@pytest.mark.emulator_scenario("world.yaml")
def test_marker_loads_the_scenario_next_to_this_file(emulator):
    evals = sdk(emulator)
    assert [s.name for s in evals.list_suites().data] == ["From the marker"]
    run = evals.list_runs().data[0]
    assert [evals.get_run(run_id=run.id).status for _ in range(3)] == ["queued", "queued", "in_progress"]
    emulator.advance(30)
    assert evals.get_run(run_id=run.id).status == "failed"
    emulator.assert_stopped_polling_at_terminal(run.id)
    emulator.assert_polled_at_most(run.id, 4)
    emulator.assert_called("getEvalRun", times=4)
    emulator.assert_called("listEvalRuns", at_least=1, at_most=1)
    emulator.assert_called(method="GET", path="*/suites")


def test_fresh_namespace_and_helpers(emulator):
    evals = sdk(emulator)
    assert evals.list_suites().data == []  # nothing from the other test
    assert emulator.now() == 1767225600.0
    emulator.add_fault(vendor="mka1", operation="listEvalSuites", nth=1, error="api_error")
    with pytest.raises(SDKDefaultError):
        evals.list_suites()
    assert emulator.faults()[0]["fired"] == 1
    assert emulator.journal()[0]["namespace"] == emulator.namespace


@pytest.mark.emulator_scenario("world.yaml")
def test_polled_too_often(emulator):
    evals = sdk(emulator)
    run = evals.list_runs().data[0]
    for _ in range(3):
        evals.get_run(run_id=run.id)
    emulator.assert_polled_at_most(run.id, 2)


@pytest.mark.emulator_scenario("world.yaml")
def test_kept_polling_after_terminal(emulator):
    evals = sdk(emulator)
    run = evals.list_runs().data[0]
    for _ in range(3):
        evals.get_run(run_id=run.id)
    emulator.advance(30)
    evals.get_run(run_id=run.id)
    evals.get_run(run_id=run.id)
    emulator.assert_stopped_polling_at_terminal(run.id)


@pytest.mark.emulator_scenario("world.yaml")
def test_never_saw_terminal(emulator):
    evals = sdk(emulator)
    run = evals.list_runs().data[0]
    evals.get_run(run_id=run.id)
    emulator.assert_stopped_polling_at_terminal(run.id)


def test_never_called(emulator):
    emulator.assert_called("getEvalRun")


def test_called_too_often(emulator):
    evals = sdk(emulator)
    evals.list_suites()
    evals.list_suites()
    emulator.assert_called("list_eval_suites", times=1)


@pytest.mark.emulator_scenario("missing.yaml")
def test_missing_scenario(emulator):
    pass
'''


def test_the_in_process_fixture_marker_and_assertions(pytester):
    sub = pytester.mkpydir("suite_dir")
    (sub / "world.yaml").write_text(SCENARIO)
    (sub / "test_user.py").write_text(IN_PROCESS)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2, result.stdout.str()
    assert outcomes.get("failed") == 5 and outcomes.get("errors") == 1, result.stdout.str()
    failed = {r.nodeid.split("::")[-1]: str(r.longrepr) for r in result.reprec.getreports("pytest_runtest_logreport")
              if r.failed}
    assert set(failed) == {"test_polled_too_often", "test_kept_polling_after_terminal", "test_never_saw_terminal",
                           "test_never_called", "test_called_too_often", "test_missing_scenario"}
    assert "was polled 3 times, more than 2" in failed["test_polled_too_often"]
    assert "polled 1 more time(s) after it was failed" in failed["test_kept_polling_after_terminal"]
    assert "never reached a terminal state while polled (last: queued)" in failed["test_never_saw_terminal"]
    assert "expected a call of getEvalRun, saw none" in failed["test_never_called"]
    assert "expected 1 call(s) of list_eval_suites, saw 2" in failed["test_called_too_often"]
    assert "missing.yaml" in failed["test_missing_scenario"]


SERVER = '''
import json
import os

import pytest
from meetkai_mka1 import SDK
from meetkai_mka1.utils import RetryConfig


@pytest.mark.parametrize("n", range(6))
@pytest.mark.emulator_scenario("world.yaml")
def test_shared_server(emulator_server, n, tmp_path_factory):
    evals = SDK(bearer_auth=emulator_server.token, server_url=emulator_server.base_url,
                retry_config=RetryConfig("none", None, False)).llm.evals
    evals.create_suite(name=f"mine-{n}", manifest={"tasks": [{"id": "t", "type": "qa", "dataset": {}}]})
    names = sorted(s.name for s in evals.list_suites().data)
    assert names == sorted(["From the marker", f"mine-{n}"])  # no other test's suite
    emulator_server.advance(n + 1)
    assert emulator_server.now() == 1777593600.0 + n + 1  # the scenario's clock, moved by this test only
    emulator_server.add_fault(vendor="mka1", operation="getEvalSuite", error="api_error")
    assert len(emulator_server.faults()) == 1
    assert [e["operation"] for e in emulator_server.journal()] == ["createEvalSuite", "listEvalSuites"]
    record = {"worker": os.environ.get("PYTEST_XDIST_WORKER"), "url": emulator_server.base_url,
              "namespace": emulator_server.namespace, "pid": os.getpid()}
    with open(os.path.join(os.environ["RECORD_DIR"], f"{n}.json"), "w") as out:
        json.dump(record, out)


def test_tls_server(emulator_tls_server):
    import httpx

    assert emulator_tls_server.base_url.startswith("https://")
    import ssl
    context = ssl.create_default_context(cafile=emulator_tls_server.ca_file)
    res = httpx.get(emulator_tls_server.base_url + "/api/v1/llm/evals/suites", verify=context,
                    headers={"Authorization": f"Bearer {emulator_tls_server.token}"})
    assert res.status_code == 200 and res.json()["data"] == []
    assert emulator_tls_server.journal()[0]["operation"] == "listEvalSuites"
    with open(os.path.join(os.environ["RECORD_DIR"], "tls.url"), "w") as out:
        out.write(emulator_tls_server.base_url)
'''


def test_xdist_workers_share_one_server_with_separate_namespaces(pytester, monkeypatch, tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    monkeypatch.setenv("RECORD_DIR", str(records))
    (pytester.path / "world.yaml").write_text(SCENARIO)
    pytester.makepyfile(test_server=SERVER)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=7)

    seen = [json.loads(p.read_text()) for p in sorted(records.glob("*.json"))]
    assert len(seen) == 6
    assert {r["worker"] for r in seen} == {"gw0", "gw1"}, seen  # both workers ran tests...
    assert len({r["pid"] for r in seen}) == 2
    (url,) = {r["url"] for r in seen}  # ...against one server
    assert len({r["namespace"] for r in seen}) == 6  # each test in its own namespace

    # The run stopped its servers and left no state behind.
    tls_url = (records / "tls.url").read_text()
    for server in (url, tls_url):
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(server + "/_emulator/health", timeout=1, verify=False)
            except httpx.TransportError:
                break
            assert time.monotonic() < deadline, f"the shared server at {server} outlived the run"
            time.sleep(0.1)
    for state in Path(tempfile.gettempdir()).glob("llm-eval-emulator-pytest-*/*.json"):
        assert url not in state.read_text() and tls_url not in state.read_text(), f"{state} was left behind"
