"""Property, through the official SDK: for any set of runs, filter and page size, walking `after` pages returns
exactly the filtered runs, newest first, each once."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from tests.conftest import make_sdk

MANIFEST = {"tasks": [{"id": "t", "type": "qa", "dataset": {}}]}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=st.lists(st.tuples(st.booleans(), st.sampled_from(["keep", "cancel", "delete"])), min_size=0, max_size=30),
    limit=st.integers(1, 7),
    by_suite=st.booleans(),
    status=st.sampled_from([None, "queued", "cancelling"]),
)
def test_run_pages_concatenate_to_the_filtered_list(plan, limit, by_suite, status):
    with TestClient(build_app(Settings(clock_mode="manual"))) as client:
        evals = make_sdk(client, token="prop").llm.evals
        suites = [evals.create_suite(name=f"s{i}", manifest=MANIFEST).id for i in range(2)]
        expected = []  # (run id, suite id, status), oldest first
        for in_second, action in plan:
            run = evals.create_run(suite_id=suites[in_second], models=["m"])
            if action == "cancel":
                evals.cancel_run(run_id=run.id)
                expected.append((run.id, run.suite_id, "cancelling"))
            elif action == "delete":
                evals.delete_run(run_id=run.id)
            else:
                expected.append((run.id, run.suite_id, "queued"))
        suite_id = suites[0] if by_suite else None
        want = [rid for rid, sid, st_ in reversed(expected)
                if (suite_id is None or sid == suite_id) and (status is None or st_ == status)]
        seen, after = [], None
        while True:
            page = evals.list_runs(limit=limit, after=after, suite_id=suite_id, status=status)
            assert len(page.data) <= limit
            seen += [r.id for r in page.data]
            if not page.has_more:
                break
            after = page.last_id
        assert seen == want
