"""Scenario timelines on MKA1 runs, read through the official SDK (meetkai-mka1)."""

from __future__ import annotations

import pytest
from meetkai_mka1.errors import SDKDefaultError

from emulator.vendors.mka1.records import GENERATION_SECONDS, RUN_LIFECYCLE
from tests.control.conftest import MANUAL_START_EPOCH, scenario

START = int(MANUAL_START_EPOCH)


def run_with(timeline: str, extra: str = "") -> str:
    return scenario(f"""\
    - suite: s
      models: [gpt-4o-mini]
{extra}      timeline:
{timeline}""")


@pytest.fixture
def load(ctl, mka1):
    def load(timeline: str) -> str:
        ctl.load_scenario(run_with(timeline))
        (run,) = mka1.list_runs().data
        return run.id
    return load


def test_after_polls_holds_the_run_queued_for_exactly_n_gets(load, mka1, ctl):
    run_id = load("""\
        - after_polls: 3
          status: in_progress
""")
    ctl.advance(600)  # far past the default 2 s in queue: the timeline alone moves the run
    seen = [mka1.get_run(run_id=run_id).status for _ in range(5)]
    assert seen == ["queued", "queued", "queued", "in_progress", "in_progress"]
    run = mka1.get_run(run_id=run_id)
    assert run.started_at == START + 600  # it started when the fourth GET saw it


def test_list_and_other_reads_do_not_count_as_polls(load, mka1, ctl):
    run_id = load("""\
        - after_polls: 2
          status: in_progress
""")
    for _ in range(4):
        assert mka1.list_runs().data[0].status == "queued"
        mka1.list_samples(run_id=run_id)
    assert [mka1.get_run(run_id=run_id).status for _ in range(3)] == ["queued", "queued", "in_progress"]
    # The journal says which reads were polls, and what each saw.
    polls = ctl.journal(operation="getEvalRun")
    assert [p["state"] for p in polls] == ["queued", "queued", "in_progress"]
    assert all(p["state"] is None for p in ctl.journal(operation="listEvalRuns"))


def test_at_happens_at_its_exact_virtual_time(load, mka1, ctl):
    run_id = load("""\
        - at: 30s
          status: in_progress
        - at: 1.5m
          status: failed
          error: {code: worker_lost, message: the eval worker went away}
""")
    ctl.advance(29.5)
    assert mka1.get_run(run_id=run_id).status == "queued"
    ctl.advance(0.5)
    run = mka1.get_run(run_id=run_id)
    assert run.status == "in_progress" and run.started_at == START + 30
    ctl.advance(59)
    assert mka1.get_run(run_id=run_id).status == "in_progress"
    ctl.advance(1)
    run = mka1.get_run(run_id=run_id)
    assert run.status == "failed"
    assert run.failed_at == START + 90
    assert (run.error["code"], run.error["message"]) == ("worker_lost", "the eval worker went away")


def test_at_steps_happen_on_time_when_nobody_polls_in_between(load, mka1, ctl):
    run_id = load("""\
        - at: 10s
          status: in_progress
        - at: 70s
          status: failed
          error: {code: oom, message: out of memory}
""")
    ctl.advance(3600)
    listed = mka1.list_runs().data[0]  # a list sees the step too, stamped when it happened
    assert listed.status == "failed" and listed.failed_at == START + 70 and listed.started_at == START + 10
    run = mka1.get_run(run_id=run_id)
    assert (run.status, run.failed_at, run.error["code"]) == ("failed", START + 70, "oom")


def test_a_failing_step_without_an_error_gets_the_vendors_default_error(load, mka1, ctl):
    run_id = load("""\
        - after_polls: 0
          status: in_progress
        - at: 5s
          status: failed
""")
    ctl.advance(5)
    run = mka1.get_run(run_id=run_id)
    assert run.status == "failed" and run.error is not None and run.error["code"] and run.error["message"]


def test_default_progression_resumes_after_the_last_step(load, mka1, ctl):
    run_id = load("""\
        - after_polls: 2
          status: in_progress
""")
    ctl.advance(100)
    assert [mka1.get_run(run_id=run_id).status for _ in range(3)] == ["queued", "queued", "in_progress"]
    stepped = START + 100  # when the third GET moved it
    finalizing = RUN_LIFECYCLE.timed["finalizing"][1]
    ctl.advance(GENERATION_SECONDS - 1)
    assert mka1.get_run(run_id=run_id).status == "in_progress"
    ctl.advance(1)
    assert mka1.get_run(run_id=run_id).status == "finalizing"
    ctl.advance(finalizing)
    run = mka1.get_run(run_id=run_id)
    assert run.status == "completed"
    assert run.completed_at == stepped + GENERATION_SECONDS + finalizing
    counts = run.request_counts
    assert counts.completed + counts.failed == counts.total > 0


def test_a_timeline_that_keeps_the_status_sets_other_fields(load, mka1, ctl):
    run_id = load("""\
        - at: 0s
          status: in_progress
        - after_polls: 1
          error: {code: slow_worker, message: the worker is slow}
        - at: 20s
          status: failed
""")
    first = mka1.get_run(run_id=run_id)
    assert first.status == "in_progress" and first.error is None
    second = mka1.get_run(run_id=run_id)
    assert second.status == "in_progress" and second.error["code"] == "slow_worker"
    ctl.advance(20)
    run = mka1.get_run(run_id=run_id)
    assert run.status == "failed" and run.error["code"] == "slow_worker"  # the scripted error is kept


def test_a_cancel_takes_over_from_the_timeline(load, mka1, ctl):
    run_id = load("""\
        - after_polls: 5
          status: in_progress
        - at: 60s
          status: completed
""")
    assert mka1.get_run(run_id=run_id).status == "queued"
    cancelled = mka1.cancel_run(run_id=run_id)
    assert cancelled.status == "cancelling"
    ctl.advance(RUN_LIFECYCLE.timed["cancelling"][1])
    run = mka1.get_run(run_id=run_id)
    assert run.status == "cancelled" and run.cancelled_at == START + RUN_LIFECYCLE.timed["cancelling"][1]
    ctl.advance(120)
    for _ in range(6):  # neither the polls nor the time of the script move it any more
        assert mka1.get_run(run_id=run_id).status == "cancelled"


def test_a_timeline_run_refuses_actions_its_scripted_state_forbids(load, mka1, ctl):
    run_id = load("""\
        - at: 10s
          status: failed
""")
    ctl.advance(10)
    with pytest.raises(SDKDefaultError) as excinfo:
        mka1.cancel_run(run_id=run_id)
    assert excinfo.value.status_code == 409
    assert mka1.retry_failed_run(run_id=run_id).status == "queued"  # retry from failed is the vendor's move


def test_two_runs_follow_their_own_timelines(ctl, mka1):
    ctl.load_scenario(scenario("""\
    - suite: s
      models: [a]
      metadata: {name: polled}
      timeline:
        - after_polls: 1
          status: in_progress
    - suite: s
      models: [b]
      metadata: {name: timed}
      timeline:
        - at: 5s
          status: failed
"""))
    runs = {r.metadata["name"]: r.id for r in mka1.list_runs().data}
    assert [mka1.get_run(run_id=runs["polled"]).status for _ in range(2)] == ["queued", "in_progress"]
    assert mka1.get_run(run_id=runs["timed"]).status == "queued"
    ctl.advance(5)
    assert mka1.get_run(run_id=runs["timed"]).status == "failed"
    assert mka1.get_run(run_id=runs["polled"]).status == "in_progress"


def test_an_at_step_due_before_the_previous_step_happened_follows_it(load, mka1, ctl):
    """`at: 30s` behind a step that waited for polls until 40 s happens right after it, never before it."""
    run_id = load("""\
        - after_polls: 1
          status: in_progress
        - at: 30s
          status: failed
""")
    assert mka1.get_run(run_id=run_id).status == "queued"
    ctl.advance(40)
    run = mka1.get_run(run_id=run_id)
    assert run.status == "failed"
    assert run.started_at == START + 40 and run.failed_at == START + 40  # not 30: that would be before it started
