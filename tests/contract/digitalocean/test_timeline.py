"""Scenario timelines on DigitalOcean evaluation runs, read through pydo over TLS: status and
error_description steps checked against RUN_LIFECYCLE; GET evaluation run is the poll `after_polls` counts."""

from __future__ import annotations

import pytest

from emulator.core.scenario import ScenarioError

SCENARIO = """
digitalocean:
  datasets:
    - {ref: faq, name: faq.csv, rows: [{query: "How do I resize?", ground_truth: "Power off, then Resize."}]}
  test_cases:
    - {ref: answers, name: Answers, dataset: faq, metrics: [Tone]}
  runs:
    - test_case: answers
      run_name: scripted
      timeline:
        - after_polls: 2
          status: EVALUATION_RUN_RUNNING_DATASET
        - at: 45s
          status: EVALUATION_RUN_FAILED
          error_description: the agent deployment was deleted mid-run
"""


def _load(tls_http, token, text):
    res = tls_http.post("/_emulator/scenarios", content=text, headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text


def test_a_run_held_queued_for_two_polls_then_failed_at_45_seconds(do, tls_http, token, clock):
    _load(tls_http, token, SCENARIO)
    [case] = do.list_evaluation_test_cases()["evaluation_test_cases"]
    [run] = do.list_evaluation_runs_by_test_case(case["test_case_uuid"])["evaluation_runs"]
    uuid = run["evaluation_run_uuid"]
    clock.advance(20)  # the default progression would have moved it on; the timeline holds it
    seen = [do.get_evaluation_run(uuid)["evaluation_run"]["status"] for _ in range(3)]
    assert seen == ["EVALUATION_RUN_QUEUED", "EVALUATION_RUN_QUEUED", "EVALUATION_RUN_RUNNING_DATASET"]
    clock.advance(25)
    failed = do.get_evaluation_run(uuid)["evaluation_run"]
    assert failed["status"] == "EVALUATION_RUN_FAILED"
    assert failed["error_description"] == "the agent deployment was deleted mid-run"
    journal = tls_http.get("/_emulator/journal", params={"operation": "get_evaluation_run"},
                           headers={"Authorization": f"Bearer {token}"}).json()["entries"]
    assert [(e["resource"], e["terminal"]) for e in journal][-2:] == [(uuid, False), (uuid, True)]


def test_a_forbidden_transition_is_refused_with_its_line():
    from emulator.app import build_app
    from emulator.core import scenario as scenarios

    app = build_app()
    bad = SCENARIO.replace("status: EVALUATION_RUN_FAILED", "status: EVALUATION_RUN_QUEUED")
    with pytest.raises(ScenarioError) as info:
        scenarios.check(bad, "do.yaml", app.state.vendors)
    assert info.value.loc == ("digitalocean", "runs", 0, "timeline", 1) and info.value.line == 13
    assert "cannot move from 'EVALUATION_RUN_RUNNING_DATASET' to 'EVALUATION_RUN_QUEUED'" in info.value.message
