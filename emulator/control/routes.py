"""Control API under /_emulator: health, reset and the namespace clock.

The namespace is resolved as for vendor requests: the X-Emulator-Namespace header, else the request's credential
(a bearer token), else `default`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.core.errors import ApiError
from emulator.core.http import bearer_token, headers_of
from emulator.core.jsonio import dumps, loads
from emulator.core.namespace import Namespace, resolve_name
from emulator.core.validation import parse

PREFIX = "/_emulator"


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0, allow_inf_nan=False)


def render_error(error: ApiError) -> Response:
    status = {"invalid_request": 400, "not_found": 404, "method_not_allowed": 405}.get(error.kind, 500)
    return Response(dumps({"error": {"message": error.message, "type": error.kind}}), status_code=status,
                    media_type="application/json")


def _name(request: Request) -> str:
    headers = headers_of(request)
    return resolve_name(headers, bearer_token(headers))


def namespace(request: Request) -> Namespace:
    return request.app.state.world.get(_name(request))


def _json(body: dict) -> Response:
    return Response(dumps(body), media_type="application/json")


def clock_state(ns: Namespace) -> dict:
    now = ns.now()
    return {"namespace": ns.name, "mode": ns.clock.mode, "now": now,
            "iso": datetime.fromtimestamp(now, timezone.utc).isoformat().replace("+00:00", "Z")}


async def health(request: Request) -> Response:
    return _json({"status": "ok"})


async def reset(request: Request) -> Response:
    world = request.app.state.world
    name = _name(request)
    world.reset(name)
    return _json({"namespace": name, "reset": True})


async def advance(request: Request) -> Response:
    try:
        raw = await request.body()
        body = parse(Advance, loads(raw) if raw else {}, "body")
    except ApiError as error:
        return render_error(error)
    ns = namespace(request)
    try:
        ns.clock.advance(body.seconds)
    except ValueError as exc:
        return render_error(ApiError("invalid_request", f"seconds: {exc}"))
    return _json(clock_state(ns))


async def clock(request: Request) -> Response:
    return _json(clock_state(namespace(request)))


def routes() -> list[Route]:
    return [
        Route(PREFIX + "/health", health, methods=["GET"], name="health"),
        Route(PREFIX + "/reset", reset, methods=["POST"], name="reset"),
        Route(PREFIX + "/clock", clock, methods=["GET"], name="clock"),
        Route(PREFIX + "/clock/advance", advance, methods=["POST"], name="clock.advance"),
    ]
