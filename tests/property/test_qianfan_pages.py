"""Property: for any set of tasks, filter and page size, walking DescribeEvalTasks with nextMarker returns the
filtered tasks in order (oldest first, or newest first with pageReverse), each once; with inserts and deletes
between pages, every task that outlived the walk is still listed once and in order, and no task deleted before
its page came is listed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from tests.property.qianfan_signing import signed_post

NAMES = ["alpha run", "beta check", "Alpha nightly", "gamma", "delta-alpha"]
KEYS = [None, "alpha", "beta", "gamma", "ame-", "nomatch"]


def create(client, name: str, manual: bool) -> str:
    body = {"taskName": name, "evalObjectType": "model",
            "evalObjectConfig": {"evalModelConfig": {"versionId": "ds-1", "evalModelConfigList": [
                {"modelId": "amv-prop"}]}},
            "evalConfig": {"evalMode": "rule,manual" if manual else "rule"}}
    res = signed_post(client, "/v2/eval", {"Action": "CreateEvalTask"}, json=body)
    assert res.status_code == 200, res.text
    return res.json()["result"]


def delete(client, task_id: str) -> None:
    assert signed_post(client, "/v2/eval", {"Action": "DeleteEvalTask"}, json={"taskId": task_id}).status_code == 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=st.lists(st.tuples(st.sampled_from(NAMES), st.booleans(), st.booleans()), max_size=25),
    eval_type=st.sampled_from(["auto", "manual"]),
    key=st.sampled_from(KEYS),
    max_keys=st.integers(1, 6),
    reverse=st.booleans(),
    churn=st.lists(st.tuples(st.sampled_from(["insert", "delete_ahead", "delete_seen"]), st.sampled_from(NAMES),
                             st.booleans(), st.integers(0, 50)), max_size=8),
)
def test_marker_walks(plan, eval_type, key, max_keys, reverse, churn):
    with TestClient(build_app(Settings(seed=5, clock_mode="manual"))) as client:
        tasks = []  # (id, name, manual), creation order
        for name, manual, keep in plan:
            task_id = create(client, name, manual)
            if keep:
                tasks.append((task_id, name, manual))
            else:
                delete(client, task_id)

        def matches(t):
            task_id, name, manual = t
            return manual == (eval_type == "manual") and (key is None or key in name.lower() or key in task_id)

        want = [t[0] for t in (reversed(tasks) if reverse else tasks) if matches(t)]
        order = {t[0]: n for n, t in enumerate(tasks)}
        alive = {t[0] for t in tasks}
        seen, marker, removed_unseen, touched = [], None, set(), set()
        steps = list(churn)
        while True:
            body = {"evalType": eval_type, "maxKeys": max_keys, "pageReverse": reverse}
            if key is not None:
                body["keyFilter"] = key
            if marker is not None:
                body["marker"] = marker
            res = signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json=body)
            assert res.status_code == 200, res.text
            result = res.json()["result"]
            page = [t["taskId"] for t in result["evalTaskList"]]
            assert len(page) <= max_keys and result["pageInfo"]["maxKeys"] == max_keys
            assert all(t in alive for t in page)  # never a deleted task
            seen += page
            info = result["pageInfo"]
            if not info["isTruncated"]:
                assert "nextMarker" not in info
                break
            marker = info["nextMarker"]
            if steps:  # change the world between pages
                what, name, manual, n = steps.pop(0)
                if what == "insert":
                    new = create(client, name, manual)
                    tasks.append((new, name, manual))
                    order[new] = len(order)
                    alive.add(new)
                    touched.add(new)
                else:
                    pool = [t for t in alive if (t in seen) == (what == "delete_seen")]
                    if pool:
                        victim = sorted(pool, key=order.get)[n % len(pool)]
                        delete(client, victim)
                        alive.discard(victim)
                        touched.add(victim)
                        if victim not in seen:
                            removed_unseen.add(victim)
        assert len(seen) == len(set(seen))
        ranks = [order[t] for t in seen]
        assert ranks == sorted(ranks, reverse=reverse)
        assert not set(seen) & removed_unseen
        # every matching task that existed throughout the walk was listed, in order
        assert [t for t in seen if t not in touched] == [t for t in want if t not in touched]
        if not churn:
            assert seen == want
