"""Request bodies are limited while they stream: a 200 MB body is refused with 413 in the vendor's envelope
before the rest is read, whether it declares its length or not; what it refused changes nothing."""

from __future__ import annotations

import json
import socket

import pytest

from tests.reliability.conftest import start_server

MiB = 1024 * 1024
# (path, headers, how the vendor's envelope names a 413)
TARGETS = {
    "mka1": ("/api/v1/llm/evals/suites", {"Authorization": "Bearer limits"},
             lambda body: body["error"]["code"] == 413),
    "mistral": ("/v1/observability/judges", {"Authorization": "Bearer limits"},
                lambda body: "detail" in body),
    "digitalocean": ("/v2/gen-ai/evaluation_test_cases", {"Authorization": "Bearer limits"},
                     lambda body: body["id"] == "request_entity_too_large"),
    "control": ("/_emulator/scenarios", {"X-Emulator-Namespace": "limits"},
                lambda body: body["error"]["type"] == "payload_too_large"),
}


@pytest.fixture(scope="module")
def server():
    with start_server("--max-body", str(4 * MiB)) as url:
        yield url.removeprefix("http://").split(":")


def _send(server, path, headers, chunked: bool) -> tuple[int, dict, int]:
    """Stream up to 200 MiB; answer (status, body, MiB sent before the answer came)."""
    host, port = server
    with socket.create_connection((host, int(port))) as sock:
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json", "Connection: close"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {200 * MiB}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.settimeout(0.01)
        chunk = b"[" + b"1," * (MiB // 2 - 1) + b"1"
        sent = 0
        answer = b""
        for sent in range(1, 201):
            try:
                sock.sendall((f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") if chunked else chunk)
            except OSError:
                break
            try:
                answer += sock.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except ConnectionResetError:
                break
            if b"\r\n\r\n" in answer:
                break
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            try:
                more = sock.recv(65536)
            except ConnectionResetError:  # the server closed on the unread rest: what it sent first is kept
                break
            if not more:
                break
            answer += more
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"chunked" in head.lower():
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return status, json.loads(body), sent


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_huge_body_is_refused_before_it_is_read(server, target, chunked):
    path, headers, envelope = TARGETS[target]
    status, body, sent = _send(server, path, headers, chunked)
    assert status == 413 and envelope(body), body
    assert sent < 50, f"{sent} MiB went in before the refusal"
