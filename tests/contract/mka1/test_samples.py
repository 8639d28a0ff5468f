"""Contract tests: samples of an eval run, their audio and trajectories, run artifacts and the run overview.

Every call goes through the official SDK (meetkai-mka1 0.12.128) in process, strictly validated against the SDK's
own response models (tests/strict.py). The clock is manual: a fresh run is queued for 2 s, generates its samples
one after another over 40 s, finalizes for 3 s and is completed 45 s after creation.
"""

from __future__ import annotations

import base64
import json
import math

import pytest
from meetkai_mka1.errors import SDKDefaultError

from tests.strict import expect_error

MODELS = ["m-a", "m-b"]
TASKS = ["faq", "intent", "calls"]  # the `suite` fixture: qa, classification, transcription (audio_column "clip")
PER_TASK = 4
TOTAL = len(TASKS) * len(MODELS) * PER_TASK  # 24
INTENT_LABELS = {"billing", "shipping", "returns"}
FINISHED = {"completed", "failed"}
MiB = 1024 * 1024


# ---- helpers ------------------------------------------------------------------------------------------------


def all_samples(mka1, run_id: str, **filters):
    page = mka1.list_samples(run_id=run_id, limit=500, **filters)
    assert page.has_more is False
    return page.data


def new_run(mka1, suite, **kwargs):
    kwargs.setdefault("models", MODELS)
    kwargs.setdefault("max_samples_per_task", PER_TASK)
    return mka1.create_run(suite_id=suite.id, **kwargs)


def completed_run(mka1, control, suite, **kwargs):
    run = new_run(mka1, suite, **kwargs)
    control.advance(60)
    run = mka1.get_run(run_id=run.id)
    assert run.status == "completed"
    return run


@pytest.fixture
def done(mka1, control, suite):
    """A completed run over the 3 tasks x 2 models x 4 samples, and its samples."""
    run = completed_run(mka1, control, suite)
    return run, all_samples(mka1, run.id)


def reward_of(sample, metric: str = "reward"):
    value = sample.scores.get(metric)
    return None if value is None else float(value)


# ---- list_samples: what a sample says -----------------------------------------------------------------------


def test_samples_of_a_completed_run_cover_every_task_model_and_index(mka1, done):
    run, samples = done
    assert len(samples) == TOTAL
    assert len({s.id for s in samples}) == TOTAL, "sample ids are unique"
    assert {(s.task_id, s.model, s.sample_index) for s in samples} == {
        (t, m, i) for t in TASKS for m in MODELS for i in range(PER_TASK)
    }
    for s in samples:
        assert s.run_id == run.id
        assert s.object == "eval.sample"
        assert s.id.startswith("eval_sample_")
        assert s.status in FINISHED
        assert isinstance(s.prompt, str) and s.prompt
        assert isinstance(s.target, str) and s.target
        assert isinstance(s.dataset_row, dict) and s.dataset_row
        assert run.created_at <= s.created_at
        assert s.created_at <= s.started_at <= s.completed_at <= run.completed_at
        assert s.cost_usd is None, "cost_usd is null outside harness runs"
    # the classification task's target is one of its declared choices
    assert {s.target for s in samples if s.task_id == "intent"} <= INTENT_LABELS
    # every (task, index) row is the same dataset row for both models
    for task in TASKS:
        for i in range(PER_TASK):
            pair = [s for s in samples if s.task_id == task and s.sample_index == i]
            assert len(pair) == 2
            assert pair[0].prompt == pair[1].prompt and pair[0].target == pair[1].target


def test_completed_samples_carry_scores_and_output_failed_ones_an_error(mka1, done):
    run, samples = done
    completed = [s for s in samples if s.status == "completed"]
    failed = [s for s in samples if s.status == "failed"]
    assert completed and failed, "the emulator fails at least one sample per fresh run"
    assert len(completed) + len(failed) == TOTAL
    for s in completed:
        assert 0.0 <= reward_of(s) <= 1.0
        assert isinstance(s.output_text, str) and s.output_text
        assert s.error is None
        assert s.input_tokens > 0 and s.output_tokens > 0
        assert s.tokens_estimated is False
        if s.task_id == "faq":  # the manifest declares an exact_match metric for faq
            assert "exact_match" in s.scores
    for s in failed:
        assert s.scores == {}, "a failed sample produced no score"
        assert s.output_text is None
        assert isinstance(s.error, dict) and isinstance(s.error.get("message"), str) and s.error["message"]
    # binary tasks score 0 or 1
    assert {reward_of(s) for s in completed if s.task_id in ("faq", "intent")} <= {0.0, 1.0}


def test_sample_ids_and_contents_are_stable_across_reads(mka1, done):
    run, samples = done
    again = all_samples(mka1, run.id)
    assert [s.model_dump() for s in again] == [s.model_dump() for s in samples]


def test_no_samples_before_the_run_starts_then_they_finish_progressively(mka1, control, suite):
    run = new_run(mka1, suite)
    assert run.status == "queued"
    assert all_samples(mka1, run.id) == []

    control.advance(2)  # the run starts: every sample is listed, none finished yet
    assert mka1.get_run(run_id=run.id).status == "in_progress"
    first = all_samples(mka1, run.id)
    assert len(first) == TOTAL
    ids = [s.id for s in first]
    assert not any(s.status in FINISHED for s in first)
    for s in first:
        assert s.status in ("queued", "generating", "scoring")
        assert s.completed_at is None
        assert s.scores == {} and s.error is None
        if s.status == "queued":
            assert s.started_at is None

    finished_counts = []
    seen_completion: dict[str, int] = {}
    for _ in range(9):  # 2 s .. 47 s after creation, in 5 s steps
        now = control.advance(5)
        current = all_samples(mka1, run.id)
        assert [s.id for s in current] == ids, "sample ids do not change while the run progresses"
        finished = [s for s in current if s.status in FINISHED]
        finished_counts.append(len(finished))
        for s in finished:
            assert s.started_at <= s.completed_at <= now
            # a finished sample keeps its result: completed_at never moves once set
            assert seen_completion.setdefault(s.id, s.completed_at) == s.completed_at
    assert finished_counts == sorted(finished_counts), "samples only ever finish, never un-finish"
    assert any(0 < n < TOTAL for n in finished_counts), "samples finish one by one, not all at once"
    assert finished_counts[-1] == TOTAL
    assert mka1.get_run(run_id=run.id).status == "completed"


def test_list_samples_of_an_unknown_run_is_404(mka1):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.list_samples(run_id="eval_run_00000000000000000000000000000000")
    expect_error(exc, 404, "eval_run_00000000000000000000000000000000")


# ---- list_samples: filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters, keep",
    [
        ({"task_id": "intent"}, lambda s: s.task_id == "intent"),
        ({"model": "m-b"}, lambda s: s.model == "m-b"),
        ({"status": "failed"}, lambda s: s.status == "failed"),
        ({"status": "completed"}, lambda s: s.status == "completed"),
        ({"task_id": "faq", "model": "m-a"}, lambda s: s.task_id == "faq" and s.model == "m-a"),
        ({"sample_index": "2"}, lambda s: s.sample_index == 2),
        ({"sample_index": "1,3"}, lambda s: s.sample_index in (1, 3)),
        ({"sample_index": "1,3", "task_id": "calls"}, lambda s: s.sample_index in (1, 3) and s.task_id == "calls"),
    ],
    ids=["task", "model", "status-failed", "status-completed", "task+model", "index-2", "index-1,3",
         "index+task"],
)
def test_list_samples_filters(mka1, done, filters, keep):
    run, samples = done
    expected = [s.id for s in samples if keep(s)]
    assert expected, "the filter selects something"
    got = all_samples(mka1, run.id, **filters)
    assert [s.id for s in got] == expected
    assert all(keep(s) for s in got)


def test_sample_index_filter_counts(mka1, done):
    run, _ = done
    assert len(all_samples(mka1, run.id, sample_index="2")) == len(TASKS) * len(MODELS)
    assert len(all_samples(mka1, run.id, sample_index="1,3")) == 2 * len(TASKS) * len(MODELS)
    assert all_samples(mka1, run.id, sample_index="99") == []


@pytest.mark.parametrize(
    "metric, low, high",
    [
        (None, 1.0, None),
        (None, None, 0.0),
        (None, 0.2, 0.8),
        ("reward", 0.5, 1.0),
        ("exact_match", 1.0, None),
        ("exact_match", None, 0.0),
    ],
)
def test_list_samples_score_filters(mka1, done, metric, low, high):
    run, samples = done
    name = metric or "reward"

    def keep(s):
        value = reward_of(s, name)
        return value is not None and (low is None or value >= low) and (high is None or value <= high)

    expected = [s.id for s in samples if keep(s)]
    params = {k: v for k, v in {"score_metric": metric, "score_min": low, "score_max": high}.items() if v is not None}
    got = all_samples(mka1, run.id, **params)
    assert [s.id for s in got] == expected
    for s in got:
        assert s.status == "completed"
        assert name in s.scores
    if name == "exact_match":
        assert {s.task_id for s in got} <= {"faq"}, "only faq declares exact_match"


def test_score_window_on_graded_task_is_not_empty(mka1, done):
    """Transcription is graded with partial credit, so a middle window selects some (and only) such samples."""
    run, samples = done
    got = all_samples(mka1, run.id, task_id="calls", score_min=0.01, score_max=0.99)
    expected = [s.id for s in samples if s.task_id == "calls" and s.scores and 0.01 <= reward_of(s) <= 0.99]
    assert [s.id for s in got] == expected


def test_include_dataset_row_false_gives_null_rows(mka1, done):
    run, samples = done
    assert all(isinstance(s.dataset_row, dict) for s in samples)
    bare = all_samples(mka1, run.id, include_dataset_row=False)
    assert [s.id for s in bare] == [s.id for s in samples]
    assert all(s.dataset_row is None for s in bare)
    # everything else is unchanged
    assert [(s.prompt, s.target, s.scores) for s in bare] == [(s.prompt, s.target, s.scores) for s in samples]


def test_list_samples_redacts_inline_audio_in_dataset_row(mka1, done):
    """get_sample_audio reads the clip 'from the un-redacted dataset_row (list responses redact inline data: blobs)'."""
    run, samples = done
    calls = [s for s in samples if s.task_id == "calls"]
    assert calls
    for s in calls:
        clip = s.dataset_row.get("clip")
        audio = mka1.get_sample_audio(run_id=run.id, sample_index=s.sample_index, task_id="calls").audio
        assert audio.startswith("data:audio/")
        assert clip != audio, "the inline data: clip must not be returned verbatim by list_samples"
        assert len(str(clip)) < len(audio)


def test_include_reasoning(mka1, done):
    run, samples = done
    assert all(s.reasoning is None for s in samples), "reasoning is off by default"
    with_reasoning = all_samples(mka1, run.id, include_reasoning=True)
    assert [s.id for s in with_reasoning] == [s.id for s in samples]
    text_completed = [s for s in with_reasoning if s.status == "completed" and s.task_id != "calls"]
    assert text_completed
    for s in text_completed:
        assert isinstance(s.reasoning, str) and s.reasoning
    for s in with_reasoning:
        if s.status == "failed":
            assert s.reasoning is None


def test_reasoning_is_null_for_transcription_samples(mka1, done):
    """EvalSample.reasoning: 'Null when the model returned none, ... and for transcription tasks.'"""
    run, _ = done
    calls = all_samples(mka1, run.id, include_reasoning=True, task_id="calls")
    assert calls
    assert all(s.reasoning is None for s in calls)


# ---- list_samples: pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limit, filters",
    [(5, {}), (7, {}), (1, {"task_id": "intent"}), (3, {"task_id": "intent"}), (4, {"status": "completed"})],
)
def test_pagination_with_after_returns_every_sample_once(mka1, done, limit, filters):
    run, _ = done
    expected = [s.id for s in all_samples(mka1, run.id, **filters)]
    got: list[str] = []
    after = None
    pages = 0
    while True:
        page = mka1.list_samples(run_id=run.id, limit=limit, after=after, **filters)
        pages += 1
        assert 1 <= len(page.data) <= limit
        assert page.first_id == page.data[0].id and page.last_id == page.data[-1].id
        got += [s.id for s in page.data]
        if not page.has_more:
            break
        assert len(page.data) == limit, "a page that is not the last is full"
        after = page.last_id
        assert pages < 100
    assert got == expected
    assert len(set(got)) == len(got)
    assert pages == math.ceil(len(expected) / limit)
    assert pages >= 2


def test_after_an_unknown_sample_is_400(mka1, done):
    run, _ = done
    with pytest.raises(SDKDefaultError) as exc:
        mka1.list_samples(run_id=run.id, after="eval_sample_nope")
    expect_error(exc, 400, "after")


@pytest.mark.parametrize("limit, count, has_more", [(1, 1, True), (500, TOTAL, False)])
def test_limit_bounds_accepted(mka1, done, limit, count, has_more):
    run, _ = done
    page = mka1.list_samples(run_id=run.id, limit=limit)
    assert len(page.data) == count
    assert page.has_more is has_more


@pytest.mark.parametrize("limit", [0, -1, 501, 10_000])
def test_limit_out_of_bounds_is_400(mka1, done, limit):
    run, _ = done
    with pytest.raises(SDKDefaultError) as exc:
        mka1.list_samples(run_id=run.id, limit=limit)
    expect_error(exc, 400, "limit")


@pytest.mark.parametrize("value", ["abc", "1;3", "1,,3", "-1"])
def test_malformed_sample_index_filter_is_400(mka1, done, value):
    run, _ = done
    with pytest.raises(SDKDefaultError) as exc:
        mka1.list_samples(run_id=run.id, sample_index=value)
    expect_error(exc, 400, "sample_index")


# ---- get_sample_audio ---------------------------------------------------------------------------------------


def test_sample_audio_is_a_wav_data_uri_with_the_sample_echoed(mka1, done):
    run, _ = done
    audio = mka1.get_sample_audio(run_id=run.id, sample_index=2, model="m-b")
    assert audio.object == "eval.sample.audio"
    assert audio.task_id == "calls"
    assert audio.model == "m-b"
    assert audio.sample_index == 2
    prefix = "data:audio/wav;base64,"
    assert audio.audio.startswith(prefix)
    wav = base64.b64decode(audio.audio[len(prefix):], validate=True)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    # the clip is identical across models within a task; without `model` any model row may answer
    other = mka1.get_sample_audio(run_id=run.id, sample_index=2, model="m-a")
    assert other.audio == audio.audio and other.model == "m-a"
    default = mka1.get_sample_audio(run_id=run.id, sample_index=2)
    assert default.audio == audio.audio and default.model in MODELS and default.task_id == "calls"
    # a different index is a different clip
    assert mka1.get_sample_audio(run_id=run.id, sample_index=3).audio != audio.audio


def test_two_transcription_tasks_need_task_id(mka1, control):
    suite = mka1.create_suite(
        name="Speech",
        manifest={"tasks": [
            {"id": "calls_en", "type": "transcription", "dataset": {"file_id": "file_en", "audio_column": "clip"}},
            {"id": "calls_es", "type": "transcription", "dataset": {"file_id": "file_es", "audio_column": "audio"}},
            {"id": "faq", "type": "qa", "dataset": {"file_id": "file_faq"}},
        ]},
    )
    run = completed_run(mka1, control, suite, models=["m-a"], max_samples_per_task=3)
    with pytest.raises(SDKDefaultError) as exc:
        mka1.get_sample_audio(run_id=run.id, sample_index=1)
    expect_error(exc, 400, "task_id")
    en = mka1.get_sample_audio(run_id=run.id, sample_index=1, task_id="calls_en")
    es = mka1.get_sample_audio(run_id=run.id, sample_index=1, task_id="calls_es")
    assert (en.task_id, en.sample_index, en.model) == ("calls_en", 1, "m-a")
    assert (es.task_id, es.sample_index, es.model) == ("calls_es", 1, "m-a")
    assert en.audio.startswith("data:audio/wav;base64,") and es.audio.startswith("data:audio/wav;base64,")


def test_clips_differ_across_tasks_and_rows(mka1, control):
    """EvalSampleAudio.task_id: 'the clip differs across tasks' -- a client caching by index alone must see it."""
    suite = mka1.create_suite(
        name="Speech",
        manifest={"tasks": [
            {"id": "calls_en", "type": "transcription", "dataset": {"file_id": "file_en", "audio_column": "clip"}},
            {"id": "calls_es", "type": "transcription", "dataset": {"file_id": "file_es", "audio_column": "audio"}},
        ]},
    )
    run = completed_run(mka1, control, suite, models=["m-a"], max_samples_per_task=3)
    clips = {(task, i): mka1.get_sample_audio(run_id=run.id, sample_index=i, task_id=task).audio
             for task in ("calls_en", "calls_es") for i in range(3)}
    for i in range(3):
        assert clips[("calls_en", i)] != clips[("calls_es", i)], f"index {i}: same clip for both tasks"
    assert len(set(clips.values())) == len(clips), "every dataset row has its own clip"


@pytest.mark.parametrize(
    "index, params",
    [(PER_TASK, {}), (99, {"task_id": "calls"}), (0, {"task_id": "faq"}), (0, {"task_id": "intent"}),
     (0, {"task_id": "no_such_task"}), (0, {"model": "m-zzz"})],
    ids=["index-out-of-range", "index-99", "qa-task", "classification-task", "unknown-task", "unknown-model"],
)
def test_sample_audio_not_found(mka1, done, index, params):
    run, _ = done
    with pytest.raises(SDKDefaultError) as exc:
        mka1.get_sample_audio(run_id=run.id, sample_index=index, **params)
    expect_error(exc, 404, "not found")


def test_sample_audio_before_the_run_starts_is_404(mka1, suite):
    run = new_run(mka1, suite)
    with pytest.raises(SDKDefaultError) as exc:
        mka1.get_sample_audio(run_id=run.id, sample_index=0, task_id="calls")
    expect_error(exc, 404)


# ---- trajectories -------------------------------------------------------------------------------------------

STEPS_V1 = [
    {"step_id": 1, "source": "user", "message": "Fix the failing test"},
    {"step_id": 2, "source": "agent", "message": "Running pytest…", "tool_calls": [{"name": "bash", "args": {"cmd": "pytest -q"}}]},
    {"step_id": 3, "source": "agent", "message": "Done ✓", "metrics": {"tokens": 123, "cost": 0.0012}},
]
STEPS_V2 = [{"step_id": 1, "source": "agent", "message": "retry"}, None, ["free", "form", 3]]


@pytest.fixture
def agent_run(mka1, suite):
    """An imported coding-agent run: faq 0, faq 1 and intent 0, all with model m-agent."""
    return mka1.import_agent_run(
        suite_id=suite.id, agent_name="omp", agent_version="1.2.0", model="m-agent",
        trials=[
            {"task_id": "faq", "sample_index": 0, "scores": {"reward": 1.0}},
            {"task_id": "faq", "sample_index": 1, "scores": {"reward": 0.0}},
            {"task_id": "intent", "sample_index": 0, "scores": {"reward": 1.0}},
        ],
    )


def test_trajectory_upload_then_get_returns_steps_verbatim(mka1, agent_run):
    logs = {"agent.log": "line 1\nline 2", "verifier.log": "ok"}
    up = mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=0, task_id="faq", steps=STEPS_V1,
                                       logs=logs)
    assert up.object == "eval.sample.trajectory.uploaded"
    assert (up.run_id, up.sample_index, up.task_id, up.model) == (agent_run.id, 0, "faq", "m-agent")
    assert up.step_count == 3
    payload = json.dumps(STEPS_V1, ensure_ascii=False, separators=(",", ":")).encode()
    assert up.size_bytes >= len(payload)

    got = mka1.get_sample_trajectory(run_id=agent_run.id, sample_index=0, task_id="faq")
    assert got.object == "eval.sample.trajectory"
    assert (got.run_id, got.sample_index, got.task_id, got.model) == (agent_run.id, 0, "faq", "m-agent")
    assert got.schema_version == "ATIF-v1.7", "the SDK's default schema_version is stored"
    assert got.steps == STEPS_V1
    assert got.logs == logs
    assert got.step_count == 3
    assert got.size_bytes == up.size_bytes


def test_trajectory_upload_is_an_upsert(mka1, agent_run):
    first = mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=1, steps=STEPS_V1,
                                          logs={"agent.log": "x" * 1000})
    assert first.task_id == "faq", "index 1 exists only for faq, so no task_id is needed"
    second = mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=1, steps=STEPS_V2,
                                           schema_version="harbor-v2")
    assert second.step_count == 3 and second.task_id == "faq"
    assert second.size_bytes < first.size_bytes, "size is measured from what was stored the second time"
    got = mka1.get_sample_trajectory(run_id=agent_run.id, sample_index=1)
    assert got.steps == STEPS_V2
    assert got.schema_version == "harbor-v2"
    assert got.logs is None, "the whole trajectory is replaced, logs included"
    assert got.step_count == 3 and got.size_bytes == second.size_bytes
    # the other trial at index 0 never got a trajectory
    with pytest.raises(SDKDefaultError) as exc:
        mka1.get_sample_trajectory(run_id=agent_run.id, sample_index=0, task_id="intent")
    expect_error(exc, 404, "trajectory")


def test_trajectory_step_count_follows_the_steps(mka1, agent_run):
    steps = [{"i": i} for i in range(250)]
    up = mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=0, task_id="intent", steps=steps)
    assert up.step_count == 250
    empty = mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=1, task_id="faq", steps=[])
    assert empty.step_count == 0
    assert mka1.get_sample_trajectory(run_id=agent_run.id, sample_index=1, task_id="faq").steps == []


@pytest.mark.parametrize("op", ["upload", "get"])
def test_ambiguous_index_on_agent_run_is_400(mka1, agent_run, op):
    """Index 0 exists for faq and intent: without task_id the server refuses to guess."""
    with pytest.raises(SDKDefaultError) as exc:
        if op == "upload":
            mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=0, steps=STEPS_V1)
        else:
            mka1.get_sample_trajectory(run_id=agent_run.id, sample_index=0)
    expect_error(exc, 400, "sample_index")
    # nothing was written to either trial
    for task in ("faq", "intent"):
        with pytest.raises(SDKDefaultError) as missing:
            mka1.get_sample_trajectory(run_id=agent_run.id, sample_index=0, task_id=task)
        expect_error(missing, 404)


@pytest.mark.parametrize("params", [{}, {"task_id": "faq"}, {"model": "m-a"}])
def test_ambiguous_index_on_a_multi_model_run_is_400(mka1, done, params):
    run, _ = done
    with pytest.raises(SDKDefaultError) as exc:
        mka1.upload_sample_trajectory(run_id=run.id, sample_index=0, steps=STEPS_V1, **params)
    expect_error(exc, 400)


def test_task_and_model_resolve_a_trial_of_a_multi_model_run(mka1, done):
    run, _ = done
    up = mka1.upload_sample_trajectory(run_id=run.id, sample_index=0, task_id="faq", model="m-b", steps=STEPS_V1)
    assert (up.task_id, up.model, up.step_count) == ("faq", "m-b", 3)
    got = mka1.get_sample_trajectory(run_id=run.id, sample_index=0, task_id="faq", model="m-b")
    assert got.steps == STEPS_V1
    with pytest.raises(SDKDefaultError) as exc:
        mka1.get_sample_trajectory(run_id=run.id, sample_index=0, task_id="faq", model="m-a")
    expect_error(exc, 404)


@pytest.mark.parametrize(
    "index, params",
    [(1, {"task_id": "faq"}), (7, {"task_id": "faq"}), (0, {"task_id": "calls"}), (0, {"task_id": "faq", "model": "other"})],
    ids=["no-trajectory-yet", "no-such-index", "task-without-trials", "other-model"],
)
def test_missing_trajectory_is_404(mka1, agent_run, index, params):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.get_sample_trajectory(run_id=agent_run.id, sample_index=index, **params)
    expect_error(exc, 404, "not found")


def test_upload_to_a_missing_sample_is_404(mka1, agent_run):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=9, task_id="faq", steps=STEPS_V1)
    expect_error(exc, 404)


@pytest.mark.parametrize(
    "steps_bytes, logs_bytes",
    [(16 * MiB + 1, 0), (1024, 16 * MiB), (9 * MiB, 8 * MiB)],
    ids=["steps-over", "logs-push-over", "split-over"],
)
def test_trajectory_over_16_mib_is_413_and_keeps_the_stored_one(mka1, agent_run, steps_bytes, logs_bytes):
    mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=1, task_id="faq", steps=STEPS_V1)
    big_steps = ["x" * steps_bytes]  # one long string: cheap to build, well over the limit once serialized
    logs = {"agent.log": "y" * logs_bytes} if logs_bytes else None
    with pytest.raises(SDKDefaultError) as exc:
        mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=1, task_id="faq", steps=big_steps,
                                      logs=logs)
    expect_error(exc, 413, "16 MiB")
    got = mka1.get_sample_trajectory(run_id=agent_run.id, sample_index=1, task_id="faq")
    assert got.steps == STEPS_V1 and got.step_count == 3


def test_trajectory_just_under_16_mib_is_accepted(mka1, agent_run):
    up = mka1.upload_sample_trajectory(run_id=agent_run.id, sample_index=1, task_id="faq",
                                       steps=["z" * (16 * MiB - 4096)])
    assert up.step_count == 1
    assert 16 * MiB - 4096 <= up.size_bytes <= 16 * MiB


# ---- get_artifacts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["queued", "in_progress", "finalizing", "cancelled"])
def test_artifacts_are_empty_before_completion(mka1, control, suite, state):
    run = new_run(mka1, suite)
    if state == "in_progress":
        control.advance(10)
    elif state == "finalizing":
        control.advance(43)
    elif state == "cancelled":
        control.advance(10)
        mka1.cancel_run(run_id=run.id)
        control.advance(5)
    assert mka1.get_run(run_id=run.id).status == state
    art = mka1.get_artifacts(run_id=run.id)
    assert art.object == "eval.artifacts"
    assert art.run_id == run.id
    assert art.result_file_id is None and art.samples_file_id is None
    assert art.artifact_file_ids == []
    assert mka1.get_run(run_id=run.id).artifact_file_ids == []


def test_artifacts_after_completion(mka1, control, suite):
    run = new_run(mka1, suite)
    control.advance(60)
    art = mka1.get_artifacts(run_id=run.id)
    assert art.run_id == run.id
    assert art.result_file_id.startswith("file_") and art.samples_file_id.startswith("file_")
    assert art.result_file_id != art.samples_file_id
    assert art.result_file_id in art.artifact_file_ids and art.samples_file_id in art.artifact_file_ids
    completed = mka1.get_run(run_id=run.id)
    assert completed.status == "completed"
    assert completed.artifact_file_ids == art.artifact_file_ids
    # stable on a second read
    assert mka1.get_artifacts(run_id=run.id).model_dump() == art.model_dump()


def test_artifacts_of_an_unknown_run_is_404(mka1):
    with pytest.raises(SDKDefaultError) as exc:
        mka1.get_artifacts(run_id="eval_run_missing")
    expect_error(exc, 404, "eval_run_missing")


# ---- get_run_overview ---------------------------------------------------------------------------------------


def test_overview_matches_the_samples(mka1, done):
    run, samples = done
    ov = mka1.get_run_overview(run_id=run.id)
    assert ov.object == "eval.run.overview"
    assert (ov.run_id, ov.suite_id, ov.status) == (run.id, run.suite_id, "completed")
    assert ov.models == MODELS
    assert ov.metric == "reward"
    assert ov.agent_name is None and ov.agent_version is None and ov.agent_effort is None
    assert ov.trials.total == len(samples) == TOTAL
    assert ov.trials.completed == sum(s.status == "completed" for s in samples)
    assert ov.trials.failed == sum(s.status == "failed" for s in samples)
    assert ov.trials.errored == sum(s.error is not None for s in samples)
    assert ov.trials.retried == 0
    rewards = [reward_of(s) for s in samples if reward_of(s) is not None]
    assert ov.avg_reward == pytest.approx(sum(rewards) / len(rewards), abs=1e-4)
    assert ov.tokens.input == sum(s.input_tokens or 0 for s in samples)
    assert ov.tokens.output == sum(s.output_tokens or 0 for s in samples)
    # the run object agrees with the overview
    assert run.request_counts.total == TOTAL
    assert run.request_counts.completed == ov.trials.completed
    assert run.request_counts.failed == ov.trials.failed


@pytest.mark.parametrize("metric", ["exact_match", "reward"])
def test_overview_metric_param(mka1, done, metric):
    run, samples = done
    ov = mka1.get_run_overview(run_id=run.id, metric=metric)
    assert ov.metric == metric
    values = [reward_of(s, metric) for s in samples if reward_of(s, metric) is not None]
    assert values
    assert ov.avg_reward == pytest.approx(sum(values) / len(values), abs=1e-4)


def test_overview_metric_nobody_carries_is_null(mka1, done):
    run, _ = done
    ov = mka1.get_run_overview(run_id=run.id, metric="bleu")
    assert ov.metric == "bleu"
    assert ov.avg_reward is None
    assert ov.trials.total == TOTAL


def test_overview_while_running_counts_only_finished_samples(mka1, control, suite):
    run = new_run(mka1, suite)
    control.advance(20)
    ov = mka1.get_run_overview(run_id=run.id)
    samples = all_samples(mka1, run.id)
    assert ov.status == "in_progress"
    assert ov.trials.total == TOTAL
    assert 0 < ov.trials.completed + ov.trials.failed < TOTAL
    assert ov.trials.completed == sum(s.status == "completed" for s in samples)
    assert ov.trials.failed == sum(s.status == "failed" for s in samples)


def test_overview_counts_retried_after_rerun_failed(mka1, control, done):
    run, samples = done
    failed_ids = [s.id for s in samples if s.status == "failed"]
    assert failed_ids
    rerun = mka1.rerun_failed_samples(run_id=run.id)
    assert rerun.id == run.id and rerun.status == "queued"
    ov = mka1.get_run_overview(run_id=run.id)
    assert ov.trials.retried == len(failed_ids)

    control.advance(60)
    assert mka1.get_run(run_id=run.id).status == "completed"
    after = all_samples(mka1, run.id)
    assert [s.id for s in after] == [s.id for s in samples], "retried samples keep their ids"
    by_id = {s.id: s for s in after}
    for sid in failed_ids:
        assert by_id[sid].status == "completed"
        assert by_id[sid].error is None
        assert "reward" in by_id[sid].scores
    # samples that had completed keep their result
    for s in samples:
        if s.status == "completed":
            assert by_id[s.id].scores == s.scores and by_id[s.id].completed_at == s.completed_at
    ov = mka1.get_run_overview(run_id=run.id)
    assert ov.trials.retried == len(failed_ids)
    assert ov.trials.failed == 0 and ov.trials.completed == TOTAL
    rewards = [reward_of(s) for s in after]
    assert ov.avg_reward == pytest.approx(sum(rewards) / len(rewards), abs=1e-4)
