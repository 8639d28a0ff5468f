"""Every hostile scenario from the reliability issue is refused quickly with file:line, by `validate` and by
loading alike, and changes nothing; odd methods and control-API bugs answer cleanly."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from tests.reliability.test_probe import alias_bomb

SUITE = "  suites: [{ref: s, name: S, manifest: {tasks: [{id: t, type: qa, dataset: {}}]}}]\n"
HOSTILE = {  # name: (file text, the line the mistake is on, what the message says)
    "alias bomb": (alias_bomb(), 9, "expands to more than"),
    "10^8 generated tasks": ("qianfan:\n  tasks: [&g {generate: 100000}" + ", *g" * 999 + "]\n", 2,
                             "generates more than 200,000 resources"),
    "generate past its limit": ("mistral:\n  events:\n    - generate: 100000000\n", 3, "200,000"),
    "age_seconds: .inf": ("mka1:\n" + SUITE + "  runs: [{suite: s, models: [m], age_seconds: .inf}]\n", 3,
                          "not a finite number"),
    "interval_seconds: 1e300": ("qianfan:\n  tasks:\n    - {generate: 5, interval_seconds: 1e300}\n", 3,
                                "less than or equal to 315360000"),
    "clock.start: 9999-12-31": ("clock: {mode: manual, start: 9999-12-31T23:59:59Z}\n", 1,
                                "starts between 1970-01-01 and 3000-01-01"),
    "latency: .inf": ("faults: [{vendor: mka1, latency: .inf}]\n", 1, "not a finite number"),
    "latency: 1h": ("faults:\n  - {vendor: mka1, latency: 1h}\n", 2, "latency is at most 600 seconds"),
    "spread_seconds: .inf": ("mistral:\n  events:\n    - {generate: 3, spread_seconds: .inf}\n", 3,
                             "not a finite number"),
    "deeply nested": ("seed: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nested deeper than 64 levels"),
    "a 400-digit number": ("seed: 1" + "0" * 400 + "\n", 1, "beyond 64 bits"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_validate_refuses_it_quickly_with_its_line(tmp_path, name):
    text, line, says = HOSTILE[name]
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "emulator", "validate", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert time.monotonic() - started < 60  # a guard against hanging, not a speed target
    assert done.returncode == 1 and f"{path}:{line}:" in done.stderr and says in done.stderr, done.stderr


@pytest.fixture
def client():
    with TestClient(build_app(Settings(clock_mode="manual"))) as c:
        yield c


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_loading_refuses_it_with_its_line_and_changes_nothing(client, name):
    text, line, says = HOSTILE[name]
    ns = {"X-Emulator-Namespace": "hostile"}
    before = client.post("/_emulator/scenarios", content="seed: 3\n", headers=ns).json()
    res = client.post("/_emulator/scenarios", content=text, headers=ns)
    assert res.status_code == 400, res.text
    message = res.json()["error"]["message"]
    assert message.startswith(f"body:{line}:") and says in message, message
    assert client.get("/_emulator/clock", headers=ns).json() == before["clock"]


def test_odd_methods_answer_405_with_allow(client):
    vendor = client.request("TRACE", "/api/v1/llm/evals/runs", headers={"Authorization": "Bearer t"})
    assert vendor.status_code == 405 and vendor.headers["allow"] == "GET, POST"
    assert vendor.json()["error"]["type"] == "invalid_request_error"
    control = client.request("TRACE", "/_emulator/clock")
    assert control.status_code == 405 and "GET" in control.headers["allow"]


def test_a_control_api_bug_answers_500_in_its_envelope_and_the_connection_lives_on(client, monkeypatch):
    from emulator.control import routes

    def broken(ns):
        raise RuntimeError("a bug")

    monkeypatch.setattr(routes, "clock_state", broken)
    res = client.get("/_emulator/clock")
    assert res.status_code == 500 and res.json()["error"]["type"] == "internal"
    assert client.get("/_emulator/health").status_code == 200
