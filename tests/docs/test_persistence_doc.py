"""docs/persistence.md runs as written: its commands, one after the other, in an empty directory."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def commands() -> list[list[str]]:
    (block,) = re.findall(r"```sh\n(.*?)```", (ROOT / "docs" / "persistence.md").read_text(), re.S)
    return [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.strip()]


def serve(argv: list[str], cwd: Path) -> tuple[subprocess.Popen, str, list[str]]:
    assert argv[:3] == ["python", "-m", "emulator"], argv
    proc = subprocess.Popen([sys.executable, *argv[1:], "--clock", "manual", "--exit-with-pid", str(os.getpid())],
                            cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline()
    assert "listening on" in first, first + proc.stdout.read()
    lines = [first]
    while "control API" not in lines[-1]:
        lines.append(proc.stdout.readline())
    return proc, first.split("listening on ", 1)[1].split()[0], lines


def stop(proc: subprocess.Popen) -> str:
    """SIGTERM; the output after the lines `serve` read (read from the same buffered pipe)."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    return proc.stdout.read()


def test_the_persistence_commands_run_as_written(tmp_path):
    saving, exporting, importing = commands()
    assert "--state-dir" in saving and "--export-on-exit" in exporting and "--import" in importing

    proc, url, _ = serve(saving, tmp_path)
    httpx.post(url + "/_emulator/clock/advance", json={"seconds": 5}, headers={"X-Emulator-Namespace": "kept"})
    assert "state emulator-state: nothing saved yet" in stop(proc)
    again, _, _ = serve(saving, tmp_path)
    assert "state emulator-state: restored 1 namespace(s)" in stop(again)

    proc, url, _ = serve(exporting, tmp_path)
    httpx.post(url + "/_emulator/clock/advance", json={"seconds": 7}, headers={"X-Emulator-Namespace": "out"})
    stop(proc)
    assert (tmp_path / "snapshot" / "emulator-state.json").exists()

    proc, url, _ = serve(importing, tmp_path)
    clock = httpx.get(url + "/_emulator/clock", headers={"X-Emulator-Namespace": "out"}).json()
    summary = stop(proc)
    assert "imported snapshot: restored 1 namespace(s)" in summary and clock["now"] == 1767225600.0 + 7
