"""Control API under /_emulator: scenarios, clock, faults, journal, resources and snapshots, one namespace at a time.

The namespace is resolved as for vendor requests: the X-Emulator-Namespace header, else the request's credential
(a bearer token or a Qianfan access key), else `default`. Errors answer {"error": {"message", "type"}}.

The routes are one table of core.operations.Operation rows, like a vendor's, so that the one OpenAPI generator
(core.openapi) describes them too; here a row's handler is an async Starlette endpoint of the request, and its
query and body models only document what the handler parses itself.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.core import faults as fault_rules
from emulator.core import resources
from emulator.core import scenario as scenarios
from emulator.core import snapshot
from emulator.core.errors import ApiError
from emulator.core.journal import as_entry
from emulator.core.jsonio import dumps, loads
from emulator.core.namespace import NAMESPACE_HEADER, Namespace
from emulator.core.openapi import Surface, document, vendor_document
from emulator.core.operations import Operation
from emulator.core.validation import parse, parse_query
from emulator.core.vendor import suggest

log = logging.getLogger("emulator")

PREFIX = "/_emulator"
OPEN_PATHS = frozenset({PREFIX + "/health"})  # answered without the control token (readiness probes)
STATUS = {"invalid_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
          "method_not_allowed": 405, "conflict": 409, "payload_too_large": 413, "unavailable": 503}


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0, allow_inf_nan=False)


class SetClock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: Union[float, datetime] = Field(description="epoch seconds or an ISO 8601 time; never earlier than now")


class JournalQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vendor: Optional[str] = None
    operation: Optional[str] = None
    method: Optional[str] = None
    path: Optional[str] = None
    status: Optional[int] = None
    resource: Optional[str] = Field(None, description="a resource's id: the calls naming it in their path, and "
                                                      "the reads by id that answered it")
    since: Optional[int] = Field(None, description="only entries after this sequence number; with it, `limit` "
                                                   "keeps the oldest entries, so a client can follow the journal")
    limit: int = Field(1000, ge=1, le=10_000, description="at most this many entries: the newest, or with `since` "
                                                          "the oldest after it")


class ResourcesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vendor: Optional[str] = None
    kind: Optional[str] = Field(None, description="one kind of resource (run, task, campaign...)")
    limit: int = Field(resources.DEFAULT_LIMIT, ge=1, le=resources.MAX_LIMIT)
    cursor: Optional[str] = Field(None, description="the previous page's next_cursor")


class Snapshot(RootModel[dict[str, Any]]):
    """A namespace as GET /snapshot exports it."""


class ClockState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespace: str
    mode: Literal["realtime", "manual"]
    now: float = Field(description="epoch seconds")
    iso: str


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str
    type: str  # the neutral kind: invalid_request, not_found...


class ErrorEnvelope(BaseModel):
    """Every control API error answer, for the OpenAPI document."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


def render_error(error: ApiError) -> Response:
    return Response(dumps({"error": {"message": error.message, "type": error.kind}}),
                    status_code=STATUS.get(error.kind, 500), media_type="application/json")


def _json(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def _headers(request: Request) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}


def _name(request: Request) -> str:
    return request.app.state.vendors.namespace_of(_headers(request))


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes (before the rest is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError("payload_too_large", f"the body is {declared} bytes; at most {limit} are accepted")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError("payload_too_large", f"the body is over {limit} bytes; at most {limit} are accepted")
        chunks.append(chunk)
    return b"".join(chunks)


def namespace(request: Request) -> Namespace:
    """The request's namespace, made if it does not exist (for calls that change it)."""
    return request.app.state.world.get(_name(request))


def existing(request: Request) -> Namespace:
    """The request's namespace to read: an empty one, not kept, if it does not exist (reads make none)."""
    return request.app.state.world.peek(_name(request))


MAX_BODY = 1024 * 1024  # a control call's JSON body (scenarios and snapshots have their own limits)
MAX_SNAPSHOT = 256 * 1024 * 1024


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await read_limited(request, MAX_BODY)
    return parse(model, loads(raw) if raw else {}, "body")


def clock_state(ns: Namespace) -> dict:
    now = ns.now()
    return {"namespace": ns.name, "mode": ns.clock.mode, "now": now,
            "iso": datetime.fromtimestamp(now, timezone.utc).isoformat().replace("+00:00", "Z")}


Handler = Callable[[Request], Awaitable[Any]]


def endpoint(handler: Handler, status: int = 200):
    """Answers the handler's value as JSON, and any ApiError in the control API's envelope. The request's
    namespace is marked changed (for remembered answers, and for the saved state while it persists): control calls
    move clocks, edit faults, catch records up."""
    async def call(request: Request) -> Response:
        try:
            result = await handler(request)
        except ApiError as error:
            return render_error(error)
        except Exception:  # a bug: answered here, so the connection stays usable (no re-raise to the server)
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return render_error(ApiError("internal", "the emulator hit an internal error; see its log"))
        finally:
            world = request.app.state.world
            ns = world.namespaces.get(_name(request))
            if ns is not None:
                ns.changes += 1  # answers remembered before may be stale (core.operations.remembered)
                if world.changed is not None:
                    world.changed.add(ns)
        return result if isinstance(result, Response) else _json(result, status)
    return call


# ---- namespace ----------------------------------------------------------------------------------------------


async def health(request: Request) -> Any:
    return {"status": "ok", "vendors": request.app.state.vendors.names}


async def operations(request: Request) -> Any:
    """Every vendor's operations (the names fault rules and journal filters take) and error codes."""
    return {"vendors": [{
        "name": v.name, "prefixes": list(v.owns), "error_codes": list(v.error_codes),
        "operations": [{"name": op.name, "aliases": list(op.aliases), "method": op.method,
                        "path": v.prefix + op.path, **({"action": op.action} if op.action else {}),
                        "documented": op.documented} for op in v.operations],
    } for v in request.app.state.vendors]}


async def reset(request: Request) -> Any:
    name = _name(request)
    request.app.state.world.reset(name)
    return {"namespace": name, "reset": True}


async def load_scenario(request: Request) -> Any:
    """Load a YAML (or JSON) scenario, replacing what its namespace held: the namespace the request names by
    header, else the one the file names, else the request's credential's. The file is read, checked and built
    off the event loop, then swapped in at once, so other namespaces are not held up by a big one."""
    text = (await read_limited(request, scenarios.LIMITS.bytes)).decode("utf-8", "replace")
    if not text.strip():
        raise ApiError("invalid_request", "empty scenario: send YAML or JSON (to empty a namespace, POST /reset)")
    app = request.app
    headers = _headers(request)
    try:
        scenario = await asyncio.to_thread(scenarios.parse_scenario, text, "body")
        named = headers.get(NAMESPACE_HEADER) or None
        if named is None and "namespace" not in scenario.model_fields_set:
            named = app.state.vendors.namespace_of(headers)
        app.state.world.check_room(scenarios.target(scenario, named))
        built = await asyncio.to_thread(scenarios.build, app.state.world, scenario, app.state.vendors,
                                        namespace=named)
    except scenarios.ScenarioError as exc:
        raise ApiError("invalid_request", str(exc), details={"line": exc.line}) from None
    ns = scenarios.install(app.state.world, built)
    return {"namespace": ns.name, "clock": clock_state(ns), "faults": [f.describe() for f in ns.faults]}


# ---- namespaces ---------------------------------------------------------------------------------------------


def describe_namespace(ns: Namespace) -> dict:
    return {"name": ns.name, "clock": clock_state(ns), "resources": ns.store.counts(), "faults": len(ns.faults),
            "journal": len(ns.journal.entries)}


async def list_namespaces(request: Request) -> Any:
    world = request.app.state.world
    return {"namespaces": [describe_namespace(ns) for ns in world.namespaces.values()],
            "max": world.max_namespaces}


async def drop_namespace(request: Request) -> Any:
    name = request.path_params["name"]
    world = request.app.state.world
    if name not in world.namespaces:
        raise ApiError("not_found", f"no namespace {name!r}")
    world.reset(name)
    return {"namespace": name, "dropped": True}


# ---- clock --------------------------------------------------------------------------------------------------


async def clock(request: Request) -> Any:
    return clock_state(existing(request))


def _move(ns: Namespace, move: Callable[[], Any], what: str) -> dict:
    try:
        move()
    except ValueError as exc:
        raise ApiError("invalid_request", f"{what}: {exc}") from None
    return clock_state(ns)


async def advance(request: Request) -> Any:
    body = await _body(request, Advance)
    ns = namespace(request)
    return _move(ns, lambda: ns.clock.advance(body.seconds), "seconds")


async def set_clock(request: Request) -> Any:
    body = await _body(request, SetClock)
    when = body.time
    if isinstance(when, datetime):  # an ISO time without an offset is UTC, never the host's zone
        when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    ns = namespace(request)
    return _move(ns, lambda: ns.clock.set(when), "time")


async def freeze(request: Request) -> Any:
    ns = namespace(request)
    ns.clock.set_mode("manual")
    return clock_state(ns)


async def realtime(request: Request) -> Any:
    ns = namespace(request)
    ns.clock.set_mode("realtime")
    return clock_state(ns)


# ---- faults -------------------------------------------------------------------------------------------------


async def list_faults(request: Request) -> Any:
    return {"faults": [f.describe() for f in existing(request).faults]}


async def add_fault(request: Request) -> Any:
    spec = await _body(request, fault_rules.FaultSpec)
    try:
        fault = fault_rules.add(namespace(request), spec, request.app.state.vendors)
    except ValueError as exc:
        raise ApiError("invalid_request", str(exc)) from None
    return fault.describe()


async def delete_fault(request: Request) -> Any:
    ident = request.path_params["fault_id"]
    if not fault_rules.remove(existing(request), ident):
        raise ApiError("not_found", f"no fault with id {ident!r}")
    return {"id": ident, "deleted": True}


async def clear_faults(request: Request) -> Any:
    ns = existing(request)
    count = len(ns.faults)
    ns.faults.clear()
    return {"deleted": count}


# ---- resources ----------------------------------------------------------------------------------------------


async def list_resources(request: Request) -> Any:
    """A page of the namespace's stateful resources (runs, tasks...), newest first, each caught up to now."""
    q = parse_query(ResourcesQuery, request.scope["query_string"])
    _check_vendor(request, q.vendor)
    return resources.page(existing(request), request.app.state.vendors, vendor=q.vendor, kind=q.kind,
                          limit=q.limit, cursor=q.cursor)


# ---- journal ------------------------------------------------------------------------------------------------


def _check_vendor(request: Request, vendor: str | None) -> None:
    served = request.app.state.vendors
    if vendor is not None and vendor not in served:
        raise ApiError("invalid_request", f"vendor {vendor!r} is not served{suggest(vendor, served.names)}")


def _operation_names(request: Request, vendor: str | None, operation: str) -> set[str]:
    """The journal names of the operation a filter names (an alias or operationId included); an unknown name is
    refused with the closest ones, since a filter that matches nothing would make an assertion pass vacuously."""
    served = request.app.state.vendors
    candidates = [served[vendor]] if vendor else list(served)
    found = {op.name for v in candidates if (op := v.operation(operation)) is not None}
    if not found:
        names = [n for v in candidates for op in v.operations for n in op.names]
        raise ApiError("invalid_request", f"operation {operation!r} is not an operation of "
                                          f"{vendor or 'any vendor'}{suggest(operation, names)}")
    return found


async def journal(request: Request) -> Any:
    q = parse_query(JournalQuery, request.scope["query_string"])
    _check_vendor(request, q.vendor)
    operations = None if q.operation is None else _operation_names(request, q.vendor, q.operation)
    found = list(existing(request).journal.matching(vendor=q.vendor, operation=operations, method=q.method,
                                                     path=q.path, status=q.status, since=q.since,
                                                     resource=q.resource))
    kept = found[:q.limit] if q.since is not None else found[-q.limit:]
    return {"entries": [as_entry(record).as_json() for record in kept], "total": len(found)}


async def clear_journal(request: Request) -> Any:
    existing(request).journal.clear()
    return {"cleared": True}


# ---- snapshots ----------------------------------------------------------------------------------------------


async def export_snapshot(request: Request) -> Any:
    """The namespace's state, encoded off the event loop while its own requests wait (others are served)."""
    ns = request.app.state.world.namespaces.get(_name(request))
    if ns is None:
        return snapshot.export_namespace(existing(request))
    encoded = await ns.read_off_loop(lambda held: dumps(snapshot.export_namespace(held)))
    return Response(encoded, media_type="application/json")


async def import_snapshot(request: Request) -> Any:
    """Replace the namespace with a snapshot, decoded off the event loop and swapped in at once."""
    raw = await read_limited(request, MAX_SNAPSHOT)
    name = _name(request)
    world = request.app.state.world
    world.check_room(name)
    try:
        def restore() -> Namespace:
            with scenarios.collections_held():
                return snapshot.restore(name, loads(raw) if raw else None)

        ns = await asyncio.to_thread(restore)
    except snapshot.SnapshotError as exc:
        raise ApiError("invalid_request", f"snapshot: {exc}") from None
    world.put(ns)
    return {"namespace": ns.name, "clock": clock_state(ns)}


# ---- the inspector page ---------------------------------------------------------------------------------------

UI = Path(__file__).with_name("ui")
UI_FILES = {"index.html": "text/html; charset=utf-8", "inspector.js": "text/javascript; charset=utf-8",
            "inspector.css": "text/css; charset=utf-8"}


def _ui_file(name: str) -> Response:
    # Read on each request: the files are small, and an edit shows on reload.
    return Response((UI / name).read_bytes(), media_type=UI_FILES[name], headers={"cache-control": "no-cache"})


async def ui_page(request: Request) -> Any:
    """The inspector: a page that does nothing the control API cannot do (its script calls it)."""
    return _ui_file("index.html")


async def ui_asset(request: Request) -> Any:
    name = request.path_params["name"]
    if name not in UI_FILES:
        raise ApiError("not_found", f"no inspector file {name!r}")
    return _ui_file(name)



# ---- OpenAPI documents ----------------------------------------------------------------------------------------


async def openapi_document(request: Request) -> Any:
    """A served vendor's OpenAPI document, or the control API's (`control`): made once per app, then kept. Making
    one takes tens of milliseconds of pydantic schema work, so it is done off the event loop."""
    name = request.path_params["vendor"]
    app = request.app
    kept = app.state.openapi
    if name not in kept:
        vendor = app.state.vendors.get(name)
        if vendor is None and name != "control":
            raise ApiError("not_found", f"no vendor {name!r}{suggest(name, [*app.state.vendors.names, 'control'])}")
        made = await asyncio.to_thread(lambda: dumps(control_document() if vendor is None else vendor_document(vendor)))
        kept.setdefault(name, made)
    return Response(kept[name], media_type="application/json")


def row(method: str, path: str, handler: Handler, status: int = 200, *, query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
        documented: bool = True) -> Operation:
    return Operation(method, path, handler.__name__, handler, query, body, status, response=response,
                     documented=documented)


OPERATIONS: tuple[Operation, ...] = (
    row("GET", "/health", health),
    row("GET", "/operations", operations),
    row("GET", "/openapi/{vendor}.json", openapi_document),
    row("POST", "/reset", reset),
    row("POST", "/scenarios", load_scenario, body=scenarios.Scenario),
    row("GET", "/namespaces", list_namespaces),
    row("DELETE", "/namespaces/{name:path}", drop_namespace),
    row("GET", "/clock", clock, response=ClockState),
    row("POST", "/clock/advance", advance, body=Advance, response=ClockState),
    row("POST", "/clock/set", set_clock, body=SetClock, response=ClockState),
    row("POST", "/clock/freeze", freeze, response=ClockState),
    row("POST", "/clock/realtime", realtime, response=ClockState),
    row("GET", "/faults", list_faults),
    row("POST", "/faults", add_fault, 201, body=fault_rules.FaultSpec),
    row("DELETE", "/faults", clear_faults),
    row("DELETE", "/faults/{fault_id}", delete_fault),
    row("GET", "/resources", list_resources, query=ResourcesQuery),
    row("GET", "/journal", journal, query=JournalQuery),
    row("DELETE", "/journal", clear_journal),
    row("GET", "/snapshot", export_snapshot, response=Snapshot),
    row("PUT", "/snapshot", import_snapshot, body=Snapshot),
    # The inspector's page and files (HTML, JS, CSS: not part of the JSON API the document describes).
    row("GET", "/ui", ui_page, documented=False),
    row("GET", "/ui/", ui_page, documented=False),
    row("GET", "/ui/{name}", ui_asset, documented=False),
)


def error_responses(operation: Operation) -> dict[int, type[BaseModel]]:
    """Any control call may answer these (500: a bug, answered in the envelope too)."""
    return dict.fromkeys(sorted({*STATUS.values(), 500}), ErrorEnvelope)


def control_document() -> dict[str, Any]:
    return document(Surface(
        title="LLM-eval emulator control API", prefix=PREFIX, rows=OPERATIONS, errors=error_responses,
        description="Scenarios, clocks, faults, journal and snapshots of one namespace at a time: the one the "
                    "X-Emulator-Namespace header names, else the request's credential's, else `default`. "
                    "Generated from the control API's table."))


def routes() -> list[Route]:
    return [Route(PREFIX + r.path, endpoint(r.handler, r.status), methods=[r.method],
                  name=f"control.{r.method.lower()}.{r.path.strip('/')}") for r in OPERATIONS]
