"""Signed in-process requests to the Qianfan routes, with the SDK's own signer (baidubce), for property tests."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from baidubce.auth.bce_credentials import BceCredentials
from baidubce.auth.bce_v1_signer import sign
from baidubce.utils import get_canonical_time

from emulator.core.jsonio import dumps


def signed_headers(path: str, query: dict[str, str] | None, *, ak: str = "emulator-ak", sk: str = "emulator-sk",
                   namespace: str | None = None) -> dict[str, str]:
    """The headers the SDK sends for a POST to `path` signed now (valid for 300 s)."""
    now = time.time()
    headers = {"Content-Type": "application/json", "Host": "testserver", "x-bce-date": get_canonical_time(now).decode()}
    auth = sign(BceCredentials(ak, sk), b"POST", path.encode(), {k.encode(): v for k, v in headers.items()},
                {k.encode(): v for k, v in (query or {}).items()}, timestamp=now, expiration_in_seconds=300,
                headers_to_sign={b"content-type", b"host", b"x-bce-date"})
    headers["Authorization"] = auth.decode()
    if namespace:
        headers["X-Emulator-Namespace"] = namespace
    return headers


def signed_post(client, path: str, query: dict[str, str] | None, *, json: Any = None, content: bytes | None = None,
                ak: str = "emulator-ak", sk: str = "emulator-sk", namespace: str | None = None):
    headers = signed_headers(path, query, ak=ak, sk=sk, namespace=namespace)
    url = path + ("?" + urlencode(query) if query is not None else "")
    return client.post(url, content=content if content is not None else dumps(json), headers=headers)
