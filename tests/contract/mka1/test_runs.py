"""Eval runs through meetkai-mka1: creation, progression on the clock, actions and their refusals, lists."""

from __future__ import annotations

import re

import pytest
from meetkai_mka1.errors import SDKDefaultError

from tests.conftest import make_sdk

RUN_ID = re.compile(r"^eval_run_[0-9a-f]{32}$")
TERMINAL = {"completed", "failed", "cancelled"}


def error_of(excinfo) -> tuple[int, str, str]:
    err = excinfo.value
    body = __import__("json").loads(err.body)["error"]
    return err.status_code, body["type"], body["message"]


def test_create_run_answers_every_field_a_user_reads(mka1, suite, control):
    now = int(control.now())
    run = mka1.create_run(
        suite_id=suite.id, models=["gpt-4o-mini", "llama-3.1-8b"], task_ids=["faq", "intent"],
        generation={"temperature": 0, "max_output_tokens": 512}, metadata={"purpose": "mvp"},
        max_samples_per_task=4,
    )
    assert RUN_ID.match(run.id)
    assert run.object == "eval.run"
    assert (run.suite_id, run.suite_version, run.suite_version_id) == (suite.id, 1, mka1.get_suite_version(
        suite_id=suite.id, version=1).id)
    assert run.org_id == suite.org_id and run.team_id == suite.team_id
    assert run.status == "queued"
    assert run.models == ["gpt-4o-mini", "llama-3.1-8b"]
    assert run.task_ids == ["faq", "intent"]
    assert run.judge_model == "auto" and run.embedding_model == "auto"
    assert run.generation.temperature == 0 and run.generation.max_output_tokens == 512
    # 2 tasks x 2 models x 4 samples per task
    assert (run.request_counts.total, run.request_counts.completed, run.request_counts.failed) == (16, 0, 0)
    assert run.metrics is None and run.error is None
    assert run.artifact_file_ids == []
    assert run.metadata == {"purpose": "mvp"}
    assert (run.agent_name, run.agent_version, run.agent_effort, run.cost_usd) == (None, None, None, None)
    assert (run.tokens.input, run.tokens.output, run.tokens.cached, run.tokens.reasoning) == (None,) * 4
    assert run.created_at == now
    assert (run.started_at, run.completed_at, run.cancelled_at, run.failed_at) == (None,) * 4


def test_a_run_progresses_on_the_clock_and_fills_counts_samples_and_metrics(mka1, suite, control):
    run = mka1.create_run(suite_id=suite.id, models=["gpt-4o-mini"])
    created = run.created_at
    assert mka1.list_samples(run_id=run.id).data == []  # nothing persisted while first queued

    control.advance(2)
    run = mka1.get_run(run_id=run.id)
    assert run.status == "in_progress" and run.started_at == created + 2
    assert run.request_counts.completed == 0

    control.advance(20)  # half of the generation phase
    run = mka1.get_run(run_id=run.id)
    assert run.status == "in_progress"
    done = run.request_counts.completed + run.request_counts.failed
    assert 0 < done < run.request_counts.total
    samples = mka1.list_samples(run_id=run.id, limit=500).data
    assert len(samples) == run.request_counts.total
    finished = [s for s in samples if s.status in ("completed", "failed")]
    assert len(finished) == done
    assert all(s.scores and "reward" in s.scores for s in samples if s.status == "completed")
    assert run.metrics is not None and 0.0 <= run.metrics["reward"] <= 1.0

    control.advance(20)  # generation over: finalizing for 3 s
    run = mka1.get_run(run_id=run.id)
    assert run.status == "finalizing" and run.completed_at is None

    control.advance(3)
    run = mka1.get_run(run_id=run.id)
    assert run.status == "completed"
    assert run.completed_at == created + 45
    counts = run.request_counts
    assert counts.completed + counts.failed == counts.total == 15
    assert counts.failed >= 1  # a few failed samples by default, so rerun-failed has work
    assert run.tokens.input > 0 and run.tokens.output > 0
    samples = mka1.list_samples(run_id=run.id, limit=500).data
    assert run.tokens.input == sum(s.input_tokens for s in samples)
    rewards = [s.scores["reward"] for s in samples if s.status == "completed"]
    assert run.metrics["reward"] == pytest.approx(sum(rewards) / len(rewards), abs=1e-4)
    assert set(run.metrics["by_task"]) == {"faq", "intent", "calls"}


def test_a_fresh_run_completes_within_about_a_minute(mka1, suite, control):
    run = mka1.create_run(suite_id=suite.id, models=["m1", "m2", "m3"], max_samples_per_task=50)
    control.advance(59)
    assert mka1.get_run(run_id=run.id).status == "completed"


def test_cancel_moves_through_cancelling_to_cancelled_and_freezes_samples(mka1, suite, control):
    run = mka1.create_run(suite_id=suite.id, models=["gpt-4o-mini"])
    control.advance(12)
    before = mka1.get_run(run_id=run.id)
    cancelled = mka1.cancel_run(run_id=run.id)
    assert cancelled.status == "cancelling" and cancelled.cancelled_at is None
    control.advance(2)
    run = mka1.get_run(run_id=run.id)
    assert run.status == "cancelled"
    assert run.cancelled_at == before.created_at + 14
    assert run.completed_at is None
    frozen = run.request_counts
    control.advance(600)
    later = mka1.get_run(run_id=run.id)
    assert later.status == "cancelled" and later.request_counts == frozen
    assert frozen.completed + frozen.failed < frozen.total


def test_cancel_a_queued_run(mka1, suite, control):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    assert mka1.cancel_run(run_id=run.id).status == "cancelling"
    control.advance(5)
    run = mka1.get_run(run_id=run.id)
    assert run.status == "cancelled" and run.started_at is None
    assert run.request_counts.completed == 0


def _run_in(mka1, suite, control, status: str):
    """A run brought to `status` through the public API only."""
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    if status == "queued":
        return run
    if status in ("in_progress", "finalizing", "completed"):
        control.advance({"in_progress": 10, "finalizing": 43, "completed": 60}[status])
    elif status == "cancelling":
        mka1.cancel_run(run_id=run.id)
    elif status == "cancelled":
        mka1.cancel_run(run_id=run.id)
        control.advance(3)
    run = mka1.get_run(run_id=run.id)
    assert run.status == status
    return run


# action -> (states that allow it, the status it answers)
ACTIONS = {"cancel_run": ({"queued", "in_progress"}, "cancelling"), "rerun_failed_samples": ({"completed"}, "queued"),
           "retry_failed_run": ({"cancelled"}, "queued")}
STATES = ["queued", "in_progress", "finalizing", "completed", "cancelling", "cancelled"]


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("status", STATES)
def test_each_action_is_allowed_only_from_its_states(mka1, suite, control, action, status):
    run = _run_in(mka1, suite, control, status)
    allowed, answer = ACTIONS[action]
    if status in allowed:
        moved = getattr(mka1, action)(run_id=run.id)
        assert (moved.id, moved.status) == (run.id, answer)
        return
    before = mka1.get_run(run_id=run.id)
    with pytest.raises(SDKDefaultError) as excinfo:
        getattr(mka1, action)(run_id=run.id)
    status_code, kind, message = error_of(excinfo)
    assert (status_code, kind) == (409, "conflict_error")
    assert f"status '{status}'" in message
    after = mka1.get_run(run_id=run.id)
    assert after == before  # the refused action changed nothing


def test_rerun_failed_requeues_exactly_the_failed_samples_with_the_same_ids(mka1, suite, control):
    run = _run_in(mka1, suite, control, "completed")
    samples = {s.id: s for s in mka1.list_samples(run_id=run.id, limit=500).data}
    failed = {i for i, s in samples.items() if s.status == "failed"}
    assert failed

    rerun = mka1.rerun_failed_samples(run_id=run.id)
    assert rerun.id == run.id and rerun.status == "queued"
    assert rerun.completed_at is None and rerun.started_at == run.started_at
    assert rerun.request_counts.failed == 0
    assert rerun.request_counts.completed == run.request_counts.completed
    now = {s.id: s for s in mka1.list_samples(run_id=run.id, limit=500).data}
    assert set(now) == set(samples)  # same sample ids
    assert {i for i, s in now.items() if s.status == "queued"} == failed
    assert all(now[i] == samples[i] for i in samples if i not in failed)  # others untouched

    control.advance(60)
    done = mka1.get_run(run_id=run.id)
    assert done.status == "completed" and done.completed_at > run.completed_at
    assert (done.request_counts.completed, done.request_counts.failed) == (done.request_counts.total, 0)
    assert mka1.get_run_overview(run_id=run.id).trials.retried == len(failed)
    # Nothing failed any more: a second rerun has no work and is refused.
    with pytest.raises(SDKDefaultError) as excinfo:
        mka1.rerun_failed_samples(run_id=run.id)
    assert error_of(excinfo)[0] == 409


def test_retry_resumes_a_cancelled_run_in_place(mka1, suite, control):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    control.advance(12)
    mka1.cancel_run(run_id=run.id)
    control.advance(2)
    cancelled = mka1.get_run(run_id=run.id)
    kept = {s.id: s for s in mka1.list_samples(run_id=run.id, status="completed").data}

    retried = mka1.retry_failed_run(run_id=run.id)
    assert retried.id == run.id and retried.status == "queued"
    assert retried.cancelled_at is None and retried.started_at == cancelled.started_at
    control.advance(60)
    done = mka1.get_run(run_id=run.id)
    assert done.status == "completed"
    after = {s.id: s for s in mka1.list_samples(run_id=run.id, limit=500).data}
    assert all(after[i] == kept[i] for i in kept)  # completed samples keep their results
    assert done.request_counts.completed + done.request_counts.failed == done.request_counts.total


def test_retry_a_failed_run_from_a_scenario(app, client, control):
    from emulator.core import scenario

    text = """
namespace: test-token
clock: {mode: manual}
mka1:
  suites:
    - {ref: s, name: S, manifest: {tasks: [{id: t, type: qa, dataset: {}}]}}
  runs:
    - {suite: s, models: [m], fail_after_seconds: 10}
"""
    loaders = app.state.vendors
    scenario.apply(app.state.world, scenario.parse_scenario(text), loaders)
    from tests.strict import StrictEvals

    mka1 = StrictEvals(client, make_sdk(client).llm.evals)
    (run,) = mka1.list_runs().data
    control.advance(30)
    run = mka1.get_run(run_id=run.id)
    assert run.status == "failed" and run.failed_at == run.created_at + 12
    assert run.error["code"] == "internal_error"
    with pytest.raises(SDKDefaultError) as excinfo:
        mka1.cancel_run(run_id=run.id)
    assert error_of(excinfo)[0] == 409
    retried = mka1.retry_failed_run(run_id=run.id)
    assert retried.status == "queued" and retried.failed_at is None and retried.error is None
    control.advance(60)
    assert mka1.get_run(run_id=run.id).status == "completed"


def test_delete_run_is_soft_and_hides_it(mka1, suite):
    keep = mka1.create_run(suite_id=suite.id, models=["m"])
    gone = mka1.create_run(suite_id=suite.id, models=["m"])
    deleted = mka1.delete_run(run_id=gone.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (gone.id, "eval.run.deleted", True)
    assert [r.id for r in mka1.list_runs().data] == [keep.id]
    for call in (mka1.get_run, mka1.cancel_run, mka1.delete_run):
        with pytest.raises(SDKDefaultError) as excinfo:
            call(run_id=gone.id)
        assert error_of(excinfo)[:2] == (404, "not_found_error")


def test_list_runs_pages_newest_first_and_every_run_once(mka1, suite):
    created = [mka1.create_run(suite_id=suite.id, models=["m"]).id for _ in range(23)]
    seen, after, pages = [], None, 0
    while True:
        page = mka1.list_runs(limit=5, after=after)
        pages += 1
        assert page.object == "list"
        assert page.first_id == page.data[0].id and page.last_id == page.data[-1].id
        seen += [r.id for r in page.data]
        if not page.has_more:
            break
        after = page.last_id
    assert pages == 5
    assert seen == list(reversed(created))


def test_pages_stay_consistent_when_runs_are_added_and_deleted_between_pages(mka1, suite):
    created = [mka1.create_run(suite_id=suite.id, models=["m"]).id for _ in range(10)]
    first = mka1.list_runs(limit=4)
    mka1.create_run(suite_id=suite.id, models=["m"])  # newer than the cursor: not on later pages
    mka1.delete_run(run_id=first.last_id)  # the cursor itself disappears: it still works
    mka1.delete_run(run_id=created[2])
    rest = mka1.list_runs(limit=100, after=first.last_id)
    assert [r.id for r in rest.data] == [i for i in reversed(created[:6]) if i != created[2]]


@pytest.mark.parametrize("limit", [0, 101])
def test_list_runs_limit_out_of_range_is_400(mka1, limit):
    with pytest.raises(SDKDefaultError) as excinfo:
        mka1.list_runs(limit=limit)
    status, kind, message = error_of(excinfo)
    assert (status, kind) == (400, "invalid_request_error") and "limit" in message


def test_list_runs_filters(mka1, suite, control):
    other = mka1.create_suite(name="other", manifest={"tasks": [{"id": "x", "type": "qa", "dataset": {}}]})
    mka1.create_suite_version(suite_id=suite.id, manifest={"tasks": [{"id": "faq", "type": "qa", "dataset": {}}]})
    v1 = mka1.create_run(suite_id=suite.id, models=["m"], suite_version=1)
    v2 = mka1.create_run(suite_id=suite.id, models=["m"])
    mine = mka1.create_run(suite_id=other.id, models=["m"], x_on_behalf_of="end-user-1")
    assert v2.suite_version == 2

    assert [r.id for r in mka1.list_runs(suite_id=suite.id).data] == [v2.id, v1.id]
    assert [r.id for r in mka1.list_runs(suite_id=suite.id, suite_version=1).data] == [v1.id]
    assert [r.id for r in mka1.list_runs(owned_only=True, x_on_behalf_of="end-user-1").data] == [mine.id]
    mka1.cancel_run(run_id=v1.id)
    assert [r.id for r in mka1.list_runs(status="cancelling").data] == [v1.id]
    control.advance(100)
    assert {r.id for r in mka1.list_runs(status="completed").data} == {v2.id, mine.id}

    with pytest.raises(SDKDefaultError) as excinfo:
        mka1.list_runs(suite_version=1)
    status, _, message = error_of(excinfo)
    assert status == 400 and "suite_version" in message and "suite_id" in message


def test_create_run_refusals(mka1, suite):
    cases = [
        (dict(suite_id="eval_suite_" + "0" * 32, models=["m"]), 404),
        (dict(suite_id=suite.id, models=["m"], suite_version=9), 404),
        (dict(suite_id=suite.id, models=["m"], task_ids=["nope"]), 400),
        (dict(suite_id=suite.id, models=[]), 400),
        (dict(suite_id=suite.id, models=["m"] * 21), 400),
        (dict(suite_id=suite.id, models=["m"], concurrency=26), 400),
    ]
    for kwargs, status in cases:
        with pytest.raises(SDKDefaultError) as excinfo:
            mka1.create_run(**kwargs)
        assert error_of(excinfo)[0] == status, kwargs
    assert mka1.list_runs().data == []  # refused creations leave nothing behind


def test_unknown_run_ids_are_404_on_every_run_route(mka1):
    missing = "eval_run_" + "f" * 32
    for call in ("get_run", "delete_run", "cancel_run", "rerun_failed_samples", "retry_failed_run",
                 "get_run_overview", "list_samples", "get_artifacts"):
        with pytest.raises(SDKDefaultError) as excinfo:
            getattr(mka1, call)(run_id=missing)
        status, kind, message = error_of(excinfo)
        assert (status, kind) == (404, "not_found_error") and missing in message, call


def test_missing_bearer_token_is_401(client):
    sdk = make_sdk(client, token=None)
    with pytest.raises(SDKDefaultError) as excinfo:
        sdk.llm.evals.list_runs()
    status, kind, message = error_of(excinfo)
    assert (status, kind) == (401, "authentication_error") and "bearer" in message.lower()


def test_a_second_namespace_sees_nothing_of_the_first(client, mka1, suite, control):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    other = make_sdk(client, token="someone-else").llm.evals
    assert other.list_runs().data == [] and other.list_suites().data == []
    with pytest.raises(SDKDefaultError) as excinfo:
        other.get_run(run_id=run.id)
    assert error_of(excinfo)[0] == 404
    # clocks are per namespace too: advancing ours leaves theirs alone
    theirs = client.get("/_emulator/clock", headers={"Authorization": "Bearer someone-else"}).json()["now"]
    control.advance(1000)
    assert client.get("/_emulator/clock", headers={"Authorization": "Bearer someone-else"}).json()["now"] == theirs
    # the X-Emulator-Namespace header names a namespace explicitly
    shared = make_sdk(client, token="someone-else").llm.evals
    got = shared.get_run(run_id=run.id, http_headers={"X-Emulator-Namespace": "test-token"})
    assert got.id == run.id


def test_reset_drops_the_namespace(mka1, suite, control):
    mka1.create_run(suite_id=suite.id, models=["m"])
    control.reset()
    assert mka1.list_runs().data == [] and mka1.list_suites().data == []


def test_same_seed_same_bytes(client):
    """Two namespaces with the same seed and requests give identical answers (ids, samples, scores)."""
    from starlette.testclient import TestClient

    from emulator.app import build_app
    from emulator.core.namespace import Settings

    def story() -> list[bytes]:
        c = TestClient(build_app(Settings(seed=3, clock_mode="manual")))
        h = {"Authorization": "Bearer same"}
        base = "/api/v1/llm/evals"
        out = [c.post(base + "/suites", headers=h, json={
            "name": "s", "manifest": {"tasks": [{"id": "t", "type": "qa", "dataset": {}}]}}).content]
        suite_id = c.get(base + "/suites", headers=h).json()["data"][0]["id"]
        run = c.post(base + "/runs", headers=h, json={"suite_id": suite_id, "models": ["m"]}).json()
        c.post("/_emulator/clock/advance", headers=h, json={"seconds": 100})
        out.append(c.get(f"{base}/runs/{run['id']}", headers=h).content)
        out.append(c.get(f"{base}/runs/{run['id']}/samples", headers=h).content)
        return out

    assert story() == story()


def test_async_methods_in_process(app, client, suite, control):
    import asyncio

    import httpx

    sdk = make_sdk(client, async_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app)))

    async def story():
        run = await sdk.llm.evals.create_run_async(suite_id=suite.id, models=["m"])
        control.advance(60)
        return run, await sdk.llm.evals.get_run_async(run_id=run.id)

    created, done = asyncio.run(story())
    assert created.status == "queued" and done.status == "completed" and done.id == created.id
