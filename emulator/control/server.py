"""Start the emulator as a child process on a free port, for scripts and demos.

    with EmulatorServer(tls=True) as server:
        pydo.Client(token="t", endpoint=server.url, connection_verify=server.ca_file)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable


class EmulatorServer:
    def __init__(self, *, tls: bool = False, clock: str = "manual", seed: int = 0, scenarios: Iterable[str] = (),
                 log_level: str = "warning"):
        self.tls = tls
        self._dir = tempfile.TemporaryDirectory(prefix="llm-eval-emulator-")
        self.ca_file = str(Path(self._dir.name) / "ca.pem") if tls else None
        self._command = [sys.executable, "-m", "emulator", "serve", "--port", "0", "--clock", clock,
                         "--seed", str(seed), "--log-level", log_level, "--exit-with-pid", str(os.getpid())]
        for path in scenarios:
            self._command += ["--scenario", str(path)]
        if tls:
            self._command += ["--tls", "--tls-ca-file", self.ca_file]
        self.url = ""
        self._process: subprocess.Popen | None = None

    def start(self) -> "EmulatorServer":
        self.log_file = Path(self._dir.name) / "server.log"  # a file, not a pipe: a full pipe would stall it
        with open(self.log_file, "w") as log:
            self._process = subprocess.Popen(self._command, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self._process.stdout.readline() if self._process.stdout else ""
        if "listening on" not in line:
            self._process.kill()
            raise RuntimeError(f"the emulator did not start: {(line + self.log_file.read_text()).strip()}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._dir.cleanup()

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
