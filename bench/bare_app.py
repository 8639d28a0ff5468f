"""Bare Starlette baseline for ``bench.bench``.

One route per measured read, at the emulator's own path (a template with
parameters, as a real app has), returning constant bytes captured from the
emulator with ``media_type="application/json"``. It does no auth, no lookup
and no serialisation, so it is the floor that Starlette + uvicorn (httptools,
uvloop) cost for the same request and the same response bytes. The benchmark
names the routes in a JSON file given by ``BENCH_ROUTES_FILE``: a list of
``{"method", "route", "body_file"}``.
"""

import json
import os

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route


def _endpoint(body: bytes):
    async def answer(request):
        return Response(body, media_type="application/json")
    return answer


def _routes() -> list:
    path = os.environ.get("BENCH_ROUTES_FILE")
    if not path:
        return []
    with open(path) as f:
        table = json.load(f)
    routes = []
    for row in table:
        with open(row["body_file"], "rb") as body:
            routes.append(Route(row["route"], _endpoint(body.read()), methods=[row["method"]]))
    return routes


app = Starlette(routes=_routes())
