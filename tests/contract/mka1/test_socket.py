"""A smoke run over a real socket: `python -m emulator serve` in a subprocess, the SDK's own HTTP clients."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--clock", "manual", "--seed", "1",
         "--scenario", str(ROOT / "scenarios" / "demo.yaml")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = proc.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert found, f"unexpected first line: {line!r}"
        url = found.group(1)
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(url + "/_emulator/health").json()["status"] == "ok":
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the emulator did not answer /_emulator/health in 10 s"
            time.sleep(0.02)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_sdk_round_trip_over_a_socket(server):
    from meetkai_mka1 import SDK

    with SDK(bearer_auth="socket-user", server_url=server) as sdk:
        suite = sdk.llm.evals.create_suite(name="s", manifest={"tasks": [{"id": "t", "type": "qa", "dataset": {}}]})
        run = sdk.llm.evals.create_run(suite_id=suite.id, models=["m"])
        assert run.status == "queued"
        moved = httpx.post(server + "/_emulator/clock/advance", json={"seconds": 60},
                           headers={"Authorization": "Bearer socket-user"})
        assert moved.status_code == 200
        done = sdk.llm.evals.get_run(run_id=run.id)
        assert done.status == "completed" and done.completed_at == done.created_at + 45
        assert [r.id for r in sdk.llm.evals.list_runs().data] == [run.id]


def test_the_demo_scenario_is_served_to_its_namespace(server):
    from meetkai_mka1 import SDK

    with SDK(bearer_auth="demo", server_url=server) as sdk:
        runs = sdk.llm.evals.list_runs().data
        assert len(runs) == 3
        assert {r.metadata["purpose"]: r.status for r in runs} == {
            "nightly": "completed", "smoke": "in_progress", "flaky": "failed"}


def test_async_client_over_a_socket(server):
    from meetkai_mka1 import SDK

    async def scenario():
        async with SDK(bearer_auth="async-user", server_url=server) as sdk:
            suite = await sdk.llm.evals.create_suite_async(
                name="a", manifest={"tasks": [{"id": "t", "type": "qa", "dataset": {}}]})
            got = await sdk.llm.evals.get_suite_async(suite_id=suite.id)
            return suite, got

    suite, got = asyncio.run(scenario())
    assert got.id == suite.id and got.name == "a"
