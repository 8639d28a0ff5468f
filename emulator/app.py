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

from emulator.control import routes as control
from emulator.core import scenario as scenarios
from emulator.core.errors import ApiError
from emulator.core.namespace import Settings, World
from emulator.vendors.registry import Vendor, vendors

log = logging.getLogger("emulator")


def _renderer_for(path: str, served: list[Vendor]):
    for vendor in served:
        if path.startswith(vendor.prefix):
            return vendor.render_error
    return control.render_error


def build_app(settings: Settings | None = None, scenario_files: Iterable[str | Path] = ()) -> Starlette:
    served = vendors()
    world = World(settings or Settings())

    async def http_error(request: Request, exc: HTTPException) -> Response:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        if kind == "not_found":
            message = f"no route for {request.method} {request.url.path}"
        elif kind == "method_not_allowed":
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return _renderer_for(request.url.path, served)(ApiError(kind, message))

    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _renderer_for(request.url.path, served)(
            ApiError("internal", "the emulator hit an internal error; see its log")
        )

    routes = [route for vendor in served for route in vendor.routes()] + control.routes()
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: crash})
    app.state.world = world
    app.state.vendors = served
    loaders = {v.name: v.load_scenario for v in served if v.load_scenario}
    for path in scenario_files:
        scenarios.apply(world, scenarios.load_file(path), loaders, str(path))
    return app
