"""Snapshots: export a namespace as JSON, import it anywhere, and get the same answers; the codec underneath."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sortedcontainers import SortedList
from starlette.testclient import TestClient

from emulator.control.client import EmulatorControl, EmulatorError
from emulator.core import snapshot
from emulator.core.faults import Fault
from emulator.core.timeline import Step, Timeline
from tests.conftest import make_sdk
from tests.control.conftest import scenario
from tests.property.qianfan_signing import signed_post
from tests.strict import StrictEvals

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def copy_sdk(app):
    """The MKA1 SDK on a second namespace, `copy`, and its control API (its own client: StrictEvals hooks it)."""
    with TestClient(app) as other:
        yield (StrictEvals(other, make_sdk(other, token="copy").llm.evals),
               EmulatorControl(client=other, namespace="copy"))


def answers(sdk, run_ids: list[str], suite_id: str) -> dict:
    """What a client reads: runs, samples, pages walked with cursors, versions."""
    pages, after = [], None
    while True:
        page = sdk.list_runs(limit=2, after=after)
        pages.append([r.model_dump() for r in page.data])
        if not page.has_more:
            break
        after = page.last_id
    return {
        "runs": [sdk.get_run(run_id=i).model_dump() for i in run_ids],
        "samples": [[s.model_dump() for s in sdk.list_samples(run_id=i, limit=7).data] for i in run_ids],
        "pages": pages,
        "suite": sdk.get_suite(suite_id=suite_id).model_dump(),
        "versions": [v.model_dump() for v in sdk.list_suite_versions(suite_id=suite_id).data],
    }


@pytest.fixture
def world(mka1, suite, ctl):
    """Five runs, one on suite version 2, some finished with failures, one half-way."""
    mka1.create_suite_version(suite_id=suite.id, make_active=True, manifest={
        "tasks": [{"id": "faq2", "type": "qa", "dataset": {"file_id": "file_faq2"}}]})
    ids = [mka1.create_run(suite_id=suite.id, models=["m"], suite_version=1).id for _ in range(3)]
    ctl.advance(100)
    ids.append(mka1.create_run(suite_id=suite.id, models=["m", "n"]).id)
    ctl.advance(20)
    ids.append(mka1.create_run(suite_id=suite.id, models=["k"]).id)
    ctl.advance(3)
    return ids


def test_an_imported_snapshot_answers_like_the_original(world, mka1, suite, ctl, copy_sdk):
    sdk, copy_ctl = copy_sdk
    snap = ctl.snapshot()
    assert snap["format"] == snapshot.FORMAT and snap["namespace"] == "test-token"
    json.dumps(snap)  # plain JSON
    restored = copy_ctl.restore(snap)
    assert restored["namespace"] == "copy" and restored["clock"]["now"] == ctl.now()

    assert answers(sdk, world, suite.id) == answers(mka1, world, suite.id)
    assert sdk.get_run(run_id=world[3]).suite_version == 2  # identity: the run keeps its suite version
    assert sdk.get_run(run_id=world[0]).suite_version == 1
    # Both go on the same way from there: the clock, the in-flight runs, the ids of new records.
    ctl.advance(60)
    copy_ctl.advance(60)
    assert answers(sdk, world, suite.id) == answers(mka1, world, suite.id)
    assert sdk.create_run(suite_id=suite.id, models=["z"]).id == mka1.create_run(suite_id=suite.id,
                                                                                 models=["z"]).id


def test_restoring_takes_a_namespace_back(world, mka1, suite, ctl):
    snap = ctl.snapshot()
    before = answers(mka1, world, suite.id)
    ctl.add_fault(vendor="mka1", operation="getEvalRunOverview", error="api_error")
    mka1.cancel_run(run_id=world[4])
    mka1.delete_run(run_id=world[0])
    mka1.create_run(suite_id=suite.id, models=["late"])
    ctl.advance(500)
    assert answers(mka1, world[1:], suite.id) != before

    kept = copy.deepcopy(snap)
    ctl.restore(snap)
    assert answers(mka1, world, suite.id) == before
    assert ctl.faults() == []
    assert snap == kept  # using a snapshot does not change it: it can be restored again
    mka1.delete_run(run_id=world[1])
    ctl.restore(snap)
    assert answers(mka1, world, suite.id) == before


def test_timelines_and_faults_carry_over_mid_way(ctl, mka1, copy_sdk):
    sdk, copy_ctl = copy_sdk
    ctl.load_scenario(scenario("""\
    - suite: s
      models: [m]
      timeline:
        - after_polls: 3
          status: in_progress
        - at: 50s
          status: failed
          error: {code: lost, message: worker lost}
""", "  - {id: second-list, vendor: mka1, operation: listEvalRuns, nth: [2], error: api_error}\n"))
    (run,) = mka1.list_runs().data  # the fault's first matching call
    assert [mka1.get_run(run_id=run.id).status for _ in range(2)] == ["queued", "queued"]
    copy_ctl.restore(ctl.snapshot())

    assert copy_ctl.faults() == ctl.faults() == [
        {"id": "second-list", "vendor": "mka1", "operation": "listEvalRuns", "nth": [2], "error": "api_error",
         "matched": 1, "fired": 0}]
    from meetkai_mka1.errors import SDKDefaultError

    with pytest.raises(SDKDefaultError):
        sdk.list_runs()  # the copy's second matching call
    assert [sdk.get_run(run_id=run.id).status for _ in range(2)] == ["queued", "in_progress"]
    copy_ctl.advance(50)
    failed = sdk.get_run(run_id=run.id)
    assert failed.status == "failed" and failed.error["code"] == "lost"
    # The original went on untouched.
    assert mka1.get_run(run_id=run.id).status == "queued"


# The Qianfan credentials a demo scenario defines: a namespace with its own accepts only those.
QIANFAN_KEYS = {"qianfan": ("qianfan-demo", "qianfan-demo-sk"), "demo": ("demo", "demo-sk")}


@pytest.mark.parametrize("name", ["mka1", "qianfan", "mistral", "digitalocean", "demo"])
def test_every_demo_scenario_survives_a_round_trip(client, name):
    """Every vendor's records go through the codec: a copy answers each vendor's reads like the original."""
    a, b = (EmulatorControl(client=client, namespace=f"{name}-{n}") for n in ("a", "b"))
    a.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    a.freeze()
    b.restore(json.loads(json.dumps(a.snapshot())))
    assert b.clock()["now"] == a.clock()["now"] and b.clock()["mode"] == "manual"

    def reads(ns: str) -> list:
        h = {"Authorization": f"Bearer {ns}"}
        out = [client.get("/api/v1/llm/evals/runs?limit=100", headers=h).json(),
               client.get("/v1/observability/judges", headers=h).json(),
               client.post("/v1/observability/chat-completion-events/search?page_size=100",
                           json={"search_params": {"filters": None}}, headers=h).json(),
               client.get("/v2/gen-ai/evaluation_test_cases", headers=h).json()]
        ak, sk = QIANFAN_KEYS.get(name, ("emulator-ak", "emulator-sk"))
        res = signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"},
                          json={"evalType": "auto", "maxKeys": 100}, namespace=ns, ak=ak, sk=sk)
        out.append(res.json()["result"])
        return out

    original, copied = reads(a.namespace), reads(b.namespace)
    assert copied == original
    assert any(_nonempty(r) for r in original), "the demo scenario loaded nothing these reads can see"


def _nonempty(body) -> bool:
    if isinstance(body, dict):
        return any(_nonempty(v) for v in body.values())
    return isinstance(body, list) and len(body) > 0


@pytest.mark.parametrize("mangle, words", [
    (lambda s: {**s, "format": "something-else/1"}, "format"),
    (lambda s: {"state": s["state"]}, "format"),
    (lambda s: [s], "format"),
    (lambda s: _replace_type(s, "builtins:object"), "refusing"),
    (lambda s: _replace_type(s, "os:system"), "refusing"),
    (lambda s: _replace_type(s, "emulator.core.clock:Clock"), "not a record"),
    (lambda s: _replace_type(s, "emulator.core.nothing:Here"), "unknown record type"),
    (lambda s: _dangle(s), "dangling"),
    (lambda s: _drop_field(s), "misses"),
    (lambda s: {**s, "state": {**s["state"], "clock": "noon"}}, "snapshot"),
    (lambda s: {**s, "state": {k: v for k, v in s["state"].items() if k != "store"}}, "store"),
])
def test_a_malformed_snapshot_answers_400_and_changes_nothing(world, client, ctl, mka1, suite, mangle, words):
    good = ctl.snapshot()
    ctl.add_fault(id="kept", vendor="mka1", operation="deleteEvalSuite", error="api_error")
    before = (answers(mka1, world, suite.id), ctl.faults(), ctl.clock())
    res = client.put("/_emulator/snapshot", json=mangle(copy.deepcopy(good)),
                     headers={"X-Emulator-Namespace": "test-token"})
    assert res.status_code == 400, res.text
    err = res.json()["error"]
    assert err["type"] == "invalid_request" and words.lower() in err["message"].lower(), err
    assert (answers(mka1, world, suite.id), ctl.faults(), ctl.clock()) == before


def test_a_snapshot_body_that_is_not_json_is_refused(client, ctl):
    ctl.advance(5)
    res = client.put("/_emulator/snapshot", content=b"{nope", headers={"X-Emulator-Namespace": "test-token"})
    assert res.status_code == 400
    with pytest.raises(EmulatorError) as excinfo:
        ctl.restore({})
    assert excinfo.value.status == 400


def _records(node):
    if isinstance(node, dict):
        if "$type" in node:
            yield node
        for value in node.values():
            yield from _records(value)
    elif isinstance(node, list):
        for value in node:
            yield from _records(value)


def _replace_type(snap: dict, new: str) -> dict:
    next(_records(snap["state"]))["$type"] = new
    return snap


def _dangle(snap: dict) -> dict:
    ids = [r["$id"] for r in _records(snap["state"])]
    record = next(r for r in _records(snap["state"]) if r["fields"])
    record["fields"][next(iter(record["fields"]))] = {"$ref": max(ids) + 1000}
    return snap


def _drop_field(snap: dict) -> dict:
    record = next(r for r in _records(snap["state"]) if r["$type"].endswith(":Run"))
    record["fields"].pop("suite_id")
    return snap


# ---- the codec ----------------------------------------------------------------------------------------------


def round_trip(value):
    encoded = snapshot.encode(value)
    return snapshot.decode(json.loads(json.dumps(encoded)))


@pytest.mark.parametrize("value", [
    None, True, 0, -7, 1.5, "text", [], {},
    (1, "a", (2, 3)),
    [(1, 2), {"k": (3,)}],
    {1, 2, 3}, frozenset({"a", "b"}), {(1, 2), (3, 4)}, {frozenset({1}), frozenset({2, 3})},
    b"\x00\xffbytes", bytearray(b"x") and b"",
    range(3, 30, 4), range(0),
    {1: "one", (2, 3): "pair", None: "none", 1.5: [1]},
    {"$type": "not a record", "$ref": 3, "plain": {"$dict": 1}},
    {"$tuple": [1, 2]},
    {"nested": {"$set": [1]}, "$": "dollar"},
    SortedList([(3, "c"), (1, "a"), (2, "b")]),
])
def test_the_codec_gives_back_what_it_was_given(value):
    back = round_trip(value)
    assert back == value and type(back) is type(value)


def test_containers_keep_their_inner_types():
    value = {"key": [(1, frozenset({(2, 3)}))], (4, (5, 6)): {b"x"}}
    back = round_trip(value)
    assert back == value
    (pair,) = back["key"]
    assert type(pair) is tuple and type(pair[1]) is frozenset
    assert type(back[(4, (5, 6))]) is set


def test_shared_records_come_back_shared_and_cycles_close():
    step = Step(at=5.0, after_polls=None, fields={"status": "failed"})
    timeline = Timeline(steps=[step, step], origin=1.0, done=1, polls=2, last_at=3.5, status_field="state")
    fault = Fault(id="f", spec={"error": "internal"}, matched=2)
    fault.spec["self"] = fault  # a record reaching itself
    back = round_trip({"a": timeline, "b": [timeline], "fault": fault})
    assert back["a"] is back["b"][0]
    assert back["a"].steps[0] is back["a"].steps[1]
    assert back["a"] == timeline
    assert back["fault"].spec["self"] is back["fault"] and back["fault"].matched == 2


def test_the_codec_refuses_what_it_cannot_rebuild():
    with pytest.raises(snapshot.SnapshotError):
        snapshot.encode(object())
    with pytest.raises(snapshot.SnapshotError):
        snapshot.encode({"f": lambda: 1})
    for bad in ({"$type": "collections:OrderedDict", "$id": 0, "fields": {}},
                {"$type": "emulator.core.timeline:Step", "$id": 0, "fields": {"bogus": 1}},
                {"$type": "emulator.core.timeline:Step", "$id": 0},
                {"$type": "emulator.core.timeline:Step", "fields": {}},
                {"$ref": 0},
                {"$bytes": "***"},
                {"$range": "x"}):
        with pytest.raises(snapshot.SnapshotError):
            snapshot.decode(bad)
