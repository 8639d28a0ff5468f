"""Qianfan fixtures: one real uvicorn server per test session (the SDK speaks `requests`, so it needs a
socket), and per test an access key of its own (its namespace), registered through the scenario loader.

`qf` wraps the official SDK: every success body is checked strictly (tests/contract/qianfan/strict.py), every
error by its envelope.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn

from emulator.app import build_app
from emulator.core import scenario as scenarios
from emulator.core.namespace import Settings
from tests.contract.qianfan.strict import LegacyError, V2Error, check_legacy, check_v2, response_body

V2 = "/v2/eval"
LEGACY = "/wenxinworkshop/modelrepo/eval"


class Server:
    def __init__(self, app, url: str):
        self.app, self.url = app, url

    def load(self, namespace: str, section: dict[str, Any]) -> None:
        loaders = self.app.state.vendors
        scenarios.apply(self.app.state.world, scenarios.Scenario.model_validate(
            {"namespace": namespace, "qianfan": section}), loaders)


@pytest.fixture(scope="session")
def qianfan_server():
    logging.getLogger("qianfan").setLevel(logging.CRITICAL)  # the SDK logs every refused call at ERROR
    app = build_app(Settings(seed=11, clock_mode="manual"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the emulator did not start"
        time.sleep(0.01)
    yield Server(app, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


class Qf:
    """The official SDK pointed at the emulator with this test's own access key."""

    def __init__(self, server: Server, ak: str, sk: str):
        self.server, self.ak, self.sk = server, ak, sk

    # -- generic entry point, as the vendor's pages call it --
    def v2(self, action: str, body: dict[str, Any]) -> Any:
        from qianfan.resources.console.utils import call_action

        return check_v2(action, call_action(V2, action, body).body)

    def legacy(self, route: str, body: dict[str, Any], action: str | None = "") -> Any:
        from qianfan.resources.console.utils import call_action

        return check_legacy(route, call_action(f"{LEGACY}/{route}", action, body).body)

    def v2_error(self, action: str | None, body: dict[str, Any]) -> Exception:
        from qianfan.errors import RequestError
        from qianfan.resources.console.utils import call_action

        with pytest.raises(RequestError) as info:
            call_action(V2, action, body)
        V2Error.model_validate(response_body(info.value))
        return info.value

    def legacy_error(self, route: str, body: dict[str, Any], code: int = 500001, match: str = "") -> str:
        from qianfan.errors import APIError
        from qianfan.resources.console.utils import call_action

        with pytest.raises(APIError) as info:
            call_action(f"{LEGACY}/{route}", "", body)
        assert info.value.error_code == code, info.value
        assert match.lower() in info.value.error_msg.lower(), info.value.error_msg
        assert info.value.req_id.isdigit()
        return info.value.error_msg

    # -- the emulator's control API --
    def advance(self, seconds: float) -> None:
        res = httpx.post(self.server.url + "/_emulator/clock/advance", json={"seconds": seconds},
                         headers={"X-Emulator-Namespace": self.ak})
        assert res.status_code == 200, res.text

    def load(self, section: dict[str, Any]) -> None:
        """Load a scenario section into this test's namespace (keeping its credentials)."""
        creds = [{"accessKey": self.ak, "secretKey": self.sk}]
        self.server.load(self.ak, {**section, "credentials": creds + section.get("credentials", [])})

    # -- typical bodies --
    def create(self, name: str = "eval", mode: str = "rule", models: tuple[str, ...] = ("amv-user000001",),
               **config: Any) -> str:
        from qianfan.resources.console.eval import Eval

        eval_config: dict[str, Any] = {"evalMode": mode, **config}
        if "model" in mode.split(",") and "autoModelEvalConfig" not in eval_config:
            eval_config["autoModelEvalConfig"] = {"apiName": "ERNIE-4.0-8K"}
        body = Eval.V2.create_eval_task(
            name, "model",
            {"evalModelConfig": {"versionId": "ds-evalset00001",
                                 "evalModelConfigList": [{"modelId": m, "promptTemplate": "Q: {input}"}
                                                         for m in models]}},
            eval_config, description=f"{name} description").body
        return check_v2("CreateEvalTask", body)


def access_key_for(nodeid: str) -> str:
    return "qf-" + hashlib.blake2b(nodeid.encode(), digest_size=6).hexdigest()


@pytest.fixture
def qf(qianfan_server, request, monkeypatch):
    import qianfan

    ak = access_key_for(request.node.nodeid)
    sk = ak + "-secret"
    qianfan_server.load(ak, {"credentials": [{"accessKey": ak, "secretKey": sk}]})
    config = qianfan.get_config()
    monkeypatch.setattr(config, "CONSOLE_API_BASE_URL", qianfan_server.url)
    monkeypatch.setattr(config, "ACCESS_KEY", ak)
    monkeypatch.setattr(config, "SECRET_KEY", sk)
    return Qf(qianfan_server, ak, sk)


__all__ = ["Qf", "LegacyError", "V2Error"]
