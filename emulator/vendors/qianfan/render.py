"""Wire shapes of both families, built from the one task record."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from emulator.core.fake import faker_for
from emulator.core.jsonio import dumps_kept
from emulator.core.namespace import Namespace
from emulator.core.pagination import MarkerPage
from emulator.vendors.qianfan import catalog
from emulator.vendors.qianfan.records import LEGACY_STATE, EvalTask, EvalUnit, ExportTask
from emulator.vendors.qianfan.service import (
    clock_text,
    effect_metric,
    eval_unit_id,
    result_id,
    sample_scores,
)

# ---- /v2/eval -------------------------------------------------------------------------------------------------


def task_summary(t: EvalTask) -> dict[str, Any]:
    return {"taskId": t.id, "taskName": t.name, "evalType": t.eval_type, "evalMode": t.eval_mode,
            "description": t.description, "createTime": clock_text(t.created_at)}


def task_page(page: MarkerPage[EvalTask], marker: str | None, max_keys: int) -> dict[str, Any]:
    info: dict[str, Any] = {"marker": marker or "", "maxKeys": max_keys, "isTruncated": page.next is not None}
    if page.next is not None:
        info["nextMarker"] = page.next.id
    return {"evalTaskList": [task_summary(t) for t in page.items], "pageInfo": info}


def task_detail(t: EvalTask) -> dict[str, Any]:
    return {**task_summary(t), "state": t.status, "evalObjectType": t.eval_object_type,
            "evalObjectConfig": t.eval_object_config, "evalConfig": t.eval_config,
            "startTime": clock_text(t.started_at), "finishTime": clock_text(t.finished_at)}


DETAILS_KEPT = 5_000  # encoded task details a namespace keeps (the most recently read)


def task_detail_bytes(ns: Namespace, t: EvalTask) -> bytes:
    """task_detail encoded, kept while what can change of it stays as it was: a task's state and its start and
    finish times are all that moves once it is created, so a task polled again and again is encoded again only
    when it moves."""
    kept: OrderedDict[tuple, bytes] = ns.cache.setdefault("qianfan.details", OrderedDict())
    key = (t.id, t.status, t.started_at, t.finished_at)
    found = kept.get(key)
    if found is None:
        found = kept[key] = dumps_kept(task_detail(t))
        if len(kept) > DETAILS_KEPT:
            kept.popitem(last=False)
    else:
        kept.move_to_end(key)
    return found


def task_report(ns: Namespace, t: EvalTask) -> list[dict[str, Any]]:
    return [{"taskId": t.id, "taskName": t.name, "modelId": u.model_version_id, "inferDatasetId": u.infer_dataset_id,
             "evalObjectType": t.eval_object_type, "evalMode": t.eval_mode, "effectMetric": effect_metric(ns, t, i)}
            for i, u in enumerate(t.units)]


# ---- /wenxinworkshop/modelrepo/eval ---------------------------------------------------------------------------


def created(t: EvalTask) -> dict[str, Any]:
    return {"evalId": t.int_id, "evalIdStr": t.id}


def _unit_state(t: EvalTask) -> str:
    return LEGACY_STATE[t.status]


def _legacy_unit(t: EvalTask, index: int, u: EvalUnit) -> dict[str, Any]:
    return {"evalUnitId": eval_unit_id(t, index), "modelName": u.model_name or u.infer_dataset_name,
            "modelId": u.model_int_id, "modelIdStr": u.model_id, "modelVersionId": u.model_version_int_id,
            "modelVersionIdStr": u.model_version_id, "version": u.model_version,
            "inferDatasetId": u.infer_dataset_id, "inferDatasetName": u.infer_dataset_name,
            "state": _unit_state(t), "message": "" if t.status != "Failed" else "evaluation failed"}


def detail(t: EvalTask) -> dict[str, Any]:
    cfg = t.eval_config
    judge = cfg.get("autoModelEvalConfig") or {}
    rule = cfg.get("autoRuleEvalConfig") or {}
    manual = cfg.get("manualEvalConfig") or {}
    dimensions = manual.get("evaluationDimension") or (
        [{"dimension": "满意度", "description": "", "minScore": 0, "maxScore": 5}] if "manual" in t.eval_modes else [])
    return {
        "evaluationId": t.int_id, "evaluationIdStr": t.id, "name": t.name, "description": t.description,
        "state": LEGACY_STATE[t.status], "createTime": clock_text(t.created_at),
        "evalUnits": [_legacy_unit(t, i, u) for i, u in enumerate(t.units)],
        "datasetName": t.dataset_name, "datasetId": t.dataset_int_id, "datasetIdStr": t.dataset_id,
        "evalStandardConf": {
            "evalMode": t.eval_mode,
            "scoreModes": rule.get("scoreModes", ["similarity", "accuracy"] if "rule" in t.eval_modes else []),
            "stopWordsPath": rule.get("stopWordsPath", ""),
            "appId": judge.get("appId", 0), "apiName": judge.get("apiName", ""),
            "prompt": judge.get("prompt") or {"templateName": "", "templateContent": "", "metric": "", "steps": "",
                                              "minScore": 1, "maxScore": 5},
            "evaluationDimension": dimensions,
            "resultDatasetId": t.result_dataset_int_id, "resultDatasetIdStr": t.result_dataset_id,
        },
        "computeResourceConf": {"vmType": 1, "vmNumber": 8, "computeResourceId": "", "cpu": 0, "memory": 0},
    }


def legacy_report(ns: Namespace, t: EvalTask) -> list[dict[str, Any]]:
    rows = []
    for i, u in enumerate(t.units):
        version = catalog.find_version(ns.seed, u.model_version_id) if u.model_version_id else None
        rows.append({
            "evaluationId": t.int_id, "evaluationIdStr": t.id, "evaluationName": t.name,
            "modelId": u.model_int_id, "modelIdStr": u.model_id, "modelVersionId": u.model_version_int_id,
            "modelVersionIdStr": u.model_version_id, "modelName": u.model_name or u.infer_dataset_name,
            "modelVersion": u.model_version,
            "modelVersionSource": version.model.source if version else ("UserCreate" if u.model_id else ""),
            "evalMode": t.eval_mode, "effectMetric": effect_metric(ns, t, i),
            "modelForm": t.eval_object_type, "evalUnitId": eval_unit_id(t, i),
            "inferDatasetId": u.infer_dataset_id, "inferDatasetName": u.infer_dataset_name,
        })
    return rows


def stop_answer(accepted: bool, message: str = "") -> dict[str, Any]:
    return {"result": accepted, "errorMessage": message}


def export_created(e: ExportTask) -> dict[str, Any]:
    return {"exportID": e.int_id, "exportIDStr": e.id}


def export_info(e: ExportTask) -> dict[str, Any]:
    done = e.status == "Done"
    path = f"bos:/{e.volume_id}/qianfan-eval-export/{e.task_id}/{e.id}.zip" if e.export_type == "storage" else ""
    url = f"https://qianfan-eval-export.bj.bcebos.com/{e.task_id}/{e.id}.zip" if done and e.export_type == "local" \
        else ""
    return {"id": e.int_id, "exportID": e.int_id, "exportIDStr": e.id, "state": e.status,
            "exportType": e.export_type, "volumeId": e.volume_id, "exportPath": path if done else "",
            "downloadUrl": url}


def result_page(ns: Namespace, t: EvalTask, items: list[dict[str, Any]], page_no: int, page_size: int
                ) -> dict[str, Any]:
    start = (page_no - 1) * page_size
    rows = []
    for it in items[start:start + page_size]:
        index, i, scores = it["index"], it["i"], it["scores"]
        u = t.units[index]
        fake = faker_for(ns.seed, t.id, index, i)
        metrics = {k: v for k, v in scores.items() if k != "exactMatch"}
        rows.append({
            "resultId": result_id(ns, t, index, i), "evalUnitId": eval_unit_id(t, index),
            "modelVersionId": u.model_version_int_id, "modelVersionIdStr": u.model_version_id,
            "inferDatasetId": u.infer_dataset_id,
            "prompt": fake.sentence(nb_words=10).rstrip(".") + "?",
            "completion": fake.sentence(nb_words=14), "prediction": fake.sentence(nb_words=16),
            "metrics": metrics,
        })
    return {"pageNo": page_no, "pageSize": page_size, "totalCount": len(items), "items": rows}


def model_list(ns: Namespace) -> list[dict[str, Any]]:
    return [{
        "modelId": m.int_id, "modelIdStr": m.id, "modelName": m.name, "source": m.source, "modelType": m.model_type,
        "trainType": m.train_type,
        "modelVersionList": [{"modelVersionId": v.int_id, "modelVersionIdStr": v.id, "version": v.version,
                              "sourceType": m.source, "framework": "paddle", "algorithm": m.train_type,
                              "modelNet": m.name, "trainType": m.train_type, "description": ""}
                             for v in m.versions],
    } for m in catalog.models(ns.seed)]
