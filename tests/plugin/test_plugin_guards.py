"""The plugin's guards: a scripted fault that never fired fails the test that relied on it, and a scenario the
marker names is found next to the test, in the rootdir or among the shipped ones, or the test errors clearly."""

from __future__ import annotations

USER_TESTS = '''
import pytest
from meetkai_mka1 import SDK
from meetkai_mka1.utils import RetryConfig
from meetkai_mka1.errors import SDKDefaultError


def sdk(emulator):
    return SDK(bearer_auth="any", server_url=emulator.base_url, client=emulator.client,
               retry_config=RetryConfig("none", None, False)).llm.evals


def test_the_failure_path_met_its_failure(emulator):
    emulator.add_fault(id="boom", vendor="mka1", operation="list_suites", nth=1, error="internal")
    with pytest.raises(SDKDefaultError):
        sdk(emulator).list_suites()
    assert [r["id"] for r in emulator.assert_faults_fired()] == ["boom"]


def test_a_rule_that_never_fired(emulator):
    emulator.add_fault(id="never", vendor="mka1", operation="getEvalRun", error="internal")
    sdk(emulator).list_suites()
    emulator.assert_faults_fired()


@pytest.mark.emulator_scenario("mka1.yaml")
def test_a_shipped_scenario_by_name(emulator):
    runs = sdk(emulator).list_runs(limit=10).data
    assert {r.metadata.get("purpose") for r in runs} >= {"nightly", "smoke"}


@pytest.mark.emulator_scenario("no-such-file.yaml")
def test_a_missing_scenario(emulator):
    pass
'''


def test_guards(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2 and outcomes.get("failed") == 1 and outcomes.get("errors") == 1, \
        result.stdout.str()
    reports = {r.nodeid.split("::")[-1]: str(r.longrepr) for r in result.reprec.getreports("pytest_runtest_logreport")
               if r.failed}
    assert "fault rule(s) that never fired: never (vendor=mka1, operation=getEvalRun" in \
        reports["test_a_rule_that_never_fired"]
    missing = reports["test_a_missing_scenario"]
    assert "no such scenario file" in missing and "shipped scenarios (demo.yaml" in missing
    assert "Traceback" not in missing and "FileNotFoundError" not in missing
