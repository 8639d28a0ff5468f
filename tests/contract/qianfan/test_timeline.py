"""Scenario timelines on Qianfan tasks, read through the SDK: `state` steps in v2 names, checked against
TASK_LIFECYCLE; DescribeEvalTask and the legacy detail are the polls that `after_polls` counts."""

from __future__ import annotations

import pytest
from qianfan.resources import Model
from qianfan.resources.console.eval import Eval

from emulator.core.scenario import ScenarioError
from tests.contract.qianfan.conftest import check_legacy, check_v2


def _state(task_id: str) -> str:
    return check_v2("DescribeEvalTask", Eval.V2.describe_eval_task(task_id).body)["state"]


def test_a_task_held_queued_for_two_polls_then_failed_at_30_seconds(qf):
    qf.load({"tasks": [{"taskName": "scripted", "evalConfig": {"evalMode": "rule"},
                        "timeline": [{"after_polls": 2, "state": "Running"}, {"at": "30s", "state": "Failed"}]}]})
    [listed] = check_v2("DescribeEvalTasks", Eval.V2.describe_eval_tasks("auto").body)["evalTaskList"]
    task_id = listed["taskId"]
    qf.advance(10)  # the default progression would have it Running by now; the timeline holds it
    assert [_state(task_id), _state(task_id)] == ["Queued", "Queued"]
    assert check_legacy("detail", Model.get_evaluation_info(task_id).body)["state"] == "Doing"  # 3rd poll
    qf.advance(20)
    assert _state(task_id) == "Failed"
    qf.advance(600)
    assert _state(task_id) == "Failed"  # terminal: the default progression resumes and has nothing to do


def test_after_the_last_step_the_default_progression_resumes(qf):
    qf.load({"tasks": [{"taskName": "slow start", "evalConfig": {"evalMode": "rule"},
                        "timeline": [{"after_polls": 1, "state": "Running"}]}]})
    [listed] = check_v2("DescribeEvalTasks", Eval.V2.describe_eval_tasks("auto").body)["evalTaskList"]
    assert _state(listed["taskId"]) == "Queued"
    assert _state(listed["taskId"]) == "Running"
    qf.advance(60 + 15)
    assert _state(listed["taskId"]) == "Successed"


def test_a_forbidden_transition_is_refused_with_its_step(qianfan_server):
    from emulator.core import scenario as scenarios

    text = ("qianfan:\n  tasks:\n    - taskName: t\n      timeline:\n        - {at: 5s, state: Running}\n"
            "        - {at: 9s, state: Queued}\n")
    app = qianfan_server.app
    with pytest.raises(ScenarioError) as info:
        scenarios.check(text, "t.yaml", app.state.vendors)
    assert info.value.line == 6 and info.value.loc == ("qianfan", "tasks", 0, "timeline", 1)
    assert "cannot move from 'Running' to 'Queued'" in str(info.value) and str(info.value).startswith("t.yaml:6:")


def test_the_journal_names_the_task_each_describe_read(qf):
    """Qianfan carries the task id in the body: the journal records it, so polling assertions work."""
    import httpx

    task_id = qf.create("polled")
    _state(task_id)
    Model.get_evaluation_info(task_id)
    journal = httpx.get(qf.server.url + "/_emulator/journal", params={"vendor": "qianfan"},
                        headers={"X-Emulator-Namespace": qf.ak}).json()["entries"]
    reads = [(e["operation"], e["resource"], e["state"]) for e in journal if e["state"] is not None]
    assert reads == [("DescribeEvalTask", task_id, "Queued"), ("eval/detail", task_id, "Queued")]


def test_a_detail_read_again_and_again_follows_the_task_as_it_moves(qf):
    """Details are encoded once per state and times (render.task_detail_bytes): every read still shows them."""
    task_id = qf.create("watched")

    def detail() -> dict:
        return check_v2("DescribeEvalTask", Eval.V2.describe_eval_task(task_id).body)

    first = [detail() for _ in range(3)]
    assert [d["state"] for d in first] == ["Queued"] * 3 and first[0]["startTime"] == first[0]["finishTime"] == ""
    qf.advance(10)
    running = detail()
    assert running["state"] == "Running" and running["startTime"] and running["finishTime"] == ""
    qf.advance(3600)
    done = [detail(), detail()]
    assert done[0] == done[1] and done[0]["state"] == "Successed" and done[0]["finishTime"] > running["startTime"]
    assert {k: v for k, v in done[0].items() if k not in ("state", "startTime", "finishTime")} == \
        {k: v for k, v in first[0].items() if k not in ("state", "startTime", "finishTime")}
