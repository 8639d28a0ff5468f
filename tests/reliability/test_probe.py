"""No request stalls the others: while one adversarial request runs, a probe client in another namespace keeps
getting its answers quickly (p99 under 250 ms) from the same server, and the adversary is answered or refused."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from tests.reliability.conftest import start_server

SUITE = {"name": "probe", "manifest": {"tasks": [{"id": "t", "type": "qa", "dataset": {"file_id": "f"}}]}}
MiB = 1024 * 1024


def alias_bomb() -> str:
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"] + [f"{chr(98 + n)}: &{chr(98 + n)} [" + ",".join([f"*{chr(97 + n)}"] * 9)
                                            + "]" for n in range(8)]
    return "faults:\n  - {vendor: mka1, error: internal, body: {}}\n" + "\n".join(lines) + "\n"


def big_load(section: dict) -> str:
    return json.dumps({"clock": {"mode": "manual"}, **section})


SUITES = {"suites": [{"ref": "s", **SUITE}]}
ADVERSARIES = {
    # Heavy but legitimate: built off the event loop and swapped in.
    "100k MKA1 runs": ("POST", "/_emulator/scenarios",
                       big_load({"mka1": {**SUITES, "runs": [{"suite": "s", "models": ["m"], "generate": 100_000}]}}),
                       200),
    "100k Qianfan tasks": ("POST", "/_emulator/scenarios", big_load({"qianfan": {"tasks": [{"generate": 100_000}]}}),
                           200),
    # Hostile: refused quickly.
    "alias bomb": ("POST", "/_emulator/scenarios", alias_bomb(), 400),
    "10^8 generated tasks": ("POST", "/_emulator/scenarios",
                             "qianfan:\n  tasks: [&g {generate: 100000}" + ", *g" * 999 + "]\n", 400),
    "deep nesting": ("POST", "/_emulator/scenarios", "seed: " + "[" * 100_000 + "]" * 100_000, 400),
}


@pytest.fixture(scope="module")
def server():
    with start_server() as url:
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer probe"}) as client:
            suite = client.post("/api/v1/llm/evals/suites", json=SUITE).json()["id"]
            run = client.post("/api/v1/llm/evals/runs", json={"suite_id": suite, "models": ["m"]}).json()["id"]
        yield url, run


def probe_while(url: str, run: str, adversary) -> tuple[list[float], object]:
    """Poll the run every 10 ms from another thread while `adversary()` runs; the latencies and its result."""
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer probe"}, timeout=30) as client:
            while not done.is_set():
                started = time.perf_counter()
                assert client.get(f"/api/v1/llm/evals/runs/{run}").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)
    started = time.monotonic()
    try:
        result = adversary()
    finally:
        time.sleep(max(0.1, 1.5 - (time.monotonic() - started)))  # at least ~100 polls around the adversary
        done.set()
        poller.join()
    return latencies, result


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


@pytest.mark.parametrize("name", sorted(ADVERSARIES))
def test_one_adversarial_request_does_not_stall_another_namespace(server, name):
    url, run = server
    method, path, body, status = ADVERSARIES[name]

    def adversary():
        with httpx.Client(base_url=url, timeout=120) as client:
            return client.request(method, path, content=body, headers={"X-Emulator-Namespace": f"adv-{len(body)}"})

    latencies, answer = probe_while(url, run, adversary)
    assert answer.status_code == status, answer.text[:500]
    assert len(latencies) >= 10
    assert p99(latencies) < 0.25, f"probe p99 {p99(latencies) * 1000:.0f} ms over {len(latencies)} polls"


def test_a_200_mb_body_does_not_stall_another_namespace(server):
    url, run = server
    host, port = url.removeprefix("http://").split(":")

    def adversary():
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(f"POST /api/v1/llm/evals/suites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer adv\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {200 * MiB}\r\n\r\n".encode())
            sock.settimeout(10)
            return sock.recv(4096)

    latencies, answer = probe_while(url, run, adversary)
    assert answer.startswith(b"HTTP/1.1 413")
    assert p99(latencies) < 0.25
