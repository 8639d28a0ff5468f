"""A real server on a free port with the given `serve` options, for tests that need sockets."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import Iterator


@contextlib.contextmanager
def start_server(*options: str) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", "--clock", "manual",
                             "--exit-with-pid", str(os.getpid()), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, line
        yield line.split("listening on ", 1)[1].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
