"""A bounded soak of the emulator (``make soak``): every vendor at once, with faults, clock moves and namespace
churn, for ten minutes (``--seconds`` to change), while a probe client in a namespace of its own polls a run.

It reports RSS over time, the probe's latency (p50/p99), the requests made and every unexpected answer. Scripted
faults answer 429 here, so any 5xx is the emulator's own failure. Verdicts: zero 5xx, the probe's p99 under
250 ms, and RSS flat after the warm-up (the last sample within 20% of the one at the end of the warm-up).

Run from the repository root: ``python -m bench.soak [--seconds 600] [--clients 12]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time

import httpx

from bench.bench import HOST, MAIN_TOKEN, Server, free_port, rss_mb
from emulator.vendors.qianfan import auth

SUITE = {"name": "soak", "manifest": {"tasks": [{"id": "t", "type": "qa", "dataset": {"file_id": "f"}}]}}
QIANFAN_SK = "soak-sk"


class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.unexpected: list[str] = []

    def seen(self, res: httpx.Response, what: str) -> None:
        self.requests += 1
        self.by_status[res.status_code] = self.by_status.get(res.status_code, 0) + 1
        if res.status_code >= 500 and len(self.unexpected) < 20:
            self.unexpected.append(f"{what} -> {res.status_code}: {res.text[:200]}")


def qianfan_headers(port: int, ak: str, action: str) -> dict:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    headers = {"host": f"{HOST}:{port}", "content-type": "application/json", "x-bce-date": stamp}
    prefix = f"{auth.SCHEME}/{ak}/{stamp}/1800"
    signed = ["content-type", "host", "x-bce-date"]
    canonical = auth.canonical_request("POST", "/v2/eval", f"Action={action}", headers, signed)
    return {"Content-Type": "application/json", "x-bce-date": stamp,
            "Authorization": f"{prefix}/{';'.join(signed)}/{auth.signature(QIANFAN_SK, prefix, canonical)}"}


async def load_namespace(client: httpx.AsyncClient, name: str) -> None:
    """A namespace with something of every vendor, and fault rules that answer 429 now and then."""
    scenario = {
        "clock": {"mode": "manual"},
        "mka1": {"suites": [{"ref": "s", **SUITE}], "runs": [{"suite": "s", "models": ["m"], "generate": 20}]},
        "qianfan": {"credentials": [{"accessKey": name, "secretKey": QIANFAN_SK}],
                    "tasks": [{"generate": 20, "age_seconds": 600}]},
        "mistral": {"events": [{"generate": 30}]},
        "digitalocean": {"datasets": [{"ref": "d", "name": "d.csv", "row_count": 3}],
                         "test_cases": [{"ref": "t", "name": "soak", "dataset": "d", "metrics": ["Tone"],
                                         "star_metric": {"metric": "Tone", "success_threshold_pct": 70},
                                         "agent_workspace_name": "soak"}]},
        "faults": [{"vendor": v, "probability": 0.05, "error": "rate_limited"}
                   for v in ("mka1", "qianfan", "mistral", "digitalocean")],
    }
    res = await client.post("/_emulator/scenarios", content=json.dumps(scenario),
                            headers={"X-Emulator-Namespace": name})
    res.raise_for_status()


async def worker(port: int, number: int, deadline: float, tally: Tally, rng: random.Random) -> None:
    """One client: a namespace at a time, replaced by a fresh one every so often (namespace churn)."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30.0) as client:
        generation = 0
        while time.monotonic() < deadline:
            name = f"soak-{number}-{generation}"
            generation += 1
            await load_namespace(client, name)
            bearer = {"Authorization": f"Bearer {name}"}
            listed = await client.get("/api/v1/llm/evals/runs?limit=20", headers=bearer)
            while listed.status_code == 429:  # a scripted fault: as a client would, ask again
                listed = await client.get("/api/v1/llm/evals/runs?limit=20", headers=bearer)
            runs = listed.json()["data"]
            until = min(deadline, time.monotonic() + rng.uniform(20, 40))
            while time.monotonic() < until:
                choice = rng.random()
                if choice < 0.3:
                    res = await client.get(f"/api/v1/llm/evals/runs/{rng.choice(runs)['id']}", headers=bearer)
                elif choice < 0.4:
                    res = await client.get("/api/v1/llm/evals/runs?limit=100", headers=bearer)
                elif choice < 0.5:
                    suite = runs[0]["suite_id"]
                    res = await client.post("/api/v1/llm/evals/runs", json={"suite_id": suite, "models": ["m"]},
                                            headers=bearer)
                elif choice < 0.65:
                    body = json.dumps({"evalType": "auto", "maxKeys": 10})
                    res = await client.post("/v2/eval?Action=DescribeEvalTasks", content=body,
                                            headers=qianfan_headers(port, name, "DescribeEvalTasks"))
                elif choice < 0.8:
                    res = await client.post("/v1/observability/chat-completion-events/search?page_size=20",
                                            json={"search_params": {"filters": None}}, headers=bearer)
                elif choice < 0.95:
                    res = await client.get("/v2/gen-ai/evaluation_test_cases", headers=bearer)
                else:
                    res = await client.post("/_emulator/clock/advance", json={"seconds": rng.uniform(1, 120)},
                                            headers={"X-Emulator-Namespace": name})
                tally.seen(res, f"{res.request.method} {res.request.url.path}")
            await client.delete(f"/_emulator/namespaces/{name}")


async def probe(port: int, deadline: float, latencies: list[float], tally: Tally) -> None:
    """Another namespace's client: one run, polled every 50 ms, timed."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30.0,
                                 headers={"Authorization": f"Bearer {MAIN_TOKEN}"}) as client:
        suite = (await client.post("/api/v1/llm/evals/suites", json=SUITE)).json()["id"]
        run = (await client.post("/api/v1/llm/evals/runs", json={"suite_id": suite, "models": ["m"]})).json()["id"]
        while time.monotonic() < deadline:
            started = time.perf_counter()
            res = await client.get(f"/api/v1/llm/evals/runs/{run}")
            latencies.append(time.perf_counter() - started)
            tally.seen(res, "probe")
            await asyncio.sleep(0.05)


async def sample_rss(pid: int, deadline: float, samples: list[tuple[float, float]], started: float) -> None:
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - started, rss_mb(pid)))
        await asyncio.sleep(10)
    samples.append((time.monotonic() - started, rss_mb(pid)))


async def soak(port: int, pid: int, seconds: float, clients: int) -> tuple:
    started = time.monotonic()
    deadline = started + seconds
    tally, latencies, samples = Tally(), [], []
    rng = random.Random(7)
    await asyncio.gather(probe(port, deadline, latencies, tally), sample_rss(pid, deadline, samples, started),
                         *(worker(port, n, deadline, tally, random.Random(rng.random())) for n in range(clients)))
    return tally, latencies, samples


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--warmup", type=float, default=None, help="seconds before RSS must hold (default: a fifth)")
    args = parser.parse_args(argv)
    warmup = args.seconds / 5 if args.warmup is None else args.warmup
    with tempfile.TemporaryDirectory(prefix="emulator-soak-") as tmp:
        port = free_port()
        server = Server("emulator", [sys.executable, "-m", "emulator", "serve", "--host", HOST, "--port",
                                     str(port), "--clock", "manual"], port, tmp)
        try:
            server.wait_ready("/_emulator/health", lambda body: b"ok" in body)
            tally, latencies, samples = asyncio.run(soak(port, server.proc.pid, args.seconds, args.clients))
        finally:
            server.stop()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    after = [rss for at, rss in samples if at >= warmup]
    base = after[0] if after else samples[-1][1]
    growth = samples[-1][1] / base - 1
    errors = sum(count for status, count in tally.by_status.items() if status >= 500)
    print(f"soak: {args.seconds:.0f} s, {args.clients} clients, {tally.requests:,} requests "
          f"({tally.requests / args.seconds:,.0f}/s), answers by status {dict(sorted(tally.by_status.items()))}")
    print()
    print("| minute | RSS (MB) |")
    print("| --- | --- |")
    for at, rss in samples:
        if int(at) % 60 < 10 or at == samples[-1][0]:
            print(f"| {at / 60:.1f} | {rss:.0f} |")
    print()
    print("| check | value | target | result |")
    print("| --- | --- | --- | --- |")
    rows = [("5xx answers", f"{errors}", "0", errors == 0),
            ("probe p50 / p99 (another namespace)", f"{p50:.1f} / {p99:.1f} ms", "p99 < 250 ms", p99 < 250),
            ("RSS growth after warm-up", f"{base:.0f} -> {samples[-1][1]:.0f} MB ({growth:+.0%})", "within 20%",
             abs(growth) <= 0.2)]
    for name, value, target, ok in rows:
        print(f"| {name} | {value} | {target} | {'PASS' if ok else 'FAIL'} |")
    for line in tally.unexpected:
        print(f"  unexpected: {line}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
