"""GET /_emulator/resources: a namespace's runs and tasks, every vendor's, newest first, caught up to now and paged;
and the journal of one resource (GET /_emulator/journal?resource=)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.control.client import EmulatorControl, EmulatorError
from emulator.vendors.digitalocean.records import KNOWN_MODELS, MODEL_METRICS
from emulator.vendors.mistral import datasets as mistral_datasets
from emulator.vendors.mistral import service as mistral_service
from tests.control.conftest import MANUAL_START_EPOCH, error_body, scenario
from tests.property.qianfan_signing import signed_post

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"vendor", "kind", "id", "status", "terminal", "created", "status_since", "steps", "polls", "next"}


def runs(count: int = 1, extra: str = "") -> str:
    return scenario(f"""\
    - suite: s
      models: [gpt-4o-mini]
      generate: {count}
{extra}""")


def test_runs_are_listed_newest_first_and_caught_up_to_now(ctl, mka1, suite):
    first = mka1.create_run(suite_id=suite.id, models=["m"])
    second = mka1.create_run(suite_id=suite.id, models=["m"])
    page = ctl.resources()
    assert [r["id"] for r in page["resources"]] == [second.id, first.id]
    assert all(set(r) == FIELDS for r in page["resources"])
    listed = page["resources"][0]
    assert (listed["vendor"], listed["kind"], listed["status"], listed["terminal"]) == ("mka1", "run", "queued", False)
    assert listed["created"] == second.created_at and listed["steps"] == [] and listed["polls"] is None
    assert listed["next"] == {"status": "in_progress", "at": second.created_at + 2}  # the lifecycle's timed move
    assert page["next_cursor"] is None and page["total"] == 2
    assert {"vendor": "mka1", "kind": "run", "count": 2} in page["kinds"]
    ctl.advance(3600)  # no vendor read in between: the listing itself catches the stored status up
    after = ctl.resources(vendor="mka1")["resources"]
    assert [(r["status"], r["terminal"], r["next"]) for r in after] == [("completed", True, None)] * 2
    assert mka1.get_run(run_id=first.id).status == "completed"


def test_pages_hold_at_most_limit_items_and_a_cursor_walks_them_all(ctl, mka1):
    ctl.load_scenario(runs(23))
    seen, cursor, pages = [], None, 0
    while True:
        page = ctl.resources(limit=10, cursor=cursor)
        assert len(page["resources"]) <= 10 and page["total"] == 23
        seen += [r["id"] for r in page["resources"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 23
    assert seen == [r.id for r in mka1.list_runs(limit=100).data]  # the vendor's own newest-first order


def test_a_cursor_stays_valid_when_runs_are_added_or_deleted_between_pages(ctl, mka1, suite):
    ctl.load_scenario(runs(6))
    first = ctl.resources(limit=3)
    older = [r.id for r in mka1.list_runs(limit=100).data][3:]
    mka1.create_run(suite_id=mka1.list_suites().data[0].id, models=["m"])  # newer than the page: not on the next
    mka1.delete_run(run_id=first["resources"][-1]["id"])  # the cursor's own run, gone
    assert [r["id"] for r in ctl.resources(limit=3, cursor=first["next_cursor"])["resources"]] == older


def test_timeline_steps_still_to_come_are_listed_and_listing_is_not_a_poll(ctl, mka1):
    ctl.load_scenario(runs(1, """\
      timeline:
        - {after_polls: 2, status: in_progress}
        - {at: 90s, status: failed, error: {code: worker_lost, message: gone}}
"""))
    (run,) = ctl.resources()["resources"]
    assert run["steps"] == [{"after_polls": 2, "fields": {"status": "in_progress"}},
                            {"at": MANUAL_START_EPOCH + 90, "fields": {"status": "failed",
                                                                      "error": {"code": "worker_lost",
                                                                                "message": "gone"}}}]
    assert run["polls"] == 0 and run["next"] is None  # while steps are left, the timeline alone moves it
    for _ in range(3):
        ctl.resources()
    assert ctl.resources()["resources"][0]["polls"] == 0
    assert [mka1.get_run(run_id=run["id"]).status for _ in range(3)] == ["queued", "queued", "in_progress"]
    (moved,) = ctl.resources()["resources"]
    assert moved["status"] == "in_progress" and [s.get("at") for s in moved["steps"]] == [MANUAL_START_EPOCH + 90]
    ctl.advance(90)
    (done,) = ctl.resources()["resources"]
    assert (done["status"], done["terminal"], done["steps"]) == ("failed", True, [])


def test_every_vendor_lists_its_kinds_caught_up(client):
    ns = "resources-every-vendor"
    ctl = EmulatorControl(client=client, namespace=ns)
    text = (ROOT / "scenarios" / "demo.yaml").read_text().replace("mode: realtime", "mode: manual")
    ctl.load_scenario(text)
    world_ns = client.app.state.world.namespaces[ns]
    bearer = {"Authorization": "Bearer demo", "X-Emulator-Namespace": ns}
    # The kinds the demo does not make: a Qianfan export, a Mistral import task, a DigitalOcean model run.
    finished = next(r for r in ctl.resources(vendor="qianfan", limit=500)["resources"] if r["status"] == "Successed")
    made = signed_post(client, "/wenxinworkshop/modelrepo/eval/result/export", None, json={"id": finished["id"]},
                       ak="demo", sk="demo-sk", namespace=ns)
    assert made.status_code == 200 and "exportID" in made.text, made.text
    dataset = next(iter(mistral_datasets.datasets(world_ns).values()))
    event = next(iter(mistral_service.events(world_ns).values()))
    made = client.post(f"/v1/observability/datasets/{dataset.id}/imports/from-explorer",
                       json={"completion_event_ids": [event.event_id]}, headers=bearer)
    assert made.status_code == 202, made.text
    # DigitalOcean builds datasets only from uploads: presign, upload, then create.
    presigned = client.post("/v2/gen-ai/model_evaluation/datasets/file_upload_presigned_urls", headers=bearer,
                            json={"files": [{"file_name": "prompts.csv", "file_size": "64"}]}).json()["uploads"][0]
    uploaded = client.put(presigned["presigned_url"].removeprefix("http://testserver"),
                          content=b"query,expected_response\nQuestion 1?,Answer 1\n")
    assert uploaded.status_code == 200, uploaded.text
    data = client.post("/v2/gen-ai/evaluation_datasets", headers=bearer, json={
        "name": "prompts.csv", "dataset_type": "EVALUATION_DATASET_TYPE_MODEL",
        "file_upload_dataset": {"stored_object_key": presigned["object_key"], "size_in_bytes": "64"}}).json()
    judge, candidate = list(KNOWN_MODELS)[:2]
    made = client.post("/v2/gen-ai/model_evaluation_runs", headers=bearer, json={
        "name": "nightly", "dataset_uuid": data["evaluation_dataset_uuid"], "candidate_model_uuid": candidate,
        "judge_model_uuid": judge, "metric_uuids": [MODEL_METRICS[0].metric_uuid]})
    assert made.status_code == 200, made.text

    kinds = {(k["vendor"], k["kind"]): k["count"] for k in ctl.resources()["kinds"]}
    assert set(kinds) == {("mka1", "run"), ("qianfan", "task"), ("qianfan", "export"), ("mistral", "campaign"),
                          ("mistral", "import_task"), ("digitalocean", "evaluation_run"),
                          ("digitalocean", "model_run")}
    assert all(kinds.values())
    ctl.advance(3600)
    for (vendor, kind) in kinds:
        listed = ctl.resources(vendor=vendor, kind=kind, limit=500)["resources"]
        assert listed and all((r["vendor"], r["kind"]) == (vendor, kind) for r in listed)
        # An hour on, nothing is still moving on its own (the manual Qianfan task waits for people, and the
        # scripted Mistral campaign is held by its after_polls step).
        assert all(r["terminal"] or r["next"] is None for r in listed), listed
    assert ctl.resources(vendor="qianfan", kind="export")["resources"][0]["status"] == "Done"
    assert ctl.resources(vendor="mistral", kind="import_task")["resources"][0]["status"] == "COMPLETED"
    assert ctl.resources(kind="model_run")["resources"][0]["status"].startswith("MODEL_EVALUATION_RUN_")


def test_unknown_vendor_kind_or_cursor_is_refused(client, ctl):
    for query, needle in (({"vendor": "mka"}, "did you mean mka1"), ({"kind": "runz"}, "the kinds are"),
                          ({"vendor": "mka1", "kind": "task"}, "of mka1"), ({"cursor": "abc"}, "cursor"),
                          ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"colour": "red"}, "colour")):
        res = client.get("/_emulator/resources", params=query)
        assert res.status_code == 400, query
        assert needle in error_body(res)["message"], (query, res.text)


def test_reading_the_resources_of_an_unknown_namespace_makes_none(client):
    ctl = EmulatorControl(client=client, namespace="never-made")
    assert ctl.resources() == {"resources": [], "next_cursor": None, "total": 0,
                               "kinds": ctl.resources()["kinds"]}
    assert all(k["count"] == 0 for k in ctl.resources()["kinds"])
    assert "never-made" not in client.app.state.world.namespaces


def test_the_journal_of_one_resource(ctl, mka1, suite):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    other = mka1.create_run(suite_id=suite.id, models=["m"])
    mka1.get_run(run_id=run.id)
    mka1.get_run(run_id=other.id)
    mka1.cancel_run(run_id=run.id)
    mka1.list_samples(run_id=run.id)
    mine = ctl.journal(resource=run.id)
    assert [e["operation"] for e in mine] == ["getEvalRun", "cancelEvalRun", "listEvalSamples"]
    assert mine[0]["resource"] == run.id and mine[0]["state"] == "queued"
    assert [e["operation"] for e in ctl.journal(resource=other.id)] == ["getEvalRun"]
    assert ctl.journal(resource="eval_run_nothing") == []


def test_the_journal_of_a_qianfan_task_names_the_reads_that_answered_it(client):
    ns = "resources-qianfan-journal"
    ctl = EmulatorControl(client=client, namespace=ns)
    ctl.load_scenario("qianfan:\n  credentials: [{accessKey: ak, secretKey: sk}]\n  tasks: [{generate: 2}]\n")
    first, second = (r["id"] for r in ctl.resources()["resources"])
    for task in (first, second, first):  # the id travels in the body: the journal knows it from the answer
        signed_post(client, "/v2/eval", {"Action": "DescribeEvalTask"}, json={"taskId": task}, ak="ak", sk="sk",
                    namespace=ns)
    assert [e["operation"] for e in ctl.journal(resource=first)] == ["DescribeEvalTask"] * 2


def test_the_client_reports_a_refusal(client):
    with pytest.raises(EmulatorError) as info:
        EmulatorControl(client=client).resources(kind="nope")
    assert info.value.status == 400


def test_the_pytest_plugin_lists_a_tests_resources(emulator):
    emulator.load_scenario(runs(3))
    page = emulator.resources(limit=2)
    assert len(page["resources"]) == 2 and page["next_cursor"] and page["total"] == 3
