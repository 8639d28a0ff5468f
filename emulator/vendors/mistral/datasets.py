"""Datasets, their records, import tasks and JSONL exports.

An import fixes the records it will add when it starts (so later changes to its source do not leak in), runs
as a task on the namespace clock, and adds them when it completes, stamped with the completion time. Every
dataset-scoped read or write first lets the dataset's running tasks catch up.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from emulator.core.jsonio import dumps
from emulator.core.namespace import Namespace
from emulator.core.pagination import numbered_page
from emulator.core.store import Collection
from emulator.vendors.mistral import PREFIX, generate, wire
from emulator.vendors.mistral.errors import error
from emulator.vendors.mistral.records import (
    CAMPAIGN_LIFECYCLE,
    IMPORT_BASE_SECONDS,
    IMPORT_LIFECYCLE,
    IMPORT_SECONDS_PER_ITEM,
    Dataset,
    DatasetRecord,
    Export,
    ImportTask,
)
from emulator.vendors.mistral.service import (
    Caller,
    campaign_verdicts,
    events,
    get_campaign,
    new_uuid,
    valid_messages,
)

BY_DATASET = {"dataset": attrgetter("dataset_id")}


def datasets(ns: Namespace) -> Collection[Dataset]:
    return ns.store.collection("mistral.datasets")


def records(ns: Namespace) -> Collection[DatasetRecord]:
    return ns.store.collection("mistral.dataset_records", BY_DATASET)


def tasks(ns: Namespace) -> Collection[ImportTask]:
    return ns.store.collection("mistral.import_tasks", BY_DATASET)


def exports(ns: Namespace) -> Collection[Export]:
    return ns.store.collection("mistral.exports")


# ---- datasets ---------------------------------------------------------------------------------------------------


def create_dataset(c: Caller, body: wire.CreateDataset) -> Dataset:
    now = c.now
    dataset = Dataset(id=new_uuid(c.ns), created_at=now, updated_at=now, owner_id=c.owner_id,
                      workspace_id=c.workspace_id, name=body.name, description=body.description)
    return datasets(c.ns).add(dataset.id, dataset)


def get_dataset(c: Caller, dataset_id: str) -> Dataset:
    found = datasets(c.ns).get(dataset_id)
    if found is None:
        raise error("DATASET_NOT_FOUND", f"Dataset {dataset_id!r} not found")
    sync_tasks(c, dataset_id)
    return found


def list_datasets(c: Caller, query: wire.PageQuery) -> tuple[list[Dataset], int]:
    needle = (query.q or "").lower()
    keep = (lambda d: needle in d.name.lower() or needle in d.description.lower()) if needle else None
    store = datasets(c.ns)
    return numbered_page(store, store.index(), page=query.page, page_size=query.page_size, keep=keep)


def update_dataset(c: Caller, dataset_id: str, body: wire.UpdateDataset) -> Dataset:
    dataset = get_dataset(c, dataset_id)
    if body.name is not None:
        dataset.name = body.name
    if body.description is not None:
        dataset.description = body.description
    dataset.updated_at = c.now
    return dataset


def delete_dataset(c: Caller, dataset_id: str) -> None:
    dataset = get_dataset(c, dataset_id)
    dataset.deleted_at = dataset.updated_at = c.now
    datasets(c.ns).remove(dataset_id)


# ---- records ----------------------------------------------------------------------------------------------------


def _check_payload(payload: dict[str, Any], where: str = "payload") -> dict[str, Any]:
    """A record's payload holds the conversation under `messages`, as the judges read it."""
    valid_messages(payload.get("messages"), "DATASET_RECORD_FORMAT_ERROR", f"{where}.messages")
    return payload


def _add_record(ns: Namespace, dataset_id: str, at: float, payload: dict, properties: dict, source: str
                ) -> DatasetRecord:
    record = DatasetRecord(id=new_uuid(ns), created_at=at, updated_at=at, dataset_id=dataset_id,
                           payload=payload, properties=properties, source=source)
    return records(ns).add(record.id, record)


def create_record(c: Caller, dataset_id: str, body: wire.CreateRecord) -> DatasetRecord:
    get_dataset(c, dataset_id)
    payload = _check_payload(body.payload)
    return _add_record(c.ns, dataset_id, c.now, payload, body.properties or {}, "DIRECT_INPUT")


def list_records(c: Caller, dataset_id: str, query: wire.PageQuery) -> tuple[list[DatasetRecord], int]:
    get_dataset(c, dataset_id)
    store = records(c.ns)
    return numbered_page(store, store.index("dataset", dataset_id), page=query.page, page_size=query.page_size,
                         newest_first=False)


def get_record(c: Caller, record_id: str) -> DatasetRecord:
    found = records(c.ns).get(record_id)
    if found is None or datasets(c.ns).get(found.dataset_id) is None:
        raise error("DATASET_RECORD_NOT_FOUND", f"Dataset record {record_id!r} not found")
    return found


def delete_record(c: Caller, record_id: str) -> None:
    record = get_record(c, record_id)
    record.deleted_at = record.updated_at = c.now
    records(c.ns).remove(record_id)


def bulk_delete(c: Caller, body: wire.RecordIds) -> None:
    """All or nothing: one unknown id refuses the whole call."""
    found = [get_record(c, record_id) for record_id in dict.fromkeys(body.dataset_record_ids)]
    for record in found:
        record.deleted_at = record.updated_at = c.now
        records(c.ns).remove(record.id)


def update_payload(c: Caller, record_id: str, body: wire.Payload) -> None:
    record = get_record(c, record_id)
    record.payload = _check_payload(body.payload)
    record.updated_at = c.now


def update_properties(c: Caller, record_id: str, body: wire.Properties) -> None:
    record = get_record(c, record_id)
    record.properties = body.properties
    record.updated_at = c.now


def judge_record(c: Caller, record_id: str, body: wire.JudgeWithDefinition) -> dict[str, Any]:
    from emulator.vendors.mistral import judging

    record = get_record(c, record_id)
    messages = _check_payload(record.payload)["messages"]
    return judging.judge(c.ns.seed, body.judge_definition.as_dict(), messages)


# ---- imports ----------------------------------------------------------------------------------------------------


def _on_enter(ns: Namespace):
    def entered(task: ImportTask, status: str, at: float) -> None:
        task.updated_at = at
        if status == "COMPLETED":
            for item in task.pending:
                _add_record(ns, task.dataset_id, at, item["payload"], item["properties"], item["source"])
            task.imported = len(task.pending)
            task.message = f"Imported {task.imported} record(s)"
            task.pending = []
        elif status in IMPORT_LIFECYCLE.terminal:
            task.message = f"Import {status.lower().replace('_', ' ')}: no record was added"
            task.pending = []
    return entered


def sync_task(c: Caller, task: ImportTask) -> ImportTask:
    """Every read of a task passes here: it catches up with the clock (and adds its records on completion)."""
    IMPORT_LIFECYCLE.catch_up(task, c.now, _on_enter(c.ns))
    return task


def sync_tasks(c: Caller, dataset_id: str) -> None:
    store = tasks(c.ns)
    for seq in list(store.index("dataset", dataset_id)):
        task = store.by_seq(seq)
        if task.status not in IMPORT_LIFECYCLE.terminal:
            sync_task(c, task)


def progress(c: Caller, task: ImportTask) -> int:
    if task.status == "COMPLETED":
        return 100
    if task.status != "RUNNING":
        return 0
    total = task.durations.get("RUNNING") or IMPORT_BASE_SECONDS
    return max(0, min(99, int(100 * (c.now - task.status_since) / total)))


def _start(c: Caller, dataset_id: str, kind: str, pending: list[dict[str, Any]]) -> ImportTask:
    now = c.now
    task = ImportTask(id=new_uuid(c.ns), created_at=now, updated_at=now, creator_id=c.owner_id,
                      dataset_id=dataset_id, workspace_id=c.workspace_id, kind=kind, pending=pending,
                      status="RUNNING", status_since=now,
                      durations={"RUNNING": IMPORT_BASE_SECONDS + IMPORT_SECONDS_PER_ITEM * len(pending)})
    return tasks(c.ns).add(task.id, task)


def _item(payload: dict, properties: dict, source: str) -> dict[str, Any]:
    return {"payload": payload, "properties": properties, "source": source}


def import_from_campaign(c: Caller, dataset_id: str, body: wire.FromCampaign) -> ImportTask:
    get_dataset(c, dataset_id)
    campaign = get_campaign(c, body.campaign_id)
    CAMPAIGN_LIFECYCLE.require(campaign, "export", what=f"campaign {campaign.id!r} into a dataset")
    pending = [_item({"messages": event.request_messages + event.response_messages},
                     {"campaign_id": campaign.id, "event_id": event.event_id, "judge_id": campaign.judge_id,
                      "answer": verdict["answer"], "analysis": verdict["analysis"]}, "EXPLORER")
               for event, verdict in campaign_verdicts(c, campaign)]
    return _start(c, dataset_id, "from-campaign", pending)


def import_from_explorer(c: Caller, dataset_id: str, body: wire.FromExplorer) -> ImportTask:
    get_dataset(c, dataset_id)
    store = events(c.ns)
    ids = list(dict.fromkeys(body.completion_event_ids))
    missing = [i for i in ids if store.get(i) is None]
    if missing:
        raise error("SEARCH_NOT_FOUND", f"Chat completion event(s) not found: {', '.join(map(repr, missing[:10]))}")
    pending = []
    for event_id in ids:
        event = store.get(event_id)
        pending.append(_item({"messages": event.request_messages + event.response_messages},
                             {"event_id": event_id, "model": event.extra.get("model")}, "EXPLORER"))
    return _start(c, dataset_id, "from-explorer", pending)


def import_from_file(c: Caller, dataset_id: str, body: wire.FromFile) -> ImportTask:
    """The emulator holds no files: a file id stands for a JSONL file of 3 to 8 plausible conversations."""
    get_dataset(c, dataset_id)
    from emulator.core.fake import faker_for

    lines = faker_for(c.ns.seed, "mistral.file", body.file_id).random_int(3, 8)
    pending = []
    for line in range(lines):
        request, response = generate.conversation(c.ns.seed, "file", body.file_id, line)
        pending.append(_item({"messages": request + response}, {"file_id": body.file_id, "line": line + 1},
                             "UPLOADED_FILE"))
    return _start(c, dataset_id, "from-file", pending)


def import_from_playground(c: Caller, dataset_id: str, body: wire.FromPlayground) -> ImportTask:
    """Playground conversations are not held either: each id stands for one plausible conversation."""
    get_dataset(c, dataset_id)
    pending = []
    for conversation_id in dict.fromkeys(body.conversation_ids):
        request, response = generate.conversation(c.ns.seed, "playground", conversation_id)
        pending.append(_item({"messages": request + response}, {"conversation_id": conversation_id}, "PLAYGROUND"))
    return _start(c, dataset_id, "from-playground", pending)


def import_from_dataset(c: Caller, dataset_id: str, body: wire.FromDataset) -> ImportTask:
    get_dataset(c, dataset_id)
    found = [get_record(c, record_id) for record_id in dict.fromkeys(body.dataset_record_ids)]
    pending = [_item(dict(r.payload), dict(r.properties), r.source) for r in found]
    return _start(c, dataset_id, "from-dataset", pending)


def get_task(c: Caller, dataset_id: str, task_id: str) -> ImportTask:
    get_dataset(c, dataset_id)
    found = tasks(c.ns).get(task_id)
    if found is None or found.dataset_id != dataset_id:
        raise error("DATASET_TASK_NOT_FOUND", f"Import task {task_id!r} not found in dataset {dataset_id!r}")
    return sync_task(c, found)


def list_tasks(c: Caller, dataset_id: str, query: wire.PageQuery) -> tuple[list[ImportTask], int]:
    get_dataset(c, dataset_id)
    store = tasks(c.ns)
    return numbered_page(store, store.index("dataset", dataset_id), page=query.page, page_size=query.page_size)


# ---- exports ----------------------------------------------------------------------------------------------------


def export_jsonl(c: Caller, dataset_id: str) -> str:
    """Freeze the dataset's records as JSONL ({"payload", "properties"} per line); answers the file URL."""
    get_dataset(c, dataset_id)
    store = records(c.ns)
    lines = [dumps({"payload": r.payload, "properties": r.properties}).decode()
             for r in store.many(list(store.index("dataset", dataset_id)))]
    export = Export(id=new_uuid(c.ns), dataset_id=dataset_id, created_at=c.now,
                    content="".join(line + "\n" for line in lines))
    exports(c.ns).add(export.id, export)
    return f"{c.base_url}{PREFIX}/dataset-exports/{export.id}.jsonl"


def get_export(c: Caller, export_id: str) -> Export:
    found = exports(c.ns).get(export_id)
    if found is None:
        raise error("DATASET_NOT_FOUND", f"Export {export_id!r} not found (exports are read with the same API key)")
    return found
