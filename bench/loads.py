"""How long a big scenario takes to build, and the memory it takes: ``python -m bench.loads``.

Each run is a fresh Python process that imports the emulator, then times
``emulator.core.scenario.build(World(), parse_scenario(text), registry.vendors())`` for a scenario of
``mistral: {events: [{generate: N}]}`` (N = 100,000 by default) and reports:

- wall: the build's elapsed time (what a client of the server waits for, imports excluded);
- cpu: the build's process CPU time (steadier than wall on a machine shared with other work);
- peak RSS: the process's maximum resident set size (ru_maxrss), imports included, and how much of it the
  build added.

Targets (issue "boringly reliable"): at most 3 s and 600 MB for 100,000 events. Runs are repeated (--runs) and
shown as ranges with the load average, since other work on the machine slows the wall time. Exits non-zero
only when a run fails; a missed target prints FAIL.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

TARGET_SECONDS = 3.0
TARGET_MB = 600


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="generated events (default 100,000)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes to measure (default 5)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a measured child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.events)))
        return 0
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
