"""Datasets, records, imports and exports through mistralai 2.9.4: 201/202/204 where the SDK expects them,
import tasks that progress on the clock and add their records when they complete, records ops and errors."""

from __future__ import annotations

import json

import pytest

from tests.contract.mistral.strict import api_error
from tests.contract.mistral.test_events import CLASSIFICATION, EVENTS, REGRESSION

CHAT = {"messages": [{"role": "user", "content": "Where is my parcel?"},
                     {"role": "assistant", "content": "It ships tomorrow, sorry for the wait."}]}


@pytest.fixture
def four(load):
    load({"events": EVENTS})


@pytest.fixture
def dataset(obs):
    return obs.datasets.create(name="golden", description="curated answers")


def test_dataset_crud_and_list(obs, advance):
    made = obs.datasets.create(name="golden", description="curated answers")
    assert (made.name, made.description, made.deleted_at) == ("golden", "curated answers", None)
    assert obs.datasets.fetch(dataset_id=made.id).model_dump() == made.model_dump()
    advance(5)
    updated = obs.datasets.update(dataset_id=made.id, description="curated v2")
    assert (updated.name, updated.description) == ("golden", "curated v2")
    assert (updated.updated_at - updated.created_at).total_seconds() == 5
    assert obs.datasets.update(dataset_id=made.id, name=None).name == "golden"  # null leaves a field alone
    for i in range(3):
        obs.datasets.create(name=f"set {i}", description="")
    page = obs.datasets.list(page_size=2, page=2).datasets
    assert page.count == 4 and [d.name for d in page.results] == ["set 0", "golden"] and page.next is None
    assert [d.name for d in obs.datasets.list(q="GOLD").datasets.results] == ["golden"]
    assert obs.datasets.delete(dataset_id=made.id) is None
    for call in (obs.datasets.fetch, obs.datasets.delete, obs.datasets.export_to_jsonl):
        api_error(404, "DATASET_NOT_FOUND", call, dataset_id=made.id, match="not found")
    assert obs.datasets.list().datasets.count == 3


def test_records_create_list_fetch_update_delete(obs, dataset, advance):
    made = obs.datasets.create_record(dataset_id=dataset.id, payload=CHAT, properties={"split": "test"})
    assert made.source == "DIRECT_INPUT" and made.payload == CHAT and made.properties == {"split": "test"}
    assert made.dataset_id == dataset.id and made.deleted_at is None
    second = obs.datasets.create_record(dataset_id=dataset.id, payload=CHAT)
    assert second.properties == {}
    listing = obs.datasets.list_records(dataset_id=dataset.id).records
    assert listing.count == 2 and [r.id for r in listing.results] == [made.id, second.id]  # oldest first
    records = obs.datasets.records
    assert records.fetch(dataset_record_id=made.id) == made
    advance(3)
    new_chat = {"messages": [{"role": "user", "content": "Hi"}]}
    assert records.update_payload(dataset_record_id=made.id, payload=new_chat) is None
    assert records.update_properties(dataset_record_id=made.id, properties={"split": "train"}) is None
    got = records.fetch(dataset_record_id=made.id)
    assert got.payload == new_chat and got.properties == {"split": "train"}
    assert (got.updated_at - got.created_at).total_seconds() == 3
    api_error(422, "DATASET_RECORD_FORMAT_ERROR", records.update_payload, dataset_record_id=made.id,
              payload={"text": "no messages"}, match=r"payload\.messages")
    api_error(422, "DATASET_RECORD_FORMAT_ERROR", obs.datasets.create_record, dataset_id=dataset.id,
              payload={"messages": [{"role": "robot", "content": "x"}]}, match="role")
    assert records.delete(dataset_record_id=made.id) is None
    api_error(404, "DATASET_RECORD_NOT_FOUND", records.fetch, dataset_record_id=made.id, match="not found")
    assert obs.datasets.list_records(dataset_id=dataset.id).records.count == 1


def test_bulk_delete_is_all_or_nothing(obs, dataset):
    ids = [obs.datasets.create_record(dataset_id=dataset.id, payload=CHAT).id for _ in range(3)]
    api_error(404, "DATASET_RECORD_NOT_FOUND", obs.datasets.records.bulk_delete,
              dataset_record_ids=[ids[0], "missing"], match="missing")
    assert obs.datasets.list_records(dataset_id=dataset.id).records.count == 3
    assert obs.datasets.records.bulk_delete(dataset_record_ids=ids[:2]) is None
    assert [r.id for r in obs.datasets.list_records(dataset_id=dataset.id).records.results] == ids[2:]


def test_record_live_judging(obs, dataset):
    record = obs.datasets.create_record(dataset_id=dataset.id, payload=CHAT)
    verdict = obs.datasets.records.judge(dataset_record_id=record.id, judge_definition=CLASSIFICATION)
    assert verdict.answer == "POLITE"
    score = obs.datasets.records.judge(dataset_record_id=record.id, judge_definition=REGRESSION).answer
    assert 1 <= score <= 5
    api_error(404, "DATASET_RECORD_NOT_FOUND", obs.datasets.records.judge, dataset_record_id="nope",
              judge_definition=CLASSIFICATION, match="not found")


def test_import_from_explorer_runs_as_a_task(obs, dataset, four, advance):
    task = obs.datasets.import_from_explorer(dataset_id=dataset.id, completion_event_ids=["ev-1", "ev-3"])
    assert task.status == "RUNNING" and task.progress == 0 and task.message is None
    assert task.dataset_id == dataset.id and task.creator_id == dataset.owner_id
    assert obs.datasets.list_records(dataset_id=dataset.id).records.count == 0
    advance(0.7)  # 1 s + 0.2 s per item = 1.4 s
    assert obs.datasets.fetch_task(dataset_id=dataset.id, task_id=task.id).progress == 50
    advance(0.7)
    done = obs.datasets.fetch_task(dataset_id=dataset.id, task_id=task.id)
    assert (done.status, done.progress, done.message) == ("COMPLETED", 100, "Imported 2 record(s)")
    records = obs.datasets.list_records(dataset_id=dataset.id).records.results
    assert [r.properties["event_id"] for r in records] == ["ev-1", "ev-3"]
    assert records[0].source == "EXPLORER" and records[0].payload["messages"][0]["content"].startswith("Where")
    api_error(404, "SEARCH_NOT_FOUND", obs.datasets.import_from_explorer, dataset_id=dataset.id,
              completion_event_ids=["ev-1", "ev-9"], match="ev-9")
    api_error(422, "VALIDATION_ERROR", obs.datasets.import_from_explorer, dataset_id=dataset.id,
              completion_event_ids=[], match="completion_event_ids")


def test_import_from_campaign_needs_a_finished_campaign(obs, dataset, four, advance):
    judge = obs.judges.create(**CLASSIFICATION)
    campaign = obs.campaigns.create(search_params={"filters": None}, judge_id=judge.id, name="c", description="",
                                    max_nb_events=3)
    err = api_error(409, None, obs.datasets.import_from_campaign, dataset_id=dataset.id, campaign_id=campaign.id,
                    match="status 'RUNNING'")
    assert "COMPLETED" in str(err)
    advance(10)
    task = obs.datasets.import_from_campaign(dataset_id=dataset.id, campaign_id=campaign.id)
    advance(10)
    assert obs.datasets.fetch_task(dataset_id=dataset.id, task_id=task.id).status == "COMPLETED"
    records = obs.datasets.list_records(dataset_id=dataset.id).records.results
    assert [r.properties["event_id"] for r in records] == ["ev-1", "ev-2", "ev-3"]
    assert all(r.properties["answer"] in ("POLITE", "RUDE") and r.properties["campaign_id"] == campaign.id
               for r in records)
    api_error(404, "CAMPAIGN_NOT_FOUND", obs.datasets.import_from_campaign, dataset_id=dataset.id,
              campaign_id="nope", match="not found")


def test_file_playground_and_dataset_imports(obs, dataset, advance):
    other = obs.datasets.create(name="source", description="")
    src = [obs.datasets.create_record(dataset_id=other.id, payload=CHAT, properties={"n": i}) for i in range(2)]
    tasks = [obs.datasets.import_from_file(dataset_id=dataset.id, file_id="file-abc"),
             obs.datasets.import_from_playground(dataset_id=dataset.id, conversation_ids=["conv-1", "conv-2"]),
             obs.datasets.import_from_dataset_records(dataset_id=dataset.id, dataset_record_ids=[s.id for s in src])]
    assert all(t.status == "RUNNING" for t in tasks)
    listing = obs.datasets.list_tasks(dataset_id=dataset.id).tasks
    assert listing.count == 3 and [t.id for t in listing.results] == [t.id for t in reversed(tasks)]
    advance(60)
    assert {t.status for t in obs.datasets.list_tasks(dataset_id=dataset.id).tasks.results} == {"COMPLETED"}
    records = obs.datasets.list_records(dataset_id=dataset.id, page_size=100).records.results
    sources = [r.source for r in records]
    files = sources.count("UPLOADED_FILE")
    assert 3 <= files <= 8 and sources.count("PLAYGROUND") == 2 and sources.count("DIRECT_INPUT") == 2
    assert [r.properties for r in records if r.source == "DIRECT_INPUT"] == [{"n": 0}, {"n": 1}]
    assert [r.properties["conversation_id"] for r in records if r.source == "PLAYGROUND"] == ["conv-1", "conv-2"]
    assert all(r.payload["messages"][-1]["role"] == "assistant" for r in records)
    api_error(404, "DATASET_TASK_NOT_FOUND", obs.datasets.fetch_task, dataset_id=other.id, task_id=tasks[0].id,
              match="not found")
    api_error(404, "DATASET_NOT_FOUND", obs.datasets.import_from_file, dataset_id="nope", file_id="f",
              match="not found")


def test_export_to_jsonl_freezes_the_records(obs, dataset, client):
    for i in range(2):
        obs.datasets.create_record(dataset_id=dataset.id, payload=CHAT, properties={"i": i})
    url = obs.datasets.export_to_jsonl(dataset_id=dataset.id).file_url
    assert url.startswith("http://testserver/v1/observability/dataset-exports/") and url.endswith(".jsonl")
    obs.datasets.create_record(dataset_id=dataset.id, payload=CHAT)
    res = client.get(url, headers={"Authorization": "Bearer mistral-test-key"})
    assert res.status_code == 200 and res.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in res.text.splitlines()]
    assert lines == [{"payload": CHAT, "properties": {"i": 0}}, {"payload": CHAT, "properties": {"i": 1}}]
