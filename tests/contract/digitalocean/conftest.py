"""DigitalOcean fixtures: pydo 0.44.0 over TLS on a real socket, gradient 3.12.2 in process (strict).

Every response either client sees is also validated against the vendor's own OpenAPI description
(openapi_check.py): pydo does no validation at all and gradient's strict mode does not know newer enum values,
so neither alone would catch a wrong type, an unknown key or a Retry-After that makes pydo retry.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.tls import make_certificates
from tests.contract.digitalocean.openapi_check import check_exchange

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "scenarios" / "digitalocean.yaml"


@dataclass
class TlsServer:
    url: str
    ca_file: str

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=ssl.create_default_context(cafile=self.ca_file))


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory):
    """The emulator under uvicorn with HTTPS (a CA made at start), manual clocks, the demo scenario loaded."""
    import uvicorn

    files = make_certificates(tmp_path_factory.mktemp("tls") / "ca.pem")
    app = build_app(Settings(seed=11, clock_mode="manual"), [SCENARIO])
    sock = socket.socket(socket.AF_INET)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            ssl_certfile=str(files.cert_file), ssl_keyfile=str(files.key_file))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the TLS server did not start"
        time.sleep(0.01)
    try:
        yield TlsServer(f"https://127.0.0.1:{port}", str(files.ca_file))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class StrictPydo:
    """`pydo.Client(...).genai` whose every response is checked against the vendor's OpenAPI description."""

    def __init__(self, server: TlsServer, token: str):
        import pydo

        self.seen: list = []
        self.server = server
        self.token = token
        self.client = pydo.Client(token=token, endpoint=server.url, connection_verify=server.ca_file,
                                  retry_total=0, raw_response_hook=self._record)

    def _record(self, pipeline_response) -> None:
        self.seen.append(pipeline_response.http_response)

    def __getattr__(self, method: str):
        call = getattr(self.client.genai, method)

        def checked(*args, **kwargs):
            start = len(self.seen)
            try:
                return call(*args, **kwargs)
            finally:
                assert len(self.seen) == start + 1, "pydo sent a retry or no request at all"
                res = self.seen[-1]
                check_exchange(res.request.method, urlparse(res.request.url).path, res.status_code, res.headers,
                               res.body())

        return checked


class Clock:
    """The /_emulator clock of one namespace, over any httpx-like client."""

    def __init__(self, http, token: str):
        self.http, self.headers = http, {"Authorization": f"Bearer {token}"}

    def advance(self, seconds: float) -> None:
        res = self.http.post("/_emulator/clock/advance", json={"seconds": seconds}, headers=self.headers)
        assert res.status_code == 200, res.text


@pytest.fixture
def token() -> str:
    """A fresh namespace per test: the token is the namespace."""
    return f"do-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def do(tls_server, token) -> StrictPydo:
    return StrictPydo(tls_server, token)


@pytest.fixture
def tls_http(tls_server):
    with tls_server.http() as http:
        yield http


@pytest.fixture
def clock(tls_http, token) -> Clock:
    return Clock(tls_http, token)


# ---- gradient in process --------------------------------------------------------------------------------------


@pytest.fixture
def inproc():
    app = build_app(Settings(seed=5, clock_mode="manual"))
    with TestClient(app) as http:
        def check(response: httpx.Response) -> None:
            response.read()
            path = response.request.url.path
            # The presigned-file rows are the emulator's own, not in the vendor's description.
            if path.startswith("/v2/gen-ai/") and not path.startswith("/v2/gen-ai/_emulator/"):
                check_exchange(response.request.method, response.request.url.path, response.status_code,
                               response.headers, response.content)

        http.event_hooks = {"request": [], "response": [check]}
        yield http


@pytest.fixture
def gradient(inproc, token, monkeypatch):
    from gradient import Gradient

    for name in ("GRADIENT_MODEL_ACCESS_KEY", "GRADIENT_AGENT_ACCESS_KEY", "DIGITALOCEAN_ACCESS_TOKEN",
                 "GRADIENT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return Gradient(access_token=token, base_url="http://testserver", http_client=inproc,
                    _strict_response_validation=True, max_retries=0)


@pytest.fixture
def gclock(inproc, token) -> Clock:
    return Clock(inproc, token)
