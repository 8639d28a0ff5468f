"""Contract tests: coding-agent (harness) runs -- import, streaming appends, leaderboards, token backfill.

Every call goes through the official SDK (meetkai-mka1 0.12.128) in process, strictly validated against the SDK's
own response models (tests/strict.py). The `suite` fixture has tasks faq (qa), intent (classification) and calls
(transcription). The clock is manual.
"""

from __future__ import annotations

import math

import pytest
from meetkai_mka1.errors import SDKDefaultError

from tests.strict import expect_error

ALL_TASKS = {"faq", "intent", "calls"}


# ---- helpers ------------------------------------------------------------------------------------------------


def trial(task: str, index: int, reward: float | None, **extra) -> dict:
    """A harness trial; reward None means a failed trial (no score at all)."""
    t = {"task_id": task, "sample_index": index, **extra}
    if reward is None:
        t["status"] = "failed"
        t.setdefault("error", {"type": "VerifierError", "message": "verifier crashed"})
    else:
        t["scores"] = {"reward": reward, **t.pop("scores", {})}
    return t


def samples_of(mka1, run_id: str):
    page = mka1.list_samples(run_id=run_id, limit=500)
    assert page.has_more is False
    return page.data


def run_state(mka1, run_id: str):
    """Everything a user can read about a run and its samples, for before/after comparisons."""
    return mka1.get_run(run_id=run_id).model_dump(), [s.model_dump() for s in samples_of(mka1, run_id)]


def wald(p: float, n: int) -> tuple[float, float, float]:
    margin = 1.96 * math.sqrt(p * (1 - p) / n)
    return max(0.0, p - margin), min(1.0, p + margin), margin


# ---- import_agent_run ---------------------------------------------------------------------------------------

FULL_JOB = [
    trial("faq", 0, 1.0, input_tokens=100, output_tokens=10, cached_tokens=40, reasoning_tokens=5, cost_usd=0.10,
          prompt="Fix the failing parser test", output_text="1 passed"),
    # an agent timeout is still a completed, scored trial that carries its exception in `error`
    trial("faq", 1, 0.0, input_tokens=50, output_tokens=5, cached_tokens=0, cost_usd=0.05,
          error={"type": "AgentTimeoutError", "message": "agent timed out after 900 s"}),
    trial("intent", 0, 1.0, input_tokens=200, output_tokens=20, cached_tokens=60, cost_usd=0.20),
    trial("calls", 0, None),
]


def test_import_records_a_completed_run(mka1, control, suite):
    now = control.now()
    run = mka1.import_agent_run(
        suite_id=suite.id, agent_name="omp", agent_version="2.0.1", agent_effort="xhigh", model="claude-x",
        cost_usd=1.25, created_at=int(now) - 3600, metadata={"job": "nightly-17"}, trials=FULL_JOB,
    )
    assert run.object == "eval.run"
    assert run.id.startswith("eval_run_")
    assert run.status == "completed"
    assert run.suite_id == suite.id and run.suite_version == 1
    assert (run.agent_name, run.agent_version, run.agent_effort) == ("omp", "2.0.1", "xhigh")
    assert run.models == ["claude-x"]
    assert run.task_ids is None, "trials cover every task of the version"
    assert run.metadata == {"job": "nightly-17"}
    assert run.cost_usd == pytest.approx(1.25)
    assert (run.tokens.input, run.tokens.output, run.tokens.cached, run.tokens.reasoning) == (350, 35, 100, 5)
    assert (run.request_counts.total, run.request_counts.completed, run.request_counts.failed) == (4, 3, 1)
    assert run.metrics["reward"] == pytest.approx(2 / 3, abs=1e-4)
    assert run.created_at == int(now) - 3600
    assert run.completed_at is not None and run.completed_at >= run.created_at
    assert run.cancelled_at is None and run.failed_at is None and run.error is None

    # the same run is what get_run and the overview read
    assert mka1.get_run(run_id=run.id).model_dump() == run.model_dump()
    ov = mka1.get_run_overview(run_id=run.id)
    assert (ov.agent_name, ov.agent_version, ov.agent_effort) == ("omp", "2.0.1", "xhigh")
    assert (ov.trials.total, ov.trials.completed, ov.trials.failed) == (4, 3, 1)
    assert ov.trials.errored == 2, "errored overlaps failed: the timed-out trial is completed but errored"
    assert ov.avg_reward == pytest.approx(2 / 3, abs=1e-4)
    assert ov.cost_usd == pytest.approx(1.25)

    samples = samples_of(mka1, run.id)
    assert sorted((s.task_id, s.sample_index, s.status) for s in samples) == [
        ("calls", 0, "failed"), ("faq", 0, "completed"), ("faq", 1, "completed"), ("intent", 0, "completed")]
    by_key = {(s.task_id, s.sample_index): s for s in samples}
    first = by_key[("faq", 0)]
    assert first.model == "claude-x" and first.run_id == run.id
    assert first.prompt == "Fix the failing parser test" and first.output_text == "1 passed"
    assert first.scores == {"reward": 1.0}
    assert (first.input_tokens, first.output_tokens, first.cached_tokens, first.reasoning_tokens) == (100, 10, 40, 5)
    assert first.cost_usd == pytest.approx(0.10)
    assert first.tokens_estimated is False
    assert by_key[("faq", 1)].error["type"] == "AgentTimeoutError" and by_key[("faq", 1)].scores == {"reward": 0.0}
    assert by_key[("calls", 0)].scores == {} and by_key[("calls", 0)].error["message"] == "verifier crashed"


@pytest.mark.parametrize(
    "run_cost, trials, expected",
    [
        (1.25, FULL_JOB, 1.25),
        (None, FULL_JOB, 0.35),  # falls back to the sum of the trials' own costs
        (None, [trial("faq", 0, 1.0), trial("intent", 0, 0.0)], None),
        (0.5, [trial("faq", 0, 1.0)], 0.5),
    ],
    ids=["run-cost", "trial-sum", "no-cost", "run-cost-no-trial-cost"],
)
def test_import_cost_usd(mka1, suite, run_cost, trials, expected):
    kwargs = {"cost_usd": run_cost} if run_cost is not None else {}
    run = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", trials=trials, **kwargs)
    if expected is None:
        assert run.cost_usd is None
    else:
        assert run.cost_usd == pytest.approx(expected)


def test_import_tokens_are_null_when_no_trial_reported_them(mka1, suite):
    run = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1",
                                trials=[trial("faq", 0, 1.0), trial("intent", 0, 0.0)])
    assert (run.tokens.input, run.tokens.output, run.tokens.cached, run.tokens.reasoning) == (None, None, None, None)


@pytest.mark.parametrize(
    "tasks, expected",
    [
        (["faq", "intent", "calls"], None),
        (["calls", "faq", "intent", "faq"], None),
        (["faq"], ["faq"]),
        (["faq", "calls", "faq"], ["calls", "faq"]),
    ],
)
def test_import_task_ids_null_only_when_every_task_is_covered(mka1, suite, tasks, expected):
    trials = [trial(t, i, 1.0) for i, t in enumerate(tasks)]
    run = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", trials=trials)
    if expected is None:
        assert run.task_ids is None
    else:
        assert isinstance(run.task_ids, list)
        assert sorted(run.task_ids) == expected


def test_import_sample_index_defaults_to_position(mka1, suite):
    trials = [{"task_id": "faq", "scores": {"reward": 1.0}}, {"task_id": "faq", "scores": {"reward": 0.0}},
              {"task_id": "intent", "scores": {"reward": 1.0}}]
    run = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", trials=trials)
    got = sorted((s.task_id, s.sample_index, s.scores["reward"]) for s in samples_of(mka1, run.id))
    assert got == [("faq", 0, 1.0), ("faq", 1, 0.0), ("intent", 2, 1.0)]


def test_import_rejects_unknown_task_ids(mka1, suite):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1",
                              trials=[trial("faq", 0, 1.0), trial("fqa", 0, 1.0)])
    expect_error(exc, 400, "fqa")
    assert mka1.list_runs(suite_id=suite.id).data == [], "nothing was imported"


def test_import_into_an_unknown_suite_is_404(mka1):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.import_agent_run(suite_id="eval_suite_missing", agent_name="omp", model="m1",
                              trials=[trial("faq", 0, 1.0)])
    expect_error(exc, 404, "eval_suite_missing")


def test_import_idempotency_key_returns_the_first_run(mka1, suite):
    first = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", idempotency_key="job-42",
                                  trials=[trial("faq", 0, 1.0), trial("intent", 0, 0.0)])
    before = run_state(mka1, first.id)
    again = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", idempotency_key="job-42",
                                  trials=[trial("faq", 0, 0.0), trial("faq", 1, 0.0), trial("calls", 0, 1.0)])
    assert again.id == first.id
    assert again.request_counts.total == 2, "the retried upload did not double (or replace) the trials"
    assert run_state(mka1, first.id) == before
    other = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", idempotency_key="job-43",
                                  trials=[trial("faq", 0, 1.0)])
    assert other.id != first.id
    assert {r.id for r in mka1.list_runs(suite_id=suite.id).data} == {first.id, other.id}


# ---- finalize=False and append_agent_trials -----------------------------------------------------------------


def open_run(mka1, suite, **kwargs):
    kwargs.setdefault("trials", [trial("faq", 0, 1.0, input_tokens=10, output_tokens=2),
                                 trial("faq", 1, 0.0, input_tokens=12, output_tokens=3)])
    return mka1.import_agent_run(suite_id=suite.id, agent_name="omp", agent_effort="medium", model="m1",
                                 finalize=False, **kwargs)


def test_finalize_false_opens_an_in_progress_run_that_stays_open(mka1, control, suite):
    run = open_run(mka1, suite, expected_trials=6)
    assert run.status == "in_progress"
    assert run.started_at is not None and run.completed_at is None
    assert run.request_counts.total == 6, "expected_trials sets the total up front"
    assert run.request_counts.completed == 2 and run.request_counts.failed == 0
    assert (run.tokens.input, run.tokens.output) == (None, None), "run totals are summed when it finalizes"
    control.advance(3600)
    later = mka1.get_run(run_id=run.id)
    assert later.status == "in_progress"
    assert later.completed_at is None
    control.advance(7 * 86400)
    assert mka1.get_run(run_id=run.id).status == "in_progress"
    # an open run is off the boards
    assert mka1.get_suite_leaderboard(suite_id=suite.id).data == []
    board = mka1.list_suite_leaderboard_runs(suite_id=suite.id)
    assert board.data == [] and board.groups == []


def test_append_upserts_and_finalize_completes(mka1, control, suite):
    run = open_run(mka1, suite)
    ids_before = {(s.task_id, s.sample_index): s.id for s in samples_of(mka1, run.id)}
    control.advance(30)

    appended = mka1.append_agent_trials(run_id=run.id, trials=[
        trial("intent", 0, 1.0, input_tokens=20, output_tokens=4),
        trial("faq", 1, 1.0, input_tokens=30, output_tokens=6),  # replaces the earlier faq/1 (reward 0)
    ])
    assert appended.id == run.id and appended.status == "in_progress"
    assert appended.request_counts.total == 3 and appended.request_counts.completed == 3
    assert appended.metrics["reward"] == pytest.approx(1.0)
    samples = samples_of(mka1, run.id)
    assert len(samples) == 3
    by_key = {(s.task_id, s.sample_index): s for s in samples}
    assert by_key[("faq", 1)].scores == {"reward": 1.0}
    assert by_key[("faq", 1)].input_tokens == 30
    assert by_key[("faq", 1)].id == ids_before[("faq", 1)], "an upsert replaces the row in place"
    assert by_key[("faq", 0)].id == ids_before[("faq", 0)]

    # a replayed batch replaces rather than duplicates: nothing moves
    state = run_state(mka1, run.id)
    replay = mka1.append_agent_trials(run_id=run.id, trials=[
        trial("intent", 0, 1.0, input_tokens=20, output_tokens=4),
        trial("faq", 1, 1.0, input_tokens=30, output_tokens=6),
    ])
    assert replay.request_counts.total == 3
    assert [s.model_dump() for s in samples_of(mka1, run.id)] == state[1]

    control.advance(30)
    done = mka1.append_agent_trials(run_id=run.id, trials=[], finalize=True)
    assert done.status == "completed"
    assert done.completed_at is not None and done.completed_at >= done.started_at
    assert done.request_counts.total == 3 and done.request_counts.completed == 3
    assert (done.tokens.input, done.tokens.output) == (60, 12)
    assert sorted(done.task_ids) == ["faq", "intent"]
    assert mka1.get_run(run_id=run.id).status == "completed"
    board = mka1.get_suite_leaderboard(suite_id=suite.id)
    assert [(r.agent_name, r.model, r.agent_effort, r.trials, r.accuracy) for r in board.data] == [
        ("omp", "m1", "medium", 3, pytest.approx(1.0))]


def test_append_with_trials_and_finalize_in_one_call(mka1, suite):
    run = open_run(mka1, suite, trials=[])
    done = mka1.append_agent_trials(run_id=run.id, finalize=True, trials=[
        trial(t, 0, 1.0) for t in ("faq", "intent", "calls")])
    assert done.status == "completed"
    assert done.task_ids is None
    assert done.request_counts.total == 3


def test_append_rejects_unknown_task_ids(mka1, suite):
    run = open_run(mka1, suite)
    before = run_state(mka1, run.id)
    with pytest.raises(SDKDefaultError) as exc:
        mka1.append_agent_trials(run_id=run.id, trials=[trial("faq", 5, 1.0), trial("nope", 0, 1.0)])
    expect_error(exc, 400, "nope")
    assert run_state(mka1, run.id) == before


def _completed_import(mka1, control, suite):
    return mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", trials=[trial("faq", 0, 1.0)])


def _finalized_stream(mka1, control, suite):
    run = open_run(mka1, suite)
    mka1.append_agent_trials(run_id=run.id, finalize=True)
    return run


def _cancelled_stream(mka1, control, suite):
    run = open_run(mka1, suite)
    mka1.cancel_run(run_id=run.id)
    control.advance(10)
    return run


@pytest.mark.parametrize(
    "make, status",
    [(_completed_import, "completed"), (_finalized_stream, "completed"), (_cancelled_stream, "cancelled")],
    ids=["imported-completed", "finalized-stream", "cancelled-stream"],
)
@pytest.mark.parametrize("finalize", [False, True])
def test_append_to_a_closed_run_is_409_and_changes_nothing(mka1, control, suite, make, status, finalize):
    run = make(mka1, control, suite)
    before = run_state(mka1, run.id)
    assert before[0]["status"] == status
    with pytest.raises(SDKDefaultError) as exc:
        mka1.append_agent_trials(run_id=run.id, trials=[trial("faq", 0, 0.0), trial("intent", 3, 1.0)],
                                 finalize=finalize)
    expect_error(exc, 409, status)
    assert run_state(mka1, run.id) == before


@pytest.mark.parametrize("advance, status", [(10, "in_progress"), (60, "completed")])
def test_append_to_a_generated_run_is_409(mka1, control, suite, advance, status):
    run = mka1.create_run(suite_id=suite.id, models=["m1"], max_samples_per_task=2)
    control.advance(advance)
    before = run_state(mka1, run.id)
    assert before[0]["status"] == status
    with pytest.raises(SDKDefaultError) as exc:
        mka1.append_agent_trials(run_id=run.id, trials=[trial("faq", 0, 1.0)])
    expect_error(exc, 409, run.id)
    assert run_state(mka1, run.id) == before


def test_append_to_an_unknown_run_is_404(mka1):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.append_agent_trials(run_id="eval_run_missing", trials=[trial("faq", 0, 1.0)])
    expect_error(exc, 404, "eval_run_missing")


# ---- get_suite_leaderboard ----------------------------------------------------------------------------------


def _import(mka1, control, suite, agent, model, effort, trials, *, version=None, cost=None, advance=10, **kw):
    control.advance(advance)
    kwargs = {"agent_version": version, "agent_effort": effort, "cost_usd": cost, **kw}
    return mka1.import_agent_run(suite_id=suite.id, agent_name=agent, model=model, trials=trials,
                                 **{k: v for k, v in kwargs.items() if v is not None})


def timing(seconds: float) -> dict:
    return {"agent_execution": {"started_at": "2026-01-01T00:00:00Z",
                                "finished_at": f"2026-01-01T00:00:{seconds:06.3f}Z"}}


@pytest.fixture
def board(mka1, control, suite):
    """Agent runs of several (agent, model, effort) rows, plus runs that must not count."""
    runs = {}
    runs["A1"] = _import(mka1, control, suite, "aider", "m1", "high", [
        trial("faq", 0, 1.0, input_tokens=100, output_tokens=10, cached_tokens=50, scores={"resolved": 1.0}),
        trial("faq", 1, 1.0, input_tokens=100, output_tokens=10, cached_tokens=50, scores={"resolved": 0.0}),
        trial("faq", 2, 0.0, input_tokens=100, output_tokens=10, cached_tokens=50),
        trial("intent", 0, None),
    ], version="1.0", cost=1.0)
    runs["A2"] = _import(mka1, control, suite, "aider", "m1", "high", [
        trial("faq", 0, 1.0, input_tokens=40, output_tokens=4), trial("intent", 0, 1.0)], version="1.1")
    runs["A3"] = _import(mka1, control, suite, "aider", "m1", "high", [
        trial("faq", 0, 0.0), trial("faq", 1, 1.0), trial("intent", 0, 1.0), trial("calls", 0, 0.0),
    ], version="1.2", cost=2.0)
    runs["B"] = _import(mka1, control, suite, "aider", "m1", "low", [
        trial("faq", 0, 1.0, phase_timings=timing(30.0)), trial("faq", 1, 1.0, phase_timings=timing(12.5))],
        version="1.2")
    runs["C"] = _import(mka1, control, suite, "codex", "m2", None, [
        trial("faq", 0, 0.0, cost_usd=0.1), trial("faq", 1, 0.0, cost_usd=0.2), trial("faq", 2, 1.0, cost_usd=0.3)])
    runs["E"] = _import(mka1, control, suite, "aider", "m0", "high", [
        trial("faq", 0, 1.0), trial("faq", 1, 0.0), trial("faq", 2, 0.0)])
    runs["D"] = _import(mka1, control, suite, "zed", "m1", "high", [trial("faq", 0, None), trial("faq", 1, None)])
    # trajectories: steps are summed per row over the sessions actually uploaded
    mka1.upload_sample_trajectory(run_id=runs["A1"].id, sample_index=0, task_id="faq", steps=[{}] * 5)
    mka1.upload_sample_trajectory(run_id=runs["A3"].id, sample_index=1, task_id="faq", steps=[{}] * 7)
    # must not count: a run still streaming, and a generated (non-agent) run
    control.advance(10)
    mka1.import_agent_run(suite_id=suite.id, agent_name="aider", model="m1", agent_effort="high", finalize=False,
                          trials=[trial("faq", 0, 0.0)])
    mka1.create_run(suite_id=suite.id, models=["m1"], max_samples_per_task=2)
    control.advance(60)
    return runs


def row_key(row):
    return (row.agent_name, row.model, row.agent_effort)


def test_leaderboard_rows(mka1, suite, board):
    lb = mka1.get_suite_leaderboard(suite_id=suite.id)
    assert lb.object == "eval.leaderboard"
    assert lb.suite_id == suite.id and lb.suite_version is None and lb.metric == "reward"
    # one row per (agent, model, effort); ordered by accuracy desc, ties by agent/model/effort, nulls last
    assert [row_key(r) for r in lb.data] == [
        ("aider", "m1", "low"),     # 1.0
        ("aider", "m1", "high"),    # 6/9
        ("aider", "m0", "high"),    # 1/3 (tie with codex: agent name decides)
        ("codex", "m2", None),      # 1/3
        ("zed", "m1", "high"),      # null: nothing scored
    ]
    rows = {row_key(r): r for r in lb.data}

    a = rows[("aider", "m1", "high")]
    assert a.trials == 10 and a.scored_trials == 9 and a.failed_trials == 1 and a.solved_trials == 6
    assert a.accuracy == pytest.approx(6 / 9, abs=1e-4)
    low, high, margin = wald(6 / 9, 9)
    assert (a.accuracy_ci.low, a.accuracy_ci.high, a.accuracy_ci.margin) == (
        pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4), pytest.approx(margin, abs=1e-4))
    assert a.run_count == 3
    # largest (most trials) first, ties newest first: A3 and A1 have 4 trials, A3 is newer; A2 has 2
    assert a.run_ids == [board["A3"].id, board["A1"].id, board["A2"].id]
    assert a.agent_version == "1.2", "version of the row's newest run"
    assert a.last_run_at == board["A3"].created_at
    assert a.cost_usd == pytest.approx(3.0), "no trial cost: the runs' own totals"
    assert (a.input_tokens, a.output_tokens, a.cached_tokens) == (340, 34, 150)
    assert a.steps == 12
    assert a.agent_seconds is None and a.timed_trials == 0

    b = rows[("aider", "m1", "low")]
    assert (b.accuracy, b.trials, b.scored_trials, b.solved_trials, b.failed_trials) == (1.0, 2, 2, 2, 0)
    assert (b.accuracy_ci.low, b.accuracy_ci.high, b.accuracy_ci.margin) == (1.0, 1.0, 0.0)
    assert b.run_ids == [board["B"].id] and b.run_count == 1
    assert b.cost_usd is None, "neither trials nor runs reported cost"
    assert b.input_tokens is None and b.output_tokens is None and b.cached_tokens is None
    assert b.steps is None, "no trajectory uploaded in this row"
    assert b.agent_seconds == pytest.approx(42.5) and b.timed_trials == 2

    c = rows[("codex", "m2", None)]
    assert c.accuracy == pytest.approx(1 / 3, abs=1e-4)
    low, high, margin = wald(1 / 3, 3)
    assert low == 0.0, "the interval is clamped at 0"
    assert (c.accuracy_ci.low, c.accuracy_ci.high, c.accuracy_ci.margin) == (
        0.0, pytest.approx(high, abs=1e-4), pytest.approx(margin, abs=1e-4))
    assert c.cost_usd == pytest.approx(0.6), "summed trial spend"
    assert c.solved_trials == 1 and c.agent_version is None

    d = rows[("zed", "m1", "high")]
    assert d.accuracy is None and d.accuracy_ci is None
    assert (d.trials, d.scored_trials, d.failed_trials, d.solved_trials) == (2, 0, 2, 0)


def test_leaderboard_solved_counts_only_full_credit(mka1, control, suite):
    _import(mka1, control, suite, "omp", "m1", None, [
        trial("faq", 0, 1.0), trial("faq", 1, 0.5), trial("faq", 2, 0.99), trial("faq", 3, 0.0)])
    (row,) = mka1.get_suite_leaderboard(suite_id=suite.id).data
    assert row.solved_trials == 1
    assert row.scored_trials == 4
    assert row.accuracy == pytest.approx((1.0 + 0.5 + 0.99 + 0.0) / 4, abs=1e-4)


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"agent": "aider"}, [("aider", "m1", "low"), ("aider", "m1", "high"), ("aider", "m0", "high")]),
        ({"model": "m1"}, [("aider", "m1", "low"), ("aider", "m1", "high"), ("zed", "m1", "high")]),
        ({"agent": "aider", "model": "m1"}, [("aider", "m1", "low"), ("aider", "m1", "high")]),
        ({"agent": "codex", "model": "m1"}, []),
        ({"agent": "nobody"}, []),
    ],
)
def test_leaderboard_filters(mka1, suite, board, filters, expected):
    lb = mka1.get_suite_leaderboard(suite_id=suite.id, **filters)
    assert [row_key(r) for r in lb.data] == expected


def test_leaderboard_metric_param(mka1, suite, board):
    lb = mka1.get_suite_leaderboard(suite_id=suite.id, metric="resolved")
    assert lb.metric == "resolved"
    rows = {row_key(r): r for r in lb.data}
    assert len(rows) == 5, "rows do not depend on the metric"
    a = rows[("aider", "m1", "high")]
    assert a.accuracy == pytest.approx(0.5) and a.scored_trials == 2 and a.solved_trials == 1
    assert a.trials == 10
    low, high, margin = wald(0.5, 2)
    assert (a.accuracy_ci.low, a.accuracy_ci.high) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))
    # every other row has no `resolved` value: accuracy null, and they follow in agent/model/effort order
    assert row_key(lb.data[0]) == ("aider", "m1", "high")
    rest = lb.data[1:]
    assert all(r.accuracy is None and r.accuracy_ci is None and r.scored_trials == 0 for r in rest)
    assert [row_key(r) for r in rest] == [
        ("aider", "m0", "high"), ("aider", "m1", "low"), ("codex", "m2", None), ("zed", "m1", "high")]


def test_leaderboard_agent_version_does_not_split_rows(mka1, control, suite):
    _import(mka1, control, suite, "omp", "m1", "medium", [trial("faq", 0, 1.0)], version="1.0")
    newest = _import(mka1, control, suite, "omp", "m1", "medium", [trial("faq", 0, 0.0)], version="2.0")
    _import(mka1, control, suite, "omp", "m1", "high", [trial("faq", 0, 1.0)], version="2.0")
    lb = mka1.get_suite_leaderboard(suite_id=suite.id)
    assert [(row_key(r), r.run_count) for r in lb.data] == [
        (("omp", "m1", "high"), 1), (("omp", "m1", "medium"), 2)]
    medium = lb.data[1]
    assert medium.agent_version == "2.0" and medium.accuracy == pytest.approx(0.5)
    assert medium.run_ids[0] == newest.id, "equal trial counts: newest first"


def test_leaderboard_of_an_unknown_suite_is_404(mka1):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.get_suite_leaderboard(suite_id="eval_suite_missing")
    expect_error(exc, 404, "eval_suite_missing")


# ---- list_suite_leaderboard_runs ----------------------------------------------------------------------------


@pytest.fixture
def ranked(mka1, control, suite):
    """A generated run and imported runs over several (model, task) groups, oldest to newest."""
    runs = {}
    runs["G"] = mka1.create_run(suite_id=suite.id, models=["m0"], task_ids=["calls"], max_samples_per_task=2)
    control.advance(60)
    every = [trial(t, 0, 1.0) for t in ("faq", "intent", "calls")]
    runs["A"] = _import(mka1, control, suite, "omp", "m1", None, every)
    runs["B"] = _import(mka1, control, suite, "omp", "m1", None, [trial("faq", 0, 1.0)])
    runs["C"] = _import(mka1, control, suite, "omp", "m0", None, [trial("intent", 0, 0.0)])
    runs["D"] = _import(mka1, control, suite, "omp", "m1", None, every)
    runs["E"] = _import(mka1, control, suite, "omp", "m1", None, [trial("faq", 0, 1.0), trial("intent", 0, 1.0)])
    # not completed: never ranked
    _import(mka1, control, suite, "omp", "m1", None, every, finalize=False)
    mka1.create_run(suite_id=suite.id, models=["m1"], max_samples_per_task=2)
    assert mka1.get_run(run_id=runs["G"].id).status == "completed"
    return runs


def groups_of(board, runs):
    names = {r.id: name for name, r in runs.items()}
    return [(g.model, g.task_id, g.rank, names[g.run_id]) for g in board.groups]


@pytest.mark.parametrize(
    "params, groups, data",
    [
        ({}, [("m0", "calls", 1, "G"), ("m0", "intent", 1, "C"),
              ("m1", None, 1, "D"), ("m1", None, 2, "A"),
              ("m1", "faq", 1, "E"), ("m1", "faq", 2, "B"),
              ("m1", "intent", 1, "E")],
         ["E", "D", "C", "B", "A", "G"]),
        ({"per_group": 1}, [("m0", "calls", 1, "G"), ("m0", "intent", 1, "C"), ("m1", None, 1, "D"),
                            ("m1", "faq", 1, "E"), ("m1", "intent", 1, "E")],
         ["E", "D", "C", "G"]),
        ({"model": "m0"}, [("m0", "calls", 1, "G"), ("m0", "intent", 1, "C")], ["C", "G"]),
        ({"model": "m1", "per_group": 1}, [("m1", None, 1, "D"), ("m1", "faq", 1, "E"), ("m1", "intent", 1, "E")],
         ["E", "D"]),
        ({"model": "m9"}, [], []),
    ],
    ids=["all", "per-group-1", "model-m0", "model-m1-per-group-1", "unknown-model"],
)
def test_leaderboard_runs_groups_and_data(mka1, suite, ranked, params, groups, data):
    board = mka1.list_suite_leaderboard_runs(suite_id=suite.id, **params)
    assert board.object == "eval.leaderboard_runs"
    assert groups_of(board, ranked) == groups
    names = {r.id: name for name, r in ranked.items()}
    assert [names[r.id] for r in board.data] == data, "deduplicated runs, newest first"
    assert all(r.status == "completed" for r in board.data)
    assert board.truncated is False
    assert board.next_cursor is None


def test_leaderboard_runs_rank_backfilled_imports_by_their_created_at(mka1, control, suite):
    """ImportAgentRunRequest.created_at: 'When the job ran ... set it when backfilling, since the board orders by
    this.' A job backfilled later but run earlier must not outrank a newer job."""
    now = int(control.now())
    every = [trial(t, 0, 1.0) for t in ("faq", "intent", "calls")]
    newer = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", trials=every,
                                  created_at=now - 1000)
    control.advance(10)
    older = mka1.import_agent_run(suite_id=suite.id, agent_name="omp", model="m1", trials=every,
                                  created_at=now - 5000)
    board = mka1.list_suite_leaderboard_runs(suite_id=suite.id)
    assert [(g.model, g.task_id, g.rank, g.run_id) for g in board.groups] == [
        ("m1", None, 1, newer.id), ("m1", None, 2, older.id)]
    assert [r.id for r in board.data] == [newer.id, older.id]


def test_leaderboard_runs_of_an_unknown_suite_is_404(mka1):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.list_suite_leaderboard_runs(suite_id="eval_suite_missing")
    expect_error(exc, 404, "eval_suite_missing")


# ---- measure_suite_tokens -----------------------------------------------------------------------------------


def text_trial(task: str, index: int, words: int) -> dict:
    return trial(task, index, 1.0, prompt=f"Task {task} number {index}: make the tests pass.",
                 output_text=" ".join(["word"] * words) + ".")


@pytest.fixture
def unmeasured(mka1, control, suite):
    """Three completed imports with unmeasured text, and runs measure must leave alone."""
    runs = [
        _import(mka1, control, suite, "omp", "m1", None, [
            text_trial("faq", 0, 3), text_trial("faq", 1, 40),
            trial("intent", 0, 1.0, prompt="measured", output_text="already", input_tokens=100, output_tokens=20),
        ]),
        _import(mka1, control, suite, "omp", "m1", None, [text_trial("faq", 0, 5), text_trial("intent", 0, 6)]),
        _import(mka1, control, suite, "omp", "m1", None, [
            text_trial("calls", 0, 2), trial("faq", 0, 0.0)]),  # the second trial has no text at all
    ]
    # left alone: a streaming run (not completed), a fully measured import, a generated run
    _import(mka1, control, suite, "omp", "m1", None, [text_trial("faq", 0, 4)], finalize=False)
    _import(mka1, control, suite, "omp", "m1", None, [
        trial("faq", 0, 1.0, output_text="done", input_tokens=7, output_tokens=1)])
    mka1.create_run(suite_id=suite.id, models=["m1"], max_samples_per_task=2)
    control.advance(60)
    return runs


def measurable(samples):
    return [s for s in samples if s.output_tokens is None and s.output_text]


def test_measure_tokens_backfills_oldest_run_id_first(mka1, suite, unmeasured):
    order = sorted(unmeasured, key=lambda r: r.id)
    expected_samples = {r.id: len(measurable(samples_of(mka1, r.id))) for r in order}
    assert list(expected_samples.values()) and all(expected_samples.values())
    measured: list[str] = []
    for step, run in enumerate(order):
        result = mka1.measure_suite_tokens(suite_id=suite.id, limit=1)
        assert result.object == "eval.suite.token_measurement"
        assert result.suite_id == suite.id
        assert result.measured_runs == 1
        assert result.measured_samples == expected_samples[run.id]
        assert result.remaining_runs == len(order) - step - 1
        measured.append(run.id)
        for other in order:
            estimated = [s.tokens_estimated for s in samples_of(mka1, other.id)]
            if other.id in measured:
                assert any(estimated), f"run {other.id} should be measured after step {step}"
            else:
                assert not any(estimated), f"run {other.id} measured out of order at step {step}"
    # nothing left: a no-op
    again = mka1.measure_suite_tokens(suite_id=suite.id)
    assert (again.measured_runs, again.measured_samples, again.remaining_runs) == (0, 0, 0)


def test_measure_tokens_limit_and_repeat_until_done(mka1, suite, unmeasured):
    first = mka1.measure_suite_tokens(suite_id=suite.id, limit=2)
    assert (first.measured_runs, first.remaining_runs) == (2, 1)
    second = mka1.measure_suite_tokens(suite_id=suite.id, limit=2)
    assert (second.measured_runs, second.remaining_runs) == (1, 0)
    assert first.measured_samples + second.measured_samples == 2 + 2 + 1
    third = mka1.measure_suite_tokens(suite_id=suite.id, limit=2)
    assert (third.measured_runs, third.measured_samples, third.remaining_runs) == (0, 0, 0)


def test_measured_samples_show_estimated_tokens_and_runs_refresh_totals(mka1, suite, unmeasured):
    r1 = unmeasured[0]
    assert mka1.get_run(run_id=r1.id).tokens.output == 20, "before: only the provider-measured trial"
    while mka1.measure_suite_tokens(suite_id=suite.id, limit=5).remaining_runs:
        pass
    samples = {(s.task_id, s.sample_index): s for s in samples_of(mka1, r1.id)}
    short, long_ = samples[("faq", 0)], samples[("faq", 1)]
    for s in (short, long_):
        assert s.tokens_estimated is True
        assert s.input_tokens > 0 and s.output_tokens > 0
    assert long_.output_tokens > short.output_tokens, "a 40-word answer counts more tokens than a 3-word one"
    provider = samples[("intent", 0)]
    assert provider.tokens_estimated is False
    assert (provider.input_tokens, provider.output_tokens) == (100, 20), "already measured rows are left alone"
    run = mka1.get_run(run_id=r1.id)
    assert run.tokens.input == sum(s.input_tokens for s in samples.values())
    assert run.tokens.output == sum(s.output_tokens for s in samples.values())

    no_text = next(s for s in samples_of(mka1, unmeasured[2].id) if s.task_id == "faq")
    assert no_text.tokens_estimated is False, "a sample with no text stays unmeasured"
    assert no_text.input_tokens is None and no_text.output_tokens is None


def test_measure_tokens_leaves_samples_without_answer_or_reasoning_text(mka1, control, suite):
    """'For samples ... that have answer or reasoning text but no token figure': a prompt alone is not enough."""
    run = _import(mka1, control, suite, "omp", "m1", None, [
        trial("faq", 0, None, prompt="Make the tests pass")])
    result = mka1.measure_suite_tokens(suite_id=suite.id)
    assert (result.measured_runs, result.measured_samples, result.remaining_runs) == (0, 0, 0)
    (sample,) = samples_of(mka1, run.id)
    assert sample.tokens_estimated is False and sample.output_tokens is None


def test_measure_tokens_is_a_noop_on_a_suite_with_nothing_to_measure(mka1, control, suite):
    mka1.create_run(suite_id=suite.id, models=["m1"], max_samples_per_task=2)
    control.advance(60)
    _import(mka1, control, suite, "omp", "m1", None, [trial("faq", 0, 1.0, output_text="ok", output_tokens=1)])
    result = mka1.measure_suite_tokens(suite_id=suite.id)
    assert (result.suite_id, result.measured_runs, result.measured_samples, result.remaining_runs) == (
        suite.id, 0, 0, 0)


def test_measure_tokens_of_an_unknown_suite_is_404(mka1):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.measure_suite_tokens(suite_id="eval_suite_missing")
    expect_error(exc, 404, "eval_suite_missing")
