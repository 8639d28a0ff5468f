"""How long the inspector page (/_emulator/ui) takes to load over a namespace of 10,000 runs.

Run from the repository root: ``python -m bench.inspector`` (``make bench-inspector``); ``--runs``, ``--journal``
and ``--loads`` change the sizes. It needs Debian's Chromium (``apt-get install chromium``) and the ``playwright``
package of the test extra.

What is measured: a real server (``python -m emulator serve``) holding one namespace of N MKA1 runs, loaded from a
scenario, and a full journal (``--journal`` SDK-shaped reads); then, in headless Chromium, the time from
navigating to the page until every panel has been filled once (the page marks ``<body data-refreshed>``). Each
load is a fresh browser context, so nothing is cached. The control API calls the page makes are timed on their
own too. The target is under a second: the page asks for one page of resources (20) and at most 200 journal
entries, whatever the namespace holds, so the figure should not grow with N (compare ``--runs 1000``).

This is a measurement, not a test (the test suite holds no timing assertions): it prints the figures and a
verdict, and exits non-zero only when it could not run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from emulator.control.server import EmulatorServer

NAMESPACE = "bench-inspector"
TARGET_SECONDS = 1.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def scenario(runs: int) -> str:
    return f"""\
namespace: {NAMESPACE}
clock: {{mode: manual, start: 2026-06-01T09:00:00Z}}
mka1:
  suites:
    - {{ref: s, name: Bench, manifest: {{tasks: [{{id: faq, type: qa, dataset: {{file_id: f}}}}]}}}}
  runs:
    - {{suite: s, models: [gpt-4o-mini], generate: {runs}, age_seconds: 3600}}
"""


def fill_journal(url: str, calls: int) -> None:
    """`calls` reads of runs by id, as an SDK polling them would make (the journal keeps the newest 10,000)."""
    headers = {"Authorization": f"Bearer {NAMESPACE}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        ids = [r["id"] for r in client.get("/_emulator/resources", params={"limit": 500},
                                           headers={"X-Emulator-Namespace": NAMESPACE}).json()["resources"]]
        for n in range(calls):
            client.get(f"/api/v1/llm/evals/runs/{ids[n % len(ids)]}")


def time_api(url: str, repeats: int = 20) -> dict[str, float]:
    """Median milliseconds of each control call the page makes on a refresh."""
    headers = {"X-Emulator-Namespace": NAMESPACE}
    calls = {"namespaces": ("/_emulator/namespaces", {}), "clock": ("/_emulator/clock", {}),
             "resources (first page)": ("/_emulator/resources", {"limit": 20}),
             "journal (newest 200)": ("/_emulator/journal", {"limit": 200}),
             "journal (since the newest)": ("/_emulator/journal", {"limit": 200, "since": 10**9}),
             "faults": ("/_emulator/faults", {})}
    found = {}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for name, (path, params) in calls.items():
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                client.get(path, params=params).raise_for_status()
                times.append(time.perf_counter() - start)
            found[name] = statistics.median(times) * 1000
    return found


def time_page_loads(url: str, loads: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium: apt-get install chromium")
    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for _ in range(loads + 1):  # the first load warms the browser up and is not counted
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"{url}/_emulator/ui#ns={NAMESPACE}")
                page.wait_for_selector("body[data-refreshed]", timeout=30_000)
                seconds.append(time.perf_counter() - start)
                rows = page.locator("#resources tbody tr").count()
                assert rows == 20, f"the page shows {rows} resources, not one page of 20"
                context.close()
        finally:
            browser.close()
    return seconds[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the namespace (default 10,000)")
    parser.add_argument("--journal", type=int, default=10_000, help="vendor calls in its journal (default 10,000)")
    parser.add_argument("--loads", type=int, default=5, help="page loads to time (default 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(scenario(args.runs))
        started = time.perf_counter()
        with EmulatorServer(clock="manual", scenarios=[str(path)]) as server:
            print(f"server with {args.runs:,} runs up in {time.perf_counter() - started:.1f} s at {server.url}")
            started = time.perf_counter()
            fill_journal(server.url, args.journal)
            print(f"journal filled with {args.journal:,} calls in {time.perf_counter() - started:.1f} s")
            for name, ms in time_api(server.url).items():
                print(f"  GET {name:<28} {ms:7.1f} ms (median)")
            loads = time_page_loads(server.url, args.loads)
    median = statistics.median(loads)
    print(f"page load to every panel filled, {args.runs:,} runs, {args.journal:,} journal entries: "
          f"median {median * 1000:.0f} ms, max {max(loads) * 1000:.0f} ms over {len(loads)} loads")
    print(f"target < {TARGET_SECONDS:.0f} s: {'PASS' if median < TARGET_SECONDS else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
