"""Mistral's derived data is built off the event loop: on a namespace of many generated events, the first logs,
traces and spans searches (which derive every event's rows) and the first similar-events call (which reads every
event's words) keep a probe in another namespace quick (p99 under 250 ms), and answer what the same namespace
built in process answers.

EVENTS is kept small enough for the suite (a few seconds); `python -m bench.loads` measures 100,000.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core import scenario as scenarios
from emulator.core.namespace import Settings
from tests.reliability.conftest import start_server

EVENTS = 20_000
SCENARIO = json.dumps({"seed": 7, "clock": {"mode": "manual", "start": "2026-01-01T00:00:00Z"},
                       "mistral": {"events": [{"generate": EVENTS, "spread_seconds": 86400}]}})
BIG = {"Authorization": "Bearer big"}
OBSERVABILITY = "/v1/observability"


def first_calls(event_id: str) -> list[tuple[str, str, dict | None]]:
    return [("POST", "/traces/search", {}), ("POST", "/logs/search", {"order": "asc"}),
            ("POST", "/spans/search", {"search_expression": "span_kind = 'CLIENT'"}),
            ("GET", f"/chat-completion-events/{event_id}/similar-events", None)]


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def in_process_answers(event_id: str) -> list[bytes]:
    """The same calls on the same scenario built in this process."""
    app = build_app(Settings(clock_mode="manual"))
    scenarios.apply(app.state.world, scenarios.parse_scenario(SCENARIO), app.state.vendors, namespace="big")
    with TestClient(app) as client:
        return [client.request(method, OBSERVABILITY + path, json=body, headers=BIG).content
                for method, path, body in first_calls(event_id)]


def test_first_otel_and_similar_calls_on_many_events_do_not_stall_another_namespace():
    with start_server() as url, httpx.Client(base_url=url, timeout=120) as client:
        loaded = client.post("/_emulator/scenarios", content=SCENARIO, headers={"X-Emulator-Namespace": "big"})
        assert loaded.status_code == 200, loaded.text
        page = client.post(OBSERVABILITY + "/chat-completion-events/search", params={"page_size": 1},
                           json={"search_params": {"filters": None}}, headers=BIG).json()
        event_id = page["completion_events"]["results"][0]["event_id"]
        probe = {"Authorization": "Bearer probe"}
        assert client.get(OBSERVABILITY + "/judges", headers=probe).status_code == 200
        latencies: list[float] = []
        done = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=url, headers=probe, timeout=30) as prober:
                while not done.is_set():
                    started = time.perf_counter()
                    assert prober.get(OBSERVABILITY + "/judges").status_code == 200
                    latencies.append(time.perf_counter() - started)
                    time.sleep(0.01)

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            time.sleep(0.2)
            answers = [client.request(method, OBSERVABILITY + path, json=body, headers=BIG)
                       for method, path, body in first_calls(event_id)]
            time.sleep(0.1)
        finally:
            done.set()
            poller.join()
    assert [a.status_code for a in answers] == [200, 200, 200, 200], [a.text[:300] for a in answers]
    assert len(answers[0].json()["traces"]["results"]) == 50 and len(answers[3].json()["completion_events"]["results"]) == 20
    assert len(latencies) >= 10
    assert p99(latencies) < 0.25, f"probe p99 {p99(latencies) * 1000:.0f} ms over {len(latencies)} polls"
    assert [a.content for a in answers] == in_process_answers(event_id)
