"""The access model of a shared server: with a control token, the control API and naming a namespace by header
need it; without one (loopback, the default) everything stays open as before."""

from __future__ import annotations

import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.control.client import EmulatorControl, EmulatorError
from emulator.core.namespace import Settings

RUNS = "/api/v1/llm/evals/runs"


@pytest.fixture
def guarded():
    app = build_app(Settings(clock_mode="manual"))
    app.state.world.control_token = "s3cret"
    with TestClient(app) as client:
        yield client


def test_the_control_api_needs_the_token(guarded):
    assert guarded.get("/_emulator/health").status_code == 200  # readiness probes stay open
    refused = guarded.get("/_emulator/clock", headers={"X-Emulator-Namespace": "alice"})
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "unauthorized"
    wrong = guarded.post("/_emulator/reset", headers={"X-Emulator-Control-Token": "guess"})
    assert wrong.status_code == 401
    control = EmulatorControl(client=guarded, namespace="alice", control_token="s3cret")
    assert control.advance(5)["namespace"] == "alice"
    with pytest.raises(EmulatorError) as unauthorized:
        EmulatorControl(client=guarded, namespace="alice").faults()
    assert unauthorized.value.status == 401


def test_naming_a_namespace_by_header_needs_the_token(guarded):
    alice = {"Authorization": "Bearer alice"}
    assert guarded.get(RUNS, headers=alice).status_code == 200  # her own token is her namespace
    res = guarded.get(RUNS, headers={"Authorization": "Bearer mallory", "X-Emulator-Namespace": "alice"})
    assert res.status_code == 403 and res.json()["error"]["type"] == "permission_error"
    ok = guarded.get(RUNS, headers={"Authorization": "Bearer mallory", "X-Emulator-Namespace": "alice",
                                    "X-Emulator-Control-Token": "s3cret"})
    assert ok.status_code == 200


def test_serving_other_machines_requires_a_token():
    res = subprocess.run([sys.executable, "-m", "emulator", "serve", "--host", "0.0.0.0", "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--control-token" in res.stderr
