"""Qianfan routes: `POST /v2/eval?Action=...` dispatched on the Action, and the legacy
`POST /wenxinworkshop/modelrepo/eval/*` family, both through one entry wrapper.

The wrapper checks the bce-auth-v1 signature, resolves the namespace, passes the faults hook, parses the body
with the row's model, runs the handler and wraps its result in the family's envelope.
"""

from __future__ import annotations

import logging
from typing import Any, Callable
from urllib.parse import parse_qsl

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.core import faults
from emulator.core.errors import ApiError
from emulator.core.http import headers_of
from emulator.core.jsonio import loads
from emulator.core.namespace import Namespace
from emulator.core.validation import parse
from emulator.vendors.qianfan import LEGACY_PREFIX, V2_PATH, auth, render, service, wire
from emulator.vendors.qianfan.errors import LEGACY, V2, family, json_response, legacy_error, render_error, request_ids

log = logging.getLogger("emulator.qianfan")
MAX_BODY = 1 << 20
Handler = Callable[[Namespace, Any], Any]


# ---- /v2/eval handlers: (ns, body) -> result -----------------------------------------------------------------


def create_eval_task(ns, b):
    return service.create_v2(ns, b).id


def describe_eval_tasks(ns, b):
    page, max_keys = service.list_tasks(ns, b)
    return render.task_page(page, b.marker, max_keys)


def describe_eval_task(ns, b):
    return render.task_detail(service.task(ns, b.taskId, polled=True))


def describe_eval_task_report(ns, b):
    return render.task_report(ns, service.task(ns, b.taskId))


def delete_eval_task(ns, b):
    service.delete(ns, [b.taskId])
    return {}


def stop_eval_task(ns, b):
    service.stop(ns, b.taskId)
    return {}


ACTIONS: dict[str, tuple[Handler, type[BaseModel]]] = {
    "CreateEvalTask": (create_eval_task, wire.CreateEvalTask),
    "DescribeEvalTasks": (describe_eval_tasks, wire.DescribeEvalTasks),
    "DescribeEvalTask": (describe_eval_task, wire.TaskRef),
    "DescribeEvalTaskReport": (describe_eval_task_report, wire.TaskRef),
    "DeleteEvalTask": (delete_eval_task, wire.TaskRef),
    "StopEvalTask": (stop_eval_task, wire.TaskRef),
}


# ---- legacy handlers -----------------------------------------------------------------------------------------


def legacy_create(ns, b):
    return render.created(service.create_legacy(ns, b))


def legacy_detail(ns, b):
    return render.detail(service.task(ns, b.id, polled=True))


def legacy_report(ns, b):
    return render.legacy_report(ns, service.task(ns, b.id))


def legacy_cancel(ns, b):
    """The seed's refusal form: {"result": false, "errorMessage": ...} for a task that cannot be stopped."""
    try:
        service.stop(ns, b.id)
    except ApiError as refused:
        if refused.kind != "conflict":
            raise
        return render.stop_answer(False, refused.message)
    return render.stop_answer(True)


def legacy_export(ns, b):
    return render.export_created(service.create_export(ns, b))


def legacy_export_info(ns, b):
    return render.export_info(service.export(ns, b.exportID))


def legacy_result_list(ns, b):
    task = service.task(ns, b.id)
    return render.result_page(ns, task, service.result_items(ns, task, b), b.pageNo, b.pageSize)


def legacy_delete(ns, b):
    service.delete(ns, b.evalIds)
    return {}


def legacy_model_list(ns, b):
    return render.model_list(ns)


LEGACY_ROUTES: dict[str, tuple[Handler, type[BaseModel]]] = {
    "create": (legacy_create, wire.CreateEvaluation),
    "detail": (legacy_detail, wire.EvalRef),
    "report": (legacy_report, wire.EvalRef),
    "cancel": (legacy_cancel, wire.EvalRef),
    "result/export": (legacy_export, wire.ExportResults),
    "result/export/info": (legacy_export_info, wire.ExportRef),
    "result/list": (legacy_result_list, wire.ResultList),
    "delete": (legacy_delete, wire.BatchDelete),
    "model/list": (legacy_model_list, wire.Empty),
}


# ---- the entry wrapper ---------------------------------------------------------------------------------------


def _body(raw: bytes, where: str) -> dict[str, Any]:
    if len(raw) > MAX_BODY:
        raise ApiError("payload_too_large", f"the request body is {len(raw)} bytes; at most {MAX_BODY} are accepted")
    if not raw.strip():
        return {}
    try:
        data = loads(raw)
    except ApiError as exc:
        raise ApiError("invalid_request", exc.message, vendor_code="MalformedJSON") from None
    if not isinstance(data, dict):
        raise ApiError("invalid_request", f"the {where} body must be a JSON object, not {type(data).__name__}",
                       vendor_code="InvalidHTTPRequest")
    return data


async def _serve(request: Request, which: str, pick: Callable[[], tuple[str, Handler, type[BaseModel]]],
                 wrap: Callable[[Any, tuple[str, str]], dict[str, Any]]) -> Response:
    family.set(which)
    request_ids.set(None)
    try:
        headers = headers_of(request)
        query = request.scope["query_string"].decode("latin-1")
        signed = auth.verify(request.app.state.world, request.method, request.scope["path"], query, headers)
        ns = request.app.state.world.get(signed.namespace)
        ids = service.request_ids(ns)
        request_ids.set(ids)
        operation, handler, model = pick()
        scripted = await faults.before_operation(request, ns, "qianfan", operation)
        if scripted is not None:
            return scripted
        body = parse(model, _body(await request.body(), operation), "body")
        result = handler(ns, body)
    except ApiError as error:
        return render_error(error)
    except Exception:  # a bug: the family's internal error, never a stack trace
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render_error(ApiError("internal", "We encountered an internal error. Please try again."))
    return json_response(wrap(result, ids))


async def v2_endpoint(request: Request) -> Response:
    def pick():
        params = dict(parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True))
        action = params.get("Action")
        if action not in ACTIONS:
            what = "is missing" if not action else f"names no operation: {action!r}"
            raise ApiError("invalid_request", f"the Action query parameter {what}; /v2/eval serves"
                           f" {', '.join(ACTIONS)}", vendor_code="InvalidAction")
        return (action, *ACTIONS[action])

    return await _serve(request, V2, pick, lambda result, ids: {"requestId": ids[0], "result": result})


async def legacy_endpoint(request: Request) -> Response:
    name = request.path_params["name"].strip("/")
    family.set(LEGACY)
    request_ids.set(None)
    if name not in LEGACY_ROUTES:
        return legacy_error(500001, f"no API at {request.url.path}; this family serves"
                            f" {', '.join(LEGACY_PREFIX + '/' + n for n in LEGACY_ROUTES)}", status=404)
    if request.method != "POST":
        return legacy_error(3, f"{request.method} is not allowed on {request.url.path}; use POST", status=405)
    # Any query is ignored: the docs' call_action(route, "", body) sends an empty ?Action=.
    return await _serve(request, LEGACY, lambda: (f"eval/{name}", *LEGACY_ROUTES[name]),
                        lambda result, ids: {"result": result, "log_id": ids[1]})


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def routes() -> list[Route]:
    return [
        Route(V2_PATH, v2_endpoint, methods=["POST"], name="qianfan-v2-eval"),
        Route(LEGACY_PREFIX + "/{name:path}", legacy_endpoint, methods=ALL_METHODS, name="qianfan-legacy-eval"),
    ]
