"""Qianfan's operation table: `POST /v2/eval?Action=...` (one row per Action) and the legacy
`POST /wenxinworkshop/modelrepo/eval/*` family (one row per route), handlers of one argument.

Both families share the gateway's bce-auth-v1 check (`authenticate`); the shared adapter parses the body with the
row's model and `render_result` wraps the handler's result in the family's envelope. A row's name is the Action
(v2) or `eval/<route>` (legacy); its aliases are the SDK's method names (`Eval.V2.describe_eval_tasks`,
`Model.get_evaluation_info`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.core.errors import ApiError
from emulator.core.namespace import Namespace
from emulator.core.jsonio import dumps
from emulator.core.operations import Answer, Call, Operation
from emulator.vendors.qianfan import LEGACY_PREFIX, V2_PATH, auth, render, service, wire
from emulator.vendors.qianfan.errors import is_legacy

MAX_BODY = 1 << 20


@dataclass(slots=True, eq=False)  # not frozen: a frozen dataclass costs 1.5 us more to make, per request
class Caller:
    """A verified request: its namespace and the digest its answer's requestId or log_id is written from."""

    ns: Namespace
    access_key: str
    answer: str


def authenticate(call: Call) -> Caller:
    signed = auth.verify(call)
    ns = call.world.get(signed.namespace)
    return Caller(ns, signed.access_key, service.answer_digest(ns))


def render_result(result, call: Call) -> Answer:
    """The family's success envelope around the handler's result (bytes: a result already encoded). The ids are
    hex digits and dashes, or digits: they need no escaping."""
    digest = call.caller.answer
    if not is_legacy(call):
        request_id = service.request_id(digest)
        if isinstance(result, bytes):
            return Answer(b'{"requestId":"%s","result":%s}' % (request_id.encode(), result))
        return Answer(dumps({"requestId": request_id, "result": result}))
    log_id = service.log_id(digest)
    if isinstance(result, bytes):
        return Answer(b'{"result":%s,"log_id":"%s"}' % (result, log_id.encode()))
    return Answer(dumps({"result": result, "log_id": log_id}))


# ---- /v2/eval handlers ------------------------------------------------------------------------------------------


def create_eval_task(call: Call):
    return service.create_v2(call.ns, call.body).id


def describe_eval_tasks(call: Call):
    page, max_keys = service.list_tasks(call.ns, call.body)
    return render.task_page(page, call.body.marker, max_keys)


def describe_eval_task(call: Call):
    return render.task_detail_bytes(call.ns, service.task(call.ns, call.body.taskId, polled=True))


def describe_eval_task_report(call: Call):
    return render.task_report(call.ns, service.task(call.ns, call.body.taskId))


def delete_eval_task(call: Call):
    service.delete(call.ns, [call.body.taskId])
    return {}


def stop_eval_task(call: Call):
    service.stop(call.ns, call.body.taskId)
    return {}


# ---- legacy handlers -----------------------------------------------------------------------------------------


def legacy_create(call: Call):
    return render.created(service.create_legacy(call.ns, call.body))


def legacy_detail(call: Call):
    return render.detail(service.task(call.ns, call.body.id, polled=True))


def legacy_report(call: Call):
    return render.legacy_report(call.ns, service.task(call.ns, call.body.id))


def legacy_cancel(call: Call):
    """The seed's refusal form: {"result": false, "errorMessage": ...} for a task that cannot be stopped."""
    try:
        service.stop(call.ns, call.body.id)
    except ApiError as refused:
        if refused.kind != "conflict":
            raise
        return render.stop_answer(False, refused.message)
    return render.stop_answer(True)


def legacy_export(call: Call):
    return render.export_created(service.create_export(call.ns, call.body))


def legacy_export_info(call: Call):
    return render.export_info(service.export(call.ns, call.body.exportID))


def legacy_result_list(call: Call):
    body = call.body
    task = service.task(call.ns, body.id)
    return render.result_page(call.ns, task, service.result_items(call.ns, task, body), body.pageNo, body.pageSize)


def legacy_delete(call: Call):
    service.delete(call.ns, call.body.evalIds)
    return {}


def legacy_model_list(call: Call):
    return render.model_list(call.ns)


V2_ROWS = (  # Action, handler, body model, the result's model (inside V2Answer)
    ("CreateEvalTask", create_eval_task, wire.CreateEvalTask, str),
    ("DescribeEvalTasks", describe_eval_tasks, wire.DescribeEvalTasks, wire.TaskPage),
    ("DescribeEvalTask", describe_eval_task, wire.TaskRef, wire.TaskDetail),
    ("DescribeEvalTaskReport", describe_eval_task_report, wire.TaskRef, list[wire.ReportEntry]),
    ("DeleteEvalTask", delete_eval_task, wire.TaskRef, wire.Nothing),
    ("StopEvalTask", stop_eval_task, wire.TaskRef, wire.Nothing),
)
LEGACY_ROWS = (  # route under LEGACY_PREFIX, handler, body model, the SDK's `Model` method, the result's model
    ("create", legacy_create, wire.CreateEvaluation, "create_evaluation_task", wire.Created),
    ("detail", legacy_detail, wire.EvalRef, "get_evaluation_info", dict[str, Any]),
    ("report", legacy_report, wire.EvalRef, "get_evaluation_result", list[dict[str, Any]]),
    ("cancel", legacy_cancel, wire.EvalRef, "stop_evaluation_task", wire.StopAnswer),
    ("result/export", legacy_export, wire.ExportResults, "create_evaluation_result_export_task", dict[str, Any]),
    ("result/export/info", legacy_export_info, wire.ExportRef, "get_evaluation_result_export_task_status",
     dict[str, Any]),
    ("result/list", legacy_result_list, wire.ResultList, "get_evaluation_result_list", dict[str, Any]),
    ("delete", legacy_delete, wire.BatchDelete, "batch_delete_evaluation_result", dict[str, Any]),
    ("model/list", legacy_model_list, wire.Empty, "evaluable_model_list", list[dict[str, Any]]),
)

# A task polled by DescribeEvalTask answers the same detail until the namespace changes or its clock moves (a
# task following a scripted timeline counts every poll, and is never remembered); the envelope around it, with
# its fresh requestId, is made for each answer (render_result).
REPEATABLE = ("DescribeEvalTask",)

# Every row is a POST. v2 rows are told apart by the Action; their alias is the SDK's `Eval.V2` method name.
OPERATIONS: tuple[Operation, ...] = tuple(
    Operation("POST", V2_PATH, action, handler, body=body, action=action, aliases=(handler.__name__,),
              response=wire.V2Answer[result], repeatable=action in REPEATABLE)
    for action, handler, body, result in V2_ROWS
) + tuple(
    Operation("POST", f"{LEGACY_PREFIX}/{route}", f"eval/{route}", handler, body=body, aliases=(sdk,),
              response=wire.LegacyAnswer[result])
    for route, handler, body, sdk, result in LEGACY_ROWS
)
