"""Bare Starlette baseline for ``bench.bench``.

Two routes at the emulator's own paths return constant bytes (captured from
the emulator by the benchmark) with ``media_type="application/json"``.  It
does no auth, no lookup and no serialisation, so it is the floor that
Starlette + uvicorn (httptools, uvloop) cost for the same request and the
same response bytes.  The benchmark passes the body files through the
environment variables ``BENCH_RUN_BODY_FILE`` and ``BENCH_LIST_BODY_FILE``.
"""

import os

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

LIST_PATH = "/api/v1/llm/evals/runs"
RUN_PATH = "/api/v1/llm/evals/runs/{run_id}"


def _read_body(env_var: str) -> bytes:
    path = os.environ.get(env_var)
    if not path:
        return b"{}"
    with open(path, "rb") as f:
        return f.read()


RUN_BODY = _read_body("BENCH_RUN_BODY_FILE")
LIST_BODY = _read_body("BENCH_LIST_BODY_FILE")


async def get_run(request):
    return Response(RUN_BODY, media_type="application/json")


async def list_runs(request):
    return Response(LIST_BODY, media_type="application/json")


app = Starlette(routes=[Route(LIST_PATH, list_runs), Route(RUN_PATH, get_run)])
