"""`make demo`: each vendor's demo scenario driven through its official SDK, step by step.

Starts the emulator (http, and https for pydo, which refuses plain http), loads scenarios/<vendor>.yaml into a
namespace per story through the control API, then does what a user would and prints what happened. Every story
checks what it prints, so the demo fails loudly if the emulator stops behaving. The SDKs come from the `test`
extra (`make demo` installs it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from emulator.control.client import EmulatorControl
from emulator.control.server import EmulatorServer

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def say(step: str) -> None:
    print(f"  - {step}", flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"demo expectation failed: {what}")


def mka1_story(url: str) -> None:
    """A run that completed with failures is rerun; a scripted run is polled until it fails."""
    from meetkai_mka1 import SDK
    from meetkai_mka1.utils import RetryConfig

    control = EmulatorControl(url, namespace="mka1-demo")
    control.load_scenario(SCENARIOS / "mka1.yaml")
    evals = SDK(bearer_auth="mka1-demo", server_url=url, retry_config=RetryConfig("none", None, False)).llm.evals

    runs = evals.list_runs(limit=10).data
    say(f"list_runs: {len(runs)} runs: " + ", ".join(f"{r.id[:16]}… {r.status}" for r in runs))
    nightly = next(r for r in runs if r.metadata.get("purpose") == "nightly")
    counts = nightly.request_counts
    say(f"nightly run {nightly.status}: {counts.completed} samples passed, {counts.failed} failed of {counts.total}")
    check(nightly.status == "completed" and counts.failed >= 1, "the nightly run completed with failures")

    smoke = next(r for r in runs if r.metadata.get("purpose") == "smoke")
    seen = [evals.get_run(run_id=smoke.id).status for _ in range(3)]
    say(f"scripted smoke run, three polls: {' -> '.join(seen)}")
    check(seen == ["queued", "queued", "in_progress"], "the timeline held the run queued for two polls")

    rerun = evals.rerun_failed_samples(run_id=nightly.id)
    say(f"rerun_failed_samples -> {rerun.status}: the {counts.failed} failed samples are queued again")
    control.advance(60)
    failed = evals.get_run(run_id=smoke.id)
    again = evals.get_run(run_id=nightly.id)
    say(f"a minute later (virtual clock) the rerun is {again.status}, failed {again.request_counts.failed}")
    check(again.status == "completed" and again.request_counts.total == counts.total, "the rerun completed")
    say(f"and the smoke run {failed.status} at 60 s as scripted: {failed.error['code']}: {failed.error['message']}")
    check(failed.status == "failed" and failed.error["code"] == "worker_lost", "the timeline failed the run")


STORIES: list[tuple[str, Callable[[str], None], bool]] = [
    ("MKA1 evals", mka1_story, False),
]


def main() -> int:
    failures = 0
    with EmulatorServer() as http_server, EmulatorServer(tls=True) as tls_server:
        print(f"emulator at {http_server.url} and {tls_server.url}")
        for title, story, needs_tls in STORIES:
            print(f"\n{title}: {story.__doc__}")
            server = tls_server if needs_tls else http_server
            try:
                story(server.url) if not needs_tls else story(server.url, server.ca_file)
            except Exception as exc:  # report and go on: one broken story should not hide the others
                failures += 1
                print(f"  ! {type(exc).__name__}: {exc}")
    print("\nall demo stories ran as expected" if not failures else f"\n{failures} demo story(ies) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
