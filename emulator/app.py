"""Builds the one app: every registered vendor's operations, the control API, and error rendering.

Vendor requests never enter Starlette's router: `EmulatorApp` looks each one up in the compiled operation tree
(core.operations.Router) and hands it to the one adapter. Only what no vendor owns (the /_emulator control
API) goes through Starlette. Any failure, including an unknown path, a wrong method or a bug, answers in the
envelope of the vendor whose path was used, never Starlette's default body or a stack trace.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import AsyncIterator, Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from emulator import shipped
from emulator.control import routes as control
from emulator.core import scenario as scenarios
from emulator.core.errors import ApiError
from emulator.core.namespace import Settings, World
from emulator.core.operations import Call, Router, serve
from emulator.core.vendor import Vendor, Vendors
from emulator.vendors.registry import vendors as discover

log = logging.getLogger("emulator")


class EmulatorApp(Starlette):
    """Starlette for the control API, with the vendors' operations answered before any route scan."""

    def __init__(self, world: World, served: Vendors):
        async def http_error(request: Request, exc: HTTPException) -> Response:
            kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
            message = {"not_found": f"no route for {request.method} {request.url.path}",
                       "method_not_allowed": f"{request.method} is not allowed on {request.url.path}"}
            response = control.render_error(ApiError(kind, message.get(kind, str(exc.detail))))
            for name, value in (exc.headers or {}).items():
                response.headers[name] = value
            return response

        async def crash(request: Request, exc: Exception) -> Response:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return control.render_error(ApiError("internal", "the emulator hit an internal error; see its log"))

        super().__init__(routes=control.routes(), exception_handlers={HTTPException: http_error, Exception: crash},
                         lifespan=_lifespan)
        self.operations = Router(served)
        self.world = world  # also app.state.world; an attribute, since State's lookups are a Python call each
        self.state.world = world
        self.state.vendors = served
        self.state.persistence = None  # a core.persistence.Persistence when serve saves or exports the state
        self.state.openapi = {}  # OpenAPI documents by vendor name (and `control`), encoded once when first asked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match = self.operations.match(scope["method"], scope["path"], scope["query_string"])
            if match is not None:
                scope["app"] = self
                call = Call(match.vendor, match.operation, scope, receive, self.world, match.params)
                await serve(call, scope, receive, send, match.miss)
                return
            if not self._allowed(scope):
                refused = control.render_error(ApiError("unauthorized", "the control API of this server needs its "
                                                                        "control token in X-Emulator-Control-Token"))
                await refused(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        """The control API needs the control token when the server has one (health stays open for probes)."""
        world = self.state.world
        if world.control_token is None or scope["path"] in control.OPEN_PATHS:
            return True
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        return world.controls(headers)


@contextlib.asynccontextmanager
async def _lifespan(app: "EmulatorApp") -> AsyncIterator[None]:
    """Start and stop the saving of the state with the server (serve --state-dir, --export-on-exit)."""
    persistence = app.state.persistence
    if persistence is not None:
        await persistence.start()
    try:
        yield
    finally:
        if persistence is not None:
            await persistence.stop()


def build_app(settings: Settings | None = None, scenario_files: Iterable[str | Path] = (),
              vendors: Iterable[str | Vendor] | None = None) -> EmulatorApp:
    """The app serving `vendors` (package names or Vendor objects; default: every registered vendor)."""
    served = discover(vendors)
    app = EmulatorApp(World(settings or Settings()), served)
    app.state.loaded = []  # (file, namespace) of each scenario loaded at start, for the start-up summary
    for path in scenario_files:
        name = scenarios.apply(app.state.world, scenarios.load_file(shipped.resolve(path)), served, str(path))
        app.state.loaded.append((str(path), name))
    return app
