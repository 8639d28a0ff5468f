"""What a user scripts is checked against what exists: a fault rule or a journal filter naming an unknown vendor,
operation or error code is refused with the closest names, never accepted to silently match nothing."""

from __future__ import annotations

import pytest
from meetkai_mka1.errors import SDKDefaultError

from emulator.control.client import EmulatorError
from emulator.core import scenario as scenarios
from tests.control.conftest import scenario
from tests.property.qianfan_signing import signed_post


@pytest.mark.parametrize("rule, field, says", [
    ({"vendor": "mka", "error": "internal"}, "vendor", "vendor 'mka' is not served (did you mean mka1?)"),
    ({"vendor": "mka1", "operation": "getEvalRn", "error": "internal"}, "operation",
     "operation 'getEvalRn' is not an operation of mka1 (did you mean getEvalRun"),
    ({"vendor": "qianfan", "operation": "DescribeEvalTaskz", "error": "InternalError"}, "operation",
     "(did you mean DescribeEvalTask"),
    ({"operation": "no_such_thing", "error": "internal"}, "operation", "is not an operation of any vendor"),
    ({"vendor": "qianfan", "operation": "DescribeEvalTask", "error": "InternalErorr"}, "error",
     "error 'InternalErorr' is not an error code of qianfan (did you mean InternalError"),
    ({"vendor": "mka1", "error": "api_eror"}, "error", "(did you mean api_error?)"),
])
def test_a_rule_that_could_never_fire_is_refused_with_a_suggestion(ctl, rule, field, says):
    with pytest.raises(EmulatorError) as refused:
        ctl.add_fault(**rule)
    assert refused.value.status == 400 and says in refused.value.message
    assert ctl.faults() == []


@pytest.mark.parametrize("name", ["getEvalRun", "get_run", "get-eval-run"])
def test_the_sdk_method_name_and_the_operation_id_both_fire(mka1, suite, ctl, name):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    ctl.add_fault(vendor="mka1", operation=name, error="internal")
    with pytest.raises(SDKDefaultError) as failed:
        mka1.get_run(run_id=run.id)
    assert failed.value.status_code == 500
    assert ctl.faults()[0]["fired"] == 1
    assert [e["faults"] for e in ctl.journal(operation="getEvalRun")] == [["fault_1"]]


@pytest.mark.parametrize("name", ["DescribeEvalTasks", "describe_eval_tasks"])
def test_qianfans_action_and_sdk_method_both_fire(client, name):
    ns = {"X-Emulator-Namespace": "guard-qianfan"}
    added = client.post("/_emulator/faults", json={"vendor": "qianfan", "operation": name, "error": "InternalError"},
                        headers=ns)
    assert added.status_code == 201, added.text
    res = signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json={"evalType": "auto"},
                      namespace="guard-qianfan")
    assert res.status_code == 500 and res.json()["code"] == "InternalError"


def test_journal_filters_take_aliases_and_refuse_unknown_names(mka1, suite, ctl):
    mka1.list_runs()
    assert len(ctl.journal(operation="list_runs")) == len(ctl.journal(operation="listEvalRuns")) == 1
    with pytest.raises(EmulatorError) as refused:
        ctl.journal(operation="list_runz")
    assert refused.value.status == 400 and "(did you mean" in refused.value.message
    with pytest.raises(EmulatorError):
        ctl.journal(vendor="mka2")


def test_a_scenario_fault_with_an_unknown_operation_names_its_line(app):
    text = scenario(faults="  - {vendor: mka1, operation: getEvalRun, error: internal}\n"
                           "  - {vendor: mka1, operation: cancelEvalRn, error: internal}\n")
    with pytest.raises(scenarios.ScenarioError) as refused:
        scenarios.check(text, "f.yaml", app.state.vendors)
    line = text.splitlines().index("  - {vendor: mka1, operation: cancelEvalRn, error: internal}") + 1
    assert str(refused.value).startswith(f"f.yaml:{line}: faults.1.operation: operation 'cancelEvalRn'")
    assert "did you mean cancelEvalRun" in str(refused.value)


def test_the_operations_are_listed(client):
    listed = client.get("/_emulator/operations").json()["vendors"]
    mka1 = next(v for v in listed if v["name"] == "mka1")
    get_run = next(op for op in mka1["operations"] if op["name"] == "getEvalRun")
    assert get_run == {"name": "getEvalRun", "aliases": ["get_run"], "method": "GET",
                       "path": "/api/v1/llm/evals/runs/{run_id}", "documented": True}
    assert "api_error" in mka1["error_codes"]
    qianfan = next(v for v in listed if v["name"] == "qianfan")
    assert {"name": "DescribeEvalTasks", "aliases": ["describe_eval_tasks"], "method": "POST", "path": "/v2/eval",
            "action": "DescribeEvalTasks", "documented": True} in qianfan["operations"]
