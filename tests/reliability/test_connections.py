"""Connections cannot hold the server: a silent connection and a slowloris client are cut off, and the server
keeps answering others meanwhile. Run against a real server with short limits (the defaults are 5 s and 10 s)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.reliability.conftest import start_server


@pytest.fixture(scope="module")
def server():
    with start_server("--keep-alive", "1", "--header-timeout", "1") as url:
        yield url


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection (recv answers b"") before `seconds` pass."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def test_a_silent_connection_is_closed(server):
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        assert _closed_within(sock, 10)


def test_a_slowloris_client_is_cut_off_and_others_are_served(server):
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /api/v1/llm/evals/runs HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        cut = False
        while time.monotonic() - started < 10:  # one header byte every 0.2 s, never finishing
            try:
                sock.sendall(b"X")
            except OSError:
                cut = True
                break
            assert httpx.get(server + "/_emulator/health").status_code == 200
            if _closed_within(sock, 0.2):
                cut = True
                break
        assert cut, "the server kept a connection whose headers never ended"
