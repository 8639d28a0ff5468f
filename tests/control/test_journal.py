"""The journal: what each namespace received, with filters, `since`, `limit`, a bounded size and clearing."""

from __future__ import annotations

import pytest
from meetkai_mka1.errors import SDKDefaultError

from emulator.core.journal import Journal
from tests.conftest import TOKEN
from tests.control.conftest import MANUAL_START_EPOCH, scenario
from tests.property.qianfan_signing import signed_post

FIELDS = {"seq", "time", "method", "path", "query", "vendor", "operation", "status", "namespace", "faults",
          "resource", "state", "terminal"}


def test_every_vendor_request_is_journaled_with_its_fields(client, mka1, suite, ctl):
    ctl.advance(30)
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    mka1.list_runs(limit=5, status="queued")
    mka1.get_run(run_id=run.id)
    entries = ctl.journal()
    assert all(set(e) == FIELDS for e in entries)
    assert [e["operation"] for e in entries] == ["createEvalSuite", "createEvalRun", "listEvalRuns", "getEvalRun"]
    listed = entries[2]
    assert listed["method"] == "GET" and listed["path"] == "/api/v1/llm/evals/runs"
    assert {"limit=5", "status=queued"} <= set(listed["query"].split("&"))  # the query as the SDK sent it
    assert listed["vendor"] == "mka1" and listed["status"] == 200 and listed["namespace"] == TOKEN
    assert entries[0]["time"] == ctl.now() - 30 and entries[1]["time"] == ctl.now()  # virtual time, not wall
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    polled = entries[3]
    assert (polled["resource"], polled["state"], polled["terminal"]) == (run.id, "queued", False)
    assert all(e["state"] is None for e in entries[:3])
    ctl.advance(3600)
    mka1.get_run(run_id=run.id)
    assert ctl.journal()[-1]["state"] == "completed" and ctl.journal()[-1]["terminal"] is True


def test_failures_are_journaled_too(client, ctl, mka1):
    with pytest.raises(SDKDefaultError):
        mka1.get_run(run_id="eval_run_missing")
    client.get("/api/v1/llm/evals/nowhere", headers={"Authorization": f"Bearer {TOKEN}"})
    client.get("/api/v1/llm/evals/runs", headers={"X-Emulator-Namespace": TOKEN})  # no credential: 401
    ctl.add_fault(vendor="mka1", operation="listEvalSuites", error="api_error")
    with pytest.raises(SDKDefaultError):
        mka1.list_suites()
    entries = ctl.journal()
    assert [(e["operation"], e["status"]) for e in entries] == [
        ("getEvalRun", 404), (None, 404), (None, 401), ("listEvalSuites", 500)]
    assert [e["vendor"] for e in entries] == ["mka1"] * 4
    assert entries[-1]["faults"] == ["fault_1"] and entries[0]["faults"] == []


def test_qianfan_requests_and_refused_signatures_are_journaled(client):
    ns = "journal-qianfan"
    signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json={"evalType": "auto"}, namespace=ns)
    signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json={"evalType": "auto"}, namespace=ns,
                sk="wrong-secret")
    entries = client.get("/_emulator/journal", headers={"X-Emulator-Namespace": ns}).json()["entries"]
    assert [(e["vendor"], e["operation"], e["status"]) for e in entries] == [
        ("qianfan", "DescribeEvalTasks", 200), ("qianfan", None, 403)]
    assert entries[0]["query"] == "Action=DescribeEvalTasks" and entries[0]["method"] == "POST"


def test_control_requests_are_not_journaled(client, ctl):
    ctl.advance(1)
    ctl.faults()
    ctl.clock()
    ctl.snapshot()
    client.get("/_emulator/health", headers={"X-Emulator-Namespace": TOKEN})
    assert ctl.journal() == []


@pytest.fixture
def traffic(mka1, suite, ctl):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    for _ in range(3):
        mka1.get_run(run_id=run.id)
    mka1.list_runs()
    with pytest.raises(SDKDefaultError):
        mka1.get_suite(suite_id="eval_suite_nope")
    mka1.get_suite(suite_id=suite.id)
    return run


def test_filters(traffic, ctl, suite):
    assert len(ctl.journal()) == 8
    assert len(ctl.journal(operation="getEvalRun")) == 3
    assert len(ctl.journal(operation="get_eval_run")) == 3
    assert [e["operation"] for e in ctl.journal(method="post")] == ["createEvalSuite", "createEvalRun"]
    assert len(ctl.journal(path="/api/v1/llm/evals/runs/*")) == 3
    assert len(ctl.journal(path="*/suites*")) == 3
    assert [e["path"] for e in ctl.journal(status=404)] == ["/api/v1/llm/evals/suites/eval_suite_nope"]
    assert ctl.journal(vendor="mka1") == ctl.journal()
    assert ctl.journal(vendor="mistral") == []
    assert len(ctl.journal(operation="getEvalSuite", status=200)) == 1


def test_since_and_limit(traffic, client, ctl):
    entries = ctl.journal()
    seqs = [e["seq"] for e in entries]
    assert ctl.journal(limit=2) == entries[-2:]  # the newest
    middle = seqs[3]
    assert [e["seq"] for e in ctl.journal(since=middle)] == seqs[4:]
    # Following the journal: each call gets the oldest entries after the last one seen, none skipped.
    seen, cursor = [], 0
    while True:
        page = ctl.journal(since=cursor, limit=3)
        if not page:
            break
        seen += [e["seq"] for e in page]
        cursor = page[-1]["seq"]
    assert seen == seqs
    body = client.get("/_emulator/journal", params={"limit": 1, "operation": "getEvalRun"},
                      headers={"X-Emulator-Namespace": TOKEN}).json()
    assert body["total"] == 3 and len(body["entries"]) == 1


@pytest.mark.parametrize("query", ["limit=0", "limit=10001", "since=abc", "status=teapot", "colour=red"])
def test_bad_journal_queries_are_refused(client, query):
    res = client.get(f"/_emulator/journal?{query}", headers={"X-Emulator-Namespace": TOKEN})
    assert res.status_code == 400 and res.json()["error"]["type"] == "invalid_request"


def test_clearing_keeps_the_sequence(traffic, ctl, mka1):
    last = ctl.journal()[-1]["seq"]
    assert ctl.clear_journal() == {"cleared": True}
    assert ctl.journal() == []
    mka1.list_runs()
    (entry,) = ctl.journal()
    assert entry["seq"] == last + 1  # a follower's `since` stays valid across a clear
    assert ctl.journal(since=last) == [entry]


def test_a_scenario_load_starts_a_new_journal(traffic, ctl, mka1):
    ctl.load_scenario(scenario())
    assert ctl.journal() == []
    mka1.list_suites()
    assert ctl.journal()[0]["time"] == MANUAL_START_EPOCH


def test_the_journal_is_bounded():
    journal = Journal(capacity=3)
    for n in range(5):
        journal.record(time=float(n), method="GET", path=f"/p/{n}", query="", vendor="mka1", operation="op",
                       status=200, namespace="ns")
    assert [e.seq for e in journal.entries] == [3, 4, 5]
    assert [e.path for e in journal.select(since=3)] == ["/p/3", "/p/4"]
    assert [e.path for e in journal.select(path="/p/[34]")] == ["/p/3", "/p/4"]
    journal.clear()
    assert list(journal.select()) == []
    assert journal.record(time=9.0, method="GET", path="/p", query="", vendor=None, operation=None, status=404,
                          namespace="ns").seq == 6


def test_the_default_journal_keeps_ten_thousand(client):
    from emulator.core.journal import DEFAULT_CAPACITY

    ns = client.app.state.world.get("bounded")
    assert ns.journal.entries.maxlen == DEFAULT_CAPACITY
