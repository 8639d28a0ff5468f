"""A small Python client for the /_emulator control API, in process or over a socket.

    control = EmulatorControl("http://127.0.0.1:8080", namespace="my-test")
    control.load_scenario("scenarios/mka1.yaml")
    control.add_fault(vendor="qianfan", operation="DescribeEvalTasks", nth=2, error="InternalError")
    control.advance(90)
    assert control.journal(operation="getEvalRun")[-1]["state"] == "completed"

Pass `client=` an httpx.Client (a Starlette TestClient is one) to drive an app in process.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx

NAMESPACE_HEADER = "X-Emulator-Namespace"
CONTROL_TOKEN_HEADER = "X-Emulator-Control-Token"


class EmulatorError(RuntimeError):
    """The control API refused a call; `status` and `message` say why."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


class EmulatorControl:
    def __init__(self, base_url: str | None = None, *, namespace: str | None = None,
                 client: httpx.Client | None = None, verify: Any = True, timeout: float = 10.0,
                 control_token: str | None = None):
        if client is None and base_url is None:
            raise ValueError("give the emulator's base_url, or an httpx client (a TestClient) to use")
        self.namespace = namespace
        self.control_token = control_token  # a server started with --control-token needs it
        if isinstance(verify, (str, Path)):  # a CA file, as `serve --tls` writes
            verify = ssl.create_default_context(cafile=str(verify))
        self._client = client or httpx.Client(base_url=base_url, verify=verify, timeout=timeout)
        self._prefix = (base_url.rstrip("/") if base_url and client is not None else "") + "/_emulator"

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.namespace:
            headers[NAMESPACE_HEADER] = self.namespace
        if self.control_token:
            headers[CONTROL_TOKEN_HEADER] = self.control_token
        res = self._client.request(method, self._prefix + path, headers=headers, **kwargs)
        try:
            body = res.json()
        except ValueError:
            body = {"error": {"message": res.text}}
        if res.status_code >= 400:
            raise EmulatorError(res.status_code, (body.get("error") or {}).get("message", res.text))
        return body

    # ---- namespace ----
    def health(self) -> dict:
        return self._call("GET", "/health")

    def reset(self) -> dict:
        return self._call("POST", "/reset")

    def load_scenario(self, scenario: str | Path | dict) -> dict:
        """Load a scenario (a file path, YAML text, or a dict) into this namespace, replacing what it held."""
        if isinstance(scenario, dict):
            text = json.dumps(scenario)
        elif isinstance(scenario, Path) or (isinstance(scenario, str) and "\n" not in scenario
                                            and scenario.endswith((".yaml", ".yml", ".json"))):
            text = Path(scenario).read_text()
        else:
            text = scenario
        return self._call("POST", "/scenarios", content=text.encode(),
                          headers={"content-type": "application/yaml"})

    # ---- clock ----
    def clock(self) -> dict:
        return self._call("GET", "/clock")

    def now(self) -> float:
        return self.clock()["now"]

    def advance(self, seconds: float) -> dict:
        return self._call("POST", "/clock/advance", json={"seconds": seconds})

    def set_time(self, when: float | str) -> dict:
        """Move the clock to `when` (epoch seconds or ISO 8601); never backwards."""
        return self._call("POST", "/clock/set", json={"time": when})

    def freeze(self) -> dict:
        return self._call("POST", "/clock/freeze")

    def realtime(self) -> dict:
        return self._call("POST", "/clock/realtime")

    # ---- faults ----
    def faults(self) -> list[dict]:
        return self._call("GET", "/faults")["faults"]

    def add_fault(self, **rule: Any) -> dict:
        """Add a fault rule (see core.faults.FaultSpec), e.g. add_fault(operation="getEvalRun", error="internal")."""
        return self._call("POST", "/faults", json=rule)

    def remove_fault(self, fault_id: str) -> dict:
        return self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> dict:
        return self._call("DELETE", "/faults")

    # ---- resources ----
    def resources(self, **query: Any) -> dict:
        """A page of this namespace's runs and tasks, newest first, each caught up to now: {"resources",
        "next_cursor", "total", "kinds"}; filter by vendor and kind, page with limit and cursor."""
        params = {k: v for k, v in query.items() if v is not None}
        return self._call("GET", "/resources", params=params)

    # ---- journal ----
    def journal(self, **filters: Any) -> list[dict]:
        """Requests this namespace received, oldest first; filter by vendor, operation, method, path (a glob),
        status, resource (an id), since (a sequence number) and limit (the newest entries, or with `since` the
        oldest after it)."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "/journal", params=params)["entries"]

    def clear_journal(self) -> dict:
        return self._call("DELETE", "/journal")

    # ---- snapshots ----
    def snapshot(self) -> dict:
        return self._call("GET", "/snapshot")

    def restore(self, snapshot: dict) -> dict:
        return self._call("PUT", "/snapshot", json=snapshot)
