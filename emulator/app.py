"""Builds the one Starlette app: every vendor's routes, the control API, and error rendering.

Any failure, including an unknown path, a wrong method or a bug, answers in the envelope of the vendor whose
path prefix the request used, never Starlette's default body or a stack trace.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.control import routes as control
from emulator.core import scenario as scenarios
from emulator.core.errors import KINDS, ApiError
from emulator.core.faults import SCOPE_KEY, DroppedConnection
from emulator.core.http import credential_of
from emulator.core.namespace import Settings, World, resolve_name
from emulator.vendors.registry import Vendor, vendors

log = logging.getLogger("emulator")


def _no_codes(vendor: Vendor):
    """A vendor without its own codes still renders the neutral kinds."""
    def render(code: str, message: str) -> Response | None:
        return vendor.render_error(ApiError(code, message)) if code in KINDS else None
    return render


def _renderer_for(path: str, served: list[Vendor]):
    for vendor in served:
        if path.startswith(vendor.prefix):
            return vendor.render_error
    return control.render_error


class Journaling:
    """Records every vendor request in its namespace's journal once it has been answered.

    It wraps each vendor endpoint (and the 404/405/500 handlers) rather than the whole app: the journal runs on
    every request, and an ASGI middleware layer cost a fifth of a GET's instructions.
    """

    def __init__(self, world: World, served: list[Vendor]):
        self.world = world
        self.served = served

    def endpoint(self, handler):
        async def call(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception:
                self.record(request.scope, 500)
                raise
            self.record(request.scope, 0 if isinstance(response, DroppedConnection) else response.status_code)
            return response
        return call

    def route(self, route: Route) -> Route:
        return Route(route.path, self.endpoint(route.endpoint), methods=route.methods, name=route.name)

    def record(self, scope, status: int) -> None:
        tag = scope.get(SCOPE_KEY)
        if tag is None:  # answered before a vendor knew the operation (unknown path, bad credentials)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            name = resolve_name(headers, credential_of(headers))
            vendor = next((v.name for v in self.served if scope["path"].startswith(v.prefix)), None)
            tag = {"vendor": vendor, "operation": None, "namespace": name, "ns": self.world.get(name)}
        ns = tag["ns"]
        ns.journal.answered(ns.clock.now(), scope["method"], scope["path"], scope["query_string"], status, tag)


def build_app(settings: Settings | None = None, scenario_files: Iterable[str | Path] = ()) -> Starlette:
    served = vendors()
    world = World(settings or Settings())

    journal = Journaling(world, served)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        if kind == "not_found":
            message = f"no route for {request.method} {request.url.path}"
        elif kind == "method_not_allowed":
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        response = _renderer_for(request.url.path, served)(ApiError(kind, message))
        if not request.url.path.startswith(control.PREFIX):
            journal.record(request.scope, response.status_code)
        return response

    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _renderer_for(request.url.path, served)(
            ApiError("internal", "the emulator hit an internal error; see its log")
        )

    routes = [journal.route(route) for vendor in served for route in vendor.routes()] + control.routes()
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: crash})
    app.state.world = world
    app.state.vendors = served
    app.state.error_renderers = {v.name: v.render_code or _no_codes(v) for v in served}
    app.state.scenario_loaders = {v.name: v.load_scenario for v in served if v.load_scenario}
    for path in scenario_files:
        scenarios.apply(world, scenarios.load_file(path), app.state.scenario_loaders, str(path),
                        renderers=app.state.error_renderers)
    return app
