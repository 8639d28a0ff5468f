"""Qianfan's evaluation rules: tasks created from either family, listed with markers, stopped, reported.

Every read of one task goes through `task()`, which catches the task up on the namespace clock first. Handlers
never await in here, so each change is atomic on the event loop.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from operator import attrgetter
from typing import Any

from emulator.core.errors import ApiError, conflict, invalid
from emulator.core.ids import derived_hex, derived_hex_counted, derived_unit
from emulator.core.namespace import Namespace
from emulator.core.pagination import MarkerPage, marker_page
from emulator.core.store import Collection
from emulator.vendors.qianfan import catalog, wire
from emulator.vendors.qianfan.records import (
    EXPORT_LIFECYCLE,
    SCORED_STATES,
    TASK_LIFECYCLE,
    EvalTask,
    EvalUnit,
    ExportTask,
)

TASKS, EXPORTS, COUNTERS = "qianfan.tasks", "qianfan.exports", "qianfan.counters"
DEFAULT_MAX_KEYS, MAX_KEYS = 10, 100
BEIJING = timezone(timedelta(hours=8))  # the console reports times in Beijing time
ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyz0123456789"
JUDGE_SCORES = (1, 2, 3, 4, 5)  # the judge model's scale; -1 marks a sample the judge could not score


TASK_INDEXES = {"eval_type": attrgetter("eval_type"), "int_id": attrgetter("int_id")}
EXPORT_INDEXES = {"int_id": attrgetter("int_id")}


def tasks(ns: Namespace) -> Collection[EvalTask]:
    return ns.store.collection(TASKS, TASK_INDEXES)


def exports(ns: Namespace) -> Collection[ExportTask]:
    return ns.store.collection(EXPORTS, EXPORT_INDEXES)


def _count(ns: Namespace, what: str, start: int) -> int:
    counters = ns.extras.get(COUNTERS)
    if counters is None:
        counters = ns.extras[COUNTERS] = {}
    counters[what] = count = counters.get(what, start) + 1
    return count


def answer_digest(ns: Namespace) -> str:
    """The hex digest naming the next answer, from the namespace seed and a counter (so reproducible): its
    requestId (v2) or log_id (legacy) is made from it only when the answer is written."""
    return derived_hex_counted((ns.seed, "request"), _count(ns, "requests", 0))


def request_id(digest: str) -> str:
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def log_id(digest: str) -> str:
    return str(int(digest[:8], 16))


def _short_id(ns: Namespace, prefix: str) -> str:
    """`prefix` + 12 lowercase alphanumerics from one draw of the namespace's RNG (a draw per character cost a
    tenth of a task's creation)."""
    n = ns.rng.getrandbits(64)
    chars = []
    for _ in range(12):
        n, r = divmod(n, 36)
        chars.append(ALPHANUMERIC[r])
    return prefix + "".join(chars)


def clock_text(ts: float | None) -> str:
    """'YYYY-MM-DD HH:MM:SS' in Beijing time (the seed's createTime format); '' for a time not reached."""
    if ts is None:
        return ""
    return _beijing(math.floor(ts))


@lru_cache(maxsize=4096)
def _beijing(second: int) -> str:
    # Cached: a task's times are read again on every poll, and strftime is a fifth of a task's rendering.
    return datetime.fromtimestamp(second, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


# ---- lifecycle ------------------------------------------------------------------------------------------------


def _entered(task: EvalTask, state: str, at: float) -> None:
    if state == "Running" and task.started_at is None:
        task.started_at = at
    if state in TASK_LIFECYCLE.terminal:
        task.finished_at = at


def catch_up(ns: Namespace, task: EvalTask, *, polled: bool = False) -> EvalTask:
    """Bring a task up to the clock; `polled` marks a read of this task (a scenario timeline counts those)."""
    TASK_LIFECYCLE.catch_up(task, ns.now(), _entered, polled=polled)
    return task


def _numeric(ref: str) -> bool:
    return ref.isascii() and ref.isdigit() and len(ref) <= 18


def task(ns: Namespace, ref: Any, *, polled: bool = False) -> EvalTask:
    """The live task by its `ame-` id or its deprecated integer id (also as a numeric string), caught up."""
    col = tasks(ns)
    found = None
    if isinstance(ref, str) and not _numeric(ref):
        found = col.get(ref)
    elif isinstance(ref, (int, str)) and not isinstance(ref, bool):
        seqs = col.index("int_id", int(ref))
        found = col.by_seq(seqs[0]) if seqs else None
    if found is None:
        raise ApiError("not_found", f"evaluation task {ref!r} does not exist")
    return catch_up(ns, found, polled=polled)


# ---- create ---------------------------------------------------------------------------------------------------


def _unit_for_version(ns: Namespace, ref: str | int, config: dict[str, Any], baseline: bool = False) -> EvalUnit:
    version = catalog.find_version(ns.seed, ref)
    if version is not None:
        return EvalUnit(version.model.id, version.id, version.model.int_id, version.int_id, version.model.name,
                        version.version, baseline=baseline, config=config)
    # A model the catalog does not list (a user's own): ids and name derived from the reference.
    text = str(ref)
    version_id = ref if isinstance(ref, str) and not _numeric(ref) else \
        f"amv-{derived_hex(ns.seed, 'version', text, nbytes=6)}"
    version_int = int(ref) if isinstance(ref, int) or _numeric(ref) else 40000 + int(derived_unit(ns.seed, text) * 9999)
    return EvalUnit(f"am-{derived_hex(ns.seed, 'model-of', text, nbytes=6)}", version_id,
                    30000 + int(derived_unit(ns.seed, "model-int", text) * 9999), version_int,
                    f"user-model-{text.rsplit('-', 1)[-1][:32]}", "V1", baseline=baseline, config=config)


def _new_task(ns: Namespace, *, name: str, description: str, modes: list[str], object_type: str,
              units: list[EvalUnit], dataset_id: str, dataset_int_id: int, object_config: dict[str, Any],
              eval_config: dict[str, Any], created_at: float | None = None, hold: bool = False) -> EvalTask:
    now = ns.now() if created_at is None else created_at
    task_id = _short_id(ns, "ame-")
    record = EvalTask(
        id=task_id, int_id=_count(ns, "task", 10000), name=name, description=description, eval_modes=modes,
        eval_object_type=object_type, units=units, dataset_id=dataset_id, dataset_int_id=dataset_int_id,
        dataset_name=f"eval-dataset-{dataset_id[-6:]}", eval_object_config=object_config, eval_config=eval_config,
        result_dataset_id=f"ds-{derived_hex(ns.seed, 'result-dataset', task_id, nbytes=6)}",
        result_dataset_int_id=int(derived_hex(ns.seed, 'result-dataset-int', task_id, nbytes=3), 16),
        created_at=now, samples_per_unit=20 + int(derived_unit(ns.seed, dataset_id) * 30),
        status="Queued", status_since=now,
    )
    if "manual" in modes:  # people score it: the automatic part ends in RunningWithManualBegin, held there
        leaves = "RunningWithMetricsCalculating" if len(modes) > 1 else "Running"
        assert TASK_LIFECYCLE.can_move(leaves, "RunningWithManualBegin")
        record.detours[leaves] = "RunningWithManualBegin"
    tasks(ns).add(record.id, record)
    return record if hold else catch_up(ns, record)  # held: the caller scripts it before time replays


def create_v2(ns: Namespace, body: wire.CreateEvalTask, created_at: float | None = None, hold: bool = False
              ) -> EvalTask:
    modes = wire.eval_modes(body.evalConfig.evalMode)
    obj = body.evalObjectConfig
    if body.evalObjectType == "model":
        cfg = obj.evalModelConfig
        units = [_unit_for_version(ns, item.modelId, item.model_dump(exclude_none=True),
                                   bool((item.model_extra or {}).get("baseline")))
                 for item in cfg.evalModelConfigList]
        dataset_id = cfg.versionId
        config = {"evalModelConfig": cfg.model_dump(exclude_none=True)}
    else:
        cfg = obj.evalInferDatasetConfig
        units = [EvalUnit("", "", 0, 0, "", "", infer_dataset_id=item.inferDatasetId,
                          infer_dataset_name=f"infer-result-{item.inferDatasetId[-6:]}",
                          baseline=bool((item.model_extra or {}).get("baseline")),
                          config=item.model_dump(exclude_none=True))
                 for item in cfg.evalInferDatasetConfigList]
        dataset_id = ""
        config = {"evalInferDatasetConfig": cfg.model_dump(exclude_none=True)}
    return _new_task(ns, name=body.taskName, description=body.description, modes=modes,
                     object_type=body.evalObjectType, units=units, dataset_id=dataset_id,
                     dataset_int_id=int(derived_hex(ns.seed, "dataset-int", dataset_id, nbytes=3), 16),
                     object_config=config, eval_config=body.evalConfig.model_dump(exclude_none=True),
                     created_at=created_at, hold=hold)


def create_legacy(ns: Namespace, body: wire.CreateEvaluation, created_at: float | None = None) -> EvalTask:
    if body.id is not None:  # restart a pending evaluation with a new spec: only while it has not started
        pending = task(ns, body.id)
        if pending.status != "Queued":
            raise conflict(f"evaluation {pending.id} is {pending.status}; only a pending evaluation can be"
                           " restarted with a new spec")
        delete(ns, [pending.id])
    conf = body.evalStandardConf
    modes = wire.eval_modes(conf.evalMode)
    units = [_unit_for_version(ns, info.modelVersionId, info.model_dump(exclude_none=True))
             for info in body.versionEvalInfo]
    dataset = body.datasetId
    dataset_id = dataset if isinstance(dataset, str) and not _numeric(dataset) else \
        f"ds-{derived_hex(ns.seed, 'dataset', dataset, nbytes=6)}"
    dataset_int = int(dataset) if not isinstance(dataset, str) or _numeric(dataset) else \
        int(derived_hex(ns.seed, "dataset-int", dataset_id, nbytes=3), 16)
    eval_config: dict[str, Any] = {"evalMode": conf.evalMode}
    if conf.apiName:
        eval_config["autoModelEvalConfig"] = {k: v for k, v in {"apiName": conf.apiName,
                                                                  "appId": (conf.model_extra or {}).get("appId"),
                                                                  "prompt": (conf.model_extra or {}).get("prompt")
                                                                  }.items() if v is not None}
    if conf.scoreModes:
        eval_config["autoRuleEvalConfig"] = {"scoreModes": conf.scoreModes}
    if conf.evaluationDimension:
        eval_config["manualEvalConfig"] = {"evaluationDimension": conf.evaluationDimension}
    object_config = {"evalModelConfig": {"versionId": dataset_id, "storageType": "sysStorage",
                                         "evalModelConfigList": [{"modelId": u.model_version_id}
                                                                 for u in units]}}
    return _new_task(ns, name=body.name, description=body.description or "", modes=modes, object_type="model",
                     units=units, dataset_id=dataset_id, dataset_int_id=dataset_int, object_config=object_config,
                     eval_config=eval_config, created_at=created_at)


# ---- list -----------------------------------------------------------------------------------------------------


def matches(record: EvalTask, key: str) -> bool:
    """keyFilter: fuzzy (case-insensitive substring) on task name and task id, exact on a model version id."""
    needle = key.lower()
    if needle in record.name.lower() or needle in record.id.lower():
        return True
    return any(key in (u.model_version_id, str(u.model_version_int_id)) for u in record.units if u.model_version_id)


def list_tasks(ns: Namespace, q: wire.DescribeEvalTasks) -> tuple[MarkerPage[EvalTask], int]:
    limit = min(q.maxKeys if q.maxKeys is not None else DEFAULT_MAX_KEYS, MAX_KEYS)
    col = tasks(ns)
    if q.marker:
        known = col.get_any(q.marker)
        if known is None or known.eval_type != q.evalType:
            raise invalid(f"marker: {q.marker!r} is not a marker of this {q.evalType} task list; pass the"
                          " nextMarker of the previous page, or no marker for the first page")
    key = q.keyFilter
    page = marker_page(col, col.index("eval_type", q.evalType), marker=q.marker or None, limit=limit,
                       keep=(lambda t: matches(t, key)) if key else None, reverse=bool(q.pageReverse))
    return page, limit


# ---- stop / delete --------------------------------------------------------------------------------------------


def stop(ns: Namespace, ref: Any) -> EvalTask:
    """Only a purely automatic task that has not finished can be stopped (the vendor's documented rule)."""
    record = task(ns, ref)
    if "manual" in record.eval_modes:
        raise ApiError("conflict", f"evaluation task {record.id} includes manual evaluation (evalMode"
                       f" {record.eval_mode!r}); only purely automatic evaluation tasks can be stopped",
                       details={"status": record.status})
    if not TASK_LIFECYCLE.can("stop", record.status):
        raise ApiError("conflict", f"evaluation task {record.id} is {record.status}; only a task that is queued or"
                       " running can be stopped", details={"status": record.status})
    TASK_LIFECYCLE.act(record, "stop", ns.now(), _entered)
    record.stop_requested_at = ns.now()
    return record


def delete(ns: Namespace, refs: list[Any]) -> list[str]:
    """Deletes every named task, or none when one of them does not exist."""
    found = [task(ns, ref) for ref in refs]
    col = tasks(ns)
    gone = []
    for record in found:
        if col.get(record.id) is not None:
            col.remove(record.id)
            gone.append(record.id)
    return gone


# ---- results --------------------------------------------------------------------------------------------------


def _unit_key(record: EvalTask, index: int) -> str:
    return f"{record.id}/{index}"


def eval_unit_id(record: EvalTask, index: int) -> int:
    return record.int_id * 10 + index


def sample_scores(ns: Namespace, record: EvalTask, index: int, i: int) -> dict[str, float | int]:
    """One sample's scores, fixed by the seed: rule metrics when evalMode has rule, a judge score with model."""
    unit = _unit_key(record, index)
    skill = 0.35 + 0.5 * derived_unit(ns.seed, unit, "skill")  # each evaluated object has its own level
    scores: dict[str, float | int] = {}
    if "rule" in record.eval_modes:
        for metric, spread in (("bleu4", 0.35), ("rouge_1", 0.3), ("rouge_2", 0.35), ("rouge_l", 0.3)):
            base = skill - (0.15 if metric in ("bleu4", "rouge_2") else 0.0)
            value = base + spread * (derived_unit(ns.seed, unit, i, metric) - 0.5)
            scores[metric] = round(min(1.0, max(0.0, value)), 4)
        scores["exactMatch"] = int(derived_unit(ns.seed, unit, i, "exact") < skill * 0.8)
    if "model" in record.eval_modes:
        if derived_unit(ns.seed, unit, i, "judge-fails") < 0.03:
            scores["judgeScore"] = -1
        else:
            raw = skill * 4 + 1 + 1.6 * (derived_unit(ns.seed, unit, i, "judge") - 0.5)
            scores["judgeScore"] = int(min(5, max(1, round(raw))))
    return scores


def effect_metric(ns: Namespace, record: EvalTask, index: int) -> dict[str, Any]:
    """The report's metrics, computed from the same per-sample scores the result list shows."""
    if record.status not in SCORED_STATES:
        return {}
    samples = [sample_scores(ns, record, index, i) for i in range(record.samples_per_unit)]
    metric: dict[str, Any] = {}
    if "rule" in record.eval_modes:
        accuracy = sum(s["exactMatch"] for s in samples) / len(samples)
        precision = statistics.fmean(s["rouge_1"] for s in samples)
        metric["accuracy"] = round(accuracy, 4)
        metric["f1Score"] = round(2 * accuracy * precision / (accuracy + precision), 4) if accuracy + precision else 0.0
        for name in ("rouge_1", "rouge_2", "rouge_l", "bleu4"):
            metric[name] = round(statistics.fmean(s[name] for s in samples), 4)
    if "model" in record.eval_modes:
        judged = [s["judgeScore"] for s in samples if s["judgeScore"] != -1]
        metric["avgJudgeScore"] = round(statistics.fmean(judged), 4) if judged else 0.0
        metric["stdJudgeScore"] = round(statistics.pstdev(judged), 4) if judged else 0.0
        metric["medianJudgeScore"] = float(statistics.median(judged)) if judged else 0.0
        metric["scoreDistribution"] = {str(k): sum(1 for s in samples if s["judgeScore"] == k)
                                       for k in (-1, *JUDGE_SCORES)}
    return metric


def result_items(ns: Namespace, record: EvalTask, q: wire.ResultList) -> list[dict[str, Any]]:
    """Every scored sample of the task that passes the request's filters, in the requested order."""
    if record.status not in SCORED_STATES:
        return []
    versions = None if q.modelVersionIds is None else {str(v) for v in q.modelVersionIds}
    ranges = {name: getattr(q, name) for name in wire.RESULT_ORDER_FIELDS if getattr(q, name) is not None}
    items = []
    for index, unit in enumerate(record.units):
        if q.evalUnitId is not None and str(q.evalUnitId) != str(eval_unit_id(record, index)):
            continue
        if versions is not None and not versions & {unit.model_version_id, str(unit.model_version_int_id)}:
            continue
        for i in range(record.samples_per_unit):
            scores = sample_scores(ns, record, index, i)
            if any(name not in scores or not r.start <= scores[name] <= r.end for name, r in ranges.items()):
                continue
            items.append({"index": index, "i": i, "scores": scores})
    if q.orderBy is not None:
        missing = float("-inf")
        items.sort(key=lambda it: it["scores"].get(q.orderBy, missing), reverse=q.order == "desc")
    return items


def result_id(ns: Namespace, record: EvalTask, index: int, i: int) -> str:
    return "amer-" + derived_hex(ns.seed, "result", record.id, index, i, nbytes=6)


# ---- exports --------------------------------------------------------------------------------------------------


def create_export(ns: Namespace, body: wire.ExportResults) -> ExportTask:
    record = task(ns, body.id)
    if record.status not in SCORED_STATES:
        raise conflict(f"evaluation task {record.id} is {record.status}; results can be exported once its"
                       " automatic evaluation has finished")
    now = ns.now()
    found = ExportTask(id=_short_id(ns, "amemt-"), int_id=_count(ns, "export", 500), task_id=record.id,
                       export_type=body.exportType, export_opt=body.exportOpt, export_content=list(body.exportContent),
                       volume_id=body.volumeId or "", result_ids=list(body.resultIds or []), created_at=now,
                       status="Pending", status_since=now)
    exports(ns).add(found.id, found)
    return found


def export(ns: Namespace, ref: Any) -> ExportTask:
    col = exports(ns)
    found = None
    if isinstance(ref, str) and not _numeric(ref):
        found = col.get(ref)
    else:
        seqs = col.index("int_id", int(ref))
        found = col.by_seq(seqs[0]) if seqs else None
    if found is None:
        raise ApiError("not_found", f"export task {ref!r} does not exist")
    EXPORT_LIFECYCLE.catch_up(found, ns.now())
    return found
