"""Scenario timelines on Mistral campaigns, read through mistralai 2.9.4: `status` steps checked against the
campaign lifecycle, `fetch` and `fetch_status` of one campaign counted as polls, and a forbidden step refused with
its file line (as `python -m emulator validate` reports it)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from emulator.core.scenario import ScenarioError
from tests.contract.mistral.strict import api_error
from tests.contract.mistral.test_events import CLASSIFICATION, EVENTS

JUDGES = [CLASSIFICATION]


def section(timeline, **campaign):
    return {"events": EVENTS, "judges": JUDGES,
            "campaigns": [{"name": "scripted", "judge": "tone", "max_nb_events": 2, "timeline": timeline,
                           **campaign}]}


def the_campaign(obs):
    [found] = obs.campaigns.list().campaigns.results
    return found.id


def test_running_then_failed_at_30s(obs, load, advance):
    load(section([{"at": "30s", "status": "FAILED"}]))
    campaign_id = the_campaign(obs)
    created = obs.campaigns.fetch(campaign_id=campaign_id)
    advance(29)  # the default progression would have completed it after 3 s; the timeline holds it
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "RUNNING"
    advance(1)
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "FAILED"
    failed = obs.campaigns.fetch(campaign_id=campaign_id)
    assert failed.updated_at - created.created_at == timedelta(seconds=30)
    advance(600)  # FAILED is terminal
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "FAILED"
    # a failed campaign has no verdicts: nothing to import, no span evaluations
    dataset = obs.datasets.create(name="d", description="")
    api_error(409, None, obs.datasets.import_from_campaign, dataset_id=dataset.id, campaign_id=campaign_id,
              match="COMPLETED")
    assert obs.spans.search_span_evaluations().span_evaluations.results == []


def test_stays_running_for_three_polls_then_follows_the_default_progression(obs, load, advance):
    load(section([{"after_polls": 3, "status": "RUNNING"}]))
    campaign_id = the_campaign(obs)
    advance(100)
    assert obs.campaigns.fetch(campaign_id=campaign_id).id == campaign_id  # poll 1
    assert obs.campaigns.list().campaigns.results[0].id == campaign_id  # a list is not a poll
    assert obs.campaigns.list_events(campaign_id=campaign_id).completion_events.count == 2  # nor is this
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "RUNNING"  # poll 2
    advance(100)
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "RUNNING"  # poll 3
    advance(100)
    # the next read sees the step (made due by three polls) happen now; had the list or list_events counted,
    # it would have happened 100 s ago and the default progression would have completed the campaign by now
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "RUNNING"
    # then the default: RUNNING for 2 s + 0.5 s per selected event (2), counted from the step
    advance(2)
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "RUNNING"
    assert obs.spans.search_span_evaluations().span_evaluations.results == []
    advance(1)
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "COMPLETED"
    assert len(obs.spans.search_span_evaluations().span_evaluations.results) == 2


def test_polls_then_time(obs, load, advance):
    load(section([{"after_polls": 2, "status": "RUNNING"}, {"at": "1m", "status": "TIMED_OUT"}]))
    campaign_id = the_campaign(obs)
    advance(120)  # the `at` step waits for the polls of the step before it
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "RUNNING"
    assert obs.campaigns.fetch(campaign_id=campaign_id).id == campaign_id
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "TIMED_OUT"


def test_campaigns_without_timeline_keep_the_default(obs, load, advance):
    load({"events": EVENTS, "judges": JUDGES, "campaigns": [{"name": "plain", "judge": "tone", "max_nb_events": 2}]})
    campaign_id = the_campaign(obs)
    advance(3)
    assert obs.campaigns.fetch_status(campaign_id=campaign_id).status == "COMPLETED"


def _yaml(steps: str) -> str:
    return ("mistral:\n"
            "  events:\n"
            "    - {request_messages: [{role: user, content: hi}], response_messages: [{role: assistant, content: yo}]}\n"
            "  judges:\n"
            "    - name: tone\n"
            "      description: d\n"
            "      model_name: mistral-large-latest\n"
            "      instructions: i\n"
            "      tools: []\n"
            "      output: {type: CLASSIFICATION, options: [{value: A, description: a}]}\n"
            "  campaigns:\n"
            "    - name: c\n"
            "      judge: tone\n"
            "      timeline:\n" + steps)


@pytest.mark.parametrize("steps, line, step, message", [
    ("        - {at: 5s, status: COMPLETED}\n        - {at: 9s, status: RUNNING}\n", 16, 1,
     "cannot move from 'COMPLETED' to 'RUNNING'"),
    ("        - {after_polls: 1, status: CANCELED}\n", 15, 0, "cannot move from 'RUNNING' to 'CANCELED'"),
    ("        - {at: 5s, status: RUNNING}\n        - {at: 9s, status: DONE}\n", 16, 1, "'DONE' is not one of"),
    ("        - {at: 5s, progress: 10}\n", 15, 0, "cannot set progress"),
    ("        - {at: 9s, status: RUNNING}\n        - {at: 5s, status: FAILED}\n", 16, 1,
     "comes before the previous step"),
])
def test_a_forbidden_step_is_refused_with_its_line(app, steps, line, step, message):
    from emulator.core import scenario as scenarios

    with pytest.raises(ScenarioError) as info:
        scenarios.check(_yaml(steps), "t.yaml", app.state.vendors)
    assert info.value.loc == ("mistral", "campaigns", 0, "timeline", step)
    assert info.value.line == line and str(info.value).startswith(f"t.yaml:{line}:")
    assert message in str(info.value)


def test_a_bad_step_shape_is_refused_with_its_line(app):
    from emulator.core import scenario as scenarios

    with pytest.raises(ScenarioError) as info:
        scenarios.check(_yaml("        - {status: FAILED}\n"), "t.yaml", app.state.vendors)
    assert info.value.line == 15 and "exactly one trigger" in str(info.value)


def test_other_scenario_mistakes_name_their_line(app):
    from emulator.core import scenario as scenarios

    text = _yaml("        - {at: 5s, status: FAILED}\n").replace("judge: tone", "judge: nobody")
    with pytest.raises(ScenarioError) as info:
        scenarios.check(text, "t.yaml", app.state.vendors)
    assert info.value.loc == ("mistral", "campaigns", 0, "judge") and info.value.line == 13
    assert "no judge named 'nobody'" in str(info.value)


def test_validate_reports_the_line(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(_yaml("        - {after_polls: 3, status: RUNNING}\n        - {at: 30s, status: FAILED}\n"))
    bad.write_text(_yaml("        - {at: 5s, status: COMPLETED}\n        - {at: 9s, status: FAILED}\n"))
    res = subprocess.run([sys.executable, "-m", "emulator", "validate", str(good), str(bad)], capture_output=True, check=False,
                         text=True, timeout=120)
    assert res.returncode == 1
    assert f"{good}: ok" in res.stdout
    assert f"{bad}:16: mistral.campaigns.0.timeline.1: campaign cannot move from 'COMPLETED' to 'FAILED'" in res.stderr
