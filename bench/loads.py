"""How long a big scenario takes to build, the memory it takes, and what its first reads cost:
``python -m bench.loads``.

Builds: each run is a fresh Python process that imports the emulator, then times
``emulator.core.scenario.build(World(), parse_scenario(text), registry.vendors())`` for a scenario of
``mistral: {events: [{generate: N}]}`` (N = 100,000 by default) and reports:

- wall: the build's elapsed time (what a client of the server waits for, imports excluded);
- cpu: the build's process CPU time (steadier than wall on a machine shared with other work);
- peak RSS: the process's maximum resident set size (ru_maxrss), imports included, and how much of it the
  build added.

First reads: each run is a fresh server (``python -m emulator serve``) loaded with the same scenario, then sent
the first traces, logs and spans searches (which derive every event's trace, spans and logs) and the first
similar-events call (which reads every event's words), while a probe client in another namespace polls every
10 ms. It reports each call's wall time and the server's CPU time for it, the RSS the derived data added, and
the probe's p50 / p99 / max. The derived data is built off the event loop (otel/rows.py), so the probe stays
quick while the searches wait for it.

Targets (issue "boringly reliable"): at most 3 s and 600 MB for 100,000 events; the first reads adding at most
200 MB, with the probe's p99 under 250 ms. Runs are repeated (--runs) and shown as ranges with the load
average, since other work on the machine slows the wall time. Exits non-zero only when a run fails; a missed
target prints FAIL.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TARGET_SECONDS = 3.0
TARGET_MB = 600
TARGET_DERIVED_MB = 200
TARGET_PROBE_P99_MS = 250
OBSERVABILITY = "/v1/observability"


def one(count: int) -> dict[str, float]:
    """Build the scenario once in this process and measure it."""
    from emulator.core.namespace import World
    from emulator.core.scenario import build, parse_scenario
    from emulator.vendors import registry

    vendors = registry.vendors()
    text = f"mistral:\n  events:\n    - generate: {count}\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    built = build(World(), parse_scenario(text), vendors)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from emulator.vendors.mistral import service

    assert len(service.events(built.namespace)) == count
    return {"wall": wall, "cpu": cpu, "peak_mb": peak, "added_mb": peak - before}


def spread(values: list[float], unit: str, digits: int) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:.{digits}f}-{high:.{digits}f} {unit} (median {mid:.{digits}f})"


def server_cpu(pid: int) -> float:
    """The server process's CPU seconds so far (user + system)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_reads(count: int) -> dict[str, float]:
    """A fresh server loaded with `count` generated events, its first derived-data reads timed while a probe in
    another namespace polls."""
    import httpx

    from bench.bench import HOST, Server, free_port, rss_mb

    big = {"Authorization": "Bearer big"}
    with tempfile.TemporaryDirectory(prefix="emulator-loads-") as tmp:
        port = free_port()
        server = Server("emulator", [sys.executable, "-m", "emulator", "serve", "--host", HOST, "--port", str(port),
                                     "--clock", "manual"], port, tmp)
        try:
            server.wait_ready("/_emulator/health", lambda body: b"ok" in body)
            url, pid = f"http://{HOST}:{port}", server.proc.pid
            with httpx.Client(base_url=url, timeout=600) as client:
                text = json.dumps({"mistral": {"events": [{"generate": count}]}})
                loaded = client.post("/_emulator/scenarios", content=text, headers={"X-Emulator-Namespace": "big"})
                loaded.raise_for_status()
                page = client.post(OBSERVABILITY + "/chat-completion-events/search", params={"page_size": 1},
                                   json={"search_params": {"filters": None}}, headers=big).json()
                event_id = page["completion_events"]["results"][0]["event_id"]
                latencies: list[float] = []
                done = threading.Event()

                def poll() -> None:
                    with httpx.Client(base_url=url, headers={"Authorization": "Bearer probe"}, timeout=60) as probe:
                        while not done.is_set():
                            started = time.perf_counter()
                            probe.get(OBSERVABILITY + "/judges").raise_for_status()
                            latencies.append(time.perf_counter() - started)
                            time.sleep(0.01)

                poller = threading.Thread(target=poll)
                poller.start()
                figures = {"rss_before": rss_mb(pid)}
                try:
                    time.sleep(0.2)
                    for name, method, path, body in [
                            ("traces", "POST", "/traces/search", {}), ("logs", "POST", "/logs/search", {}),
                            ("spans", "POST", "/spans/search", {}),
                            ("similar", "GET", f"/chat-completion-events/{event_id}/similar-events", None)]:
                        cpu, wall = server_cpu(pid), time.perf_counter()
                        client.request(method, OBSERVABILITY + path, json=body, headers=big).raise_for_status()
                        figures[f"{name}_wall"] = time.perf_counter() - wall
                        figures[f"{name}_cpu"] = server_cpu(pid) - cpu
                        figures[f"{name}_rss"] = rss_mb(pid)
                    time.sleep(0.1)
                finally:
                    done.set()
                    poller.join()
        finally:
            server.stop()
    latencies.sort()
    figures.update(probe_p50=statistics.median(latencies) * 1000, probe_max=latencies[-1] * 1000,
                   probe_p99=latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, polls=len(latencies))
    return figures


def report_reads(count: int, runs: list[dict[str, float]], loads: list[float]) -> None:
    print(f"first reads of {count:,} generated Mistral events on a fresh server, {len(runs)} runs, load average "
          f"{spread(loads, '', 1)} on {os.cpu_count()} CPUs")
    rss = {"traces": "rss_before", "similar": "spans_rss"}
    for name, what in [("traces", "traces search (derives traces, spans, logs)"), ("logs", "logs search"),
                       ("spans", "spans search"), ("similar", "similar events (reads every event's words)")]:
        line = f"  {what}: wall {spread([r[name + '_wall'] for r in runs], 's', 2)}, server cpu " \
               f"{spread([r[name + '_cpu'] for r in runs], 's', 2)}"
        if name in rss:
            line += f", RSS {spread([r[name + '_rss'] - r[rss[name]] for r in runs], 'MB', 0)}"
        print(line)
    derived = [r["similar_rss"] - r["rss_before"] for r in runs]
    p99s = [r["probe_p99"] for r in runs]
    print(f"  derived data adds {spread(derived, 'MB', 0)} to the server's RSS "
          f"({spread([r['rss_before'] for r in runs], 'MB', 0)} before)")
    print(f"  probe in another namespace: p50 {spread([r['probe_p50'] for r in runs], 'ms', 1)}, "
          f"p99 {spread(p99s, 'ms', 0)}, max {spread([r['probe_max'] for r in runs], 'ms', 0)} "
          f"over {min(r['polls'] for r in runs):.0f}+ polls")
    print(f"  target {TARGET_DERIVED_MB} MB: {'ok' if max(derived) <= TARGET_DERIVED_MB else 'FAIL'} (worst); "
          f"target p99 {TARGET_PROBE_P99_MS} ms: {'ok' if max(p99s) < TARGET_PROBE_P99_MS else 'FAIL'} (worst)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="generated events (default 100,000)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes to measure (default 5)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a measured child process
    parser.add_argument("--only", choices=("builds", "reads"), help="measure only the builds or the first reads")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.events)))
        return 0
    if args.only != "reads":
        if measure_builds(args) != 0:
            return 1
    if args.only != "builds":
        loads, runs = [], []
        for _ in range(args.runs):
            loads.append(os.getloadavg()[0])
            runs.append(first_reads(args.events))
            r = runs[-1]
            print("run: first traces search {traces_wall:.2f} s (server cpu {traces_cpu:.2f} s), similar events "
                  "{similar_wall:.2f} s (cpu {similar_cpu:.2f} s), derived data +{derived:.0f} MB, probe p99 "
                  "{probe_p99:.0f} ms".format(**r, derived=r["similar_rss"] - r["rss_before"]))
        report_reads(args.events, runs, loads)
    return 0


def measure_builds(args: argparse.Namespace) -> int:
    runs, loads = [], []
    for _ in range(args.runs):
        loads.append(os.getloadavg()[0])
        done = subprocess.run([sys.executable, "-m", "bench.loads", "--one", "--events", str(args.events)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        runs.append(json.loads(done.stdout))
        print("run: wall {wall:.2f} s, cpu {cpu:.2f} s, peak RSS {peak_mb:.0f} MB (+{added_mb:.0f} MB)".format(
            **runs[-1]))
    walls, cpus = [r["wall"] for r in runs], [r["cpu"] for r in runs]
    peaks = [r["peak_mb"] for r in runs]
    print(f"{args.events:,} generated Mistral events, {args.runs} runs, load average {spread(loads, '', 1)} "
          f"on {os.cpu_count()} CPUs")
    print(f"  wall     {spread(walls, 's', 2)}")
    print(f"  cpu      {spread(cpus, 's', 2)}")
    print(f"  peak RSS {spread(peaks, 'MB', 0)}, the build adding {spread([r['added_mb'] for r in runs], 'MB', 0)}")
    if args.events == 100_000:
        fast = min(walls) <= TARGET_SECONDS
        small = max(peaks) <= TARGET_MB
        print(f"  target {TARGET_SECONDS:.0f} s: {'ok' if fast else 'FAIL'} (best wall); "
              f"target {TARGET_MB} MB: {'ok' if small else 'FAIL'} (worst peak)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
