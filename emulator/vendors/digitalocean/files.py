"""Presigned URLs for the emulator's own file rows (`files.upload`, `files.download`): how a URL names its object
key and carries its grant, and how a request's key and grant are read back.

Object keys are opaque, as S3-style keys are: any string the presign operations made from any file name (spaces,
a literal `%20`, `a/../b.csv`, unicode, `?`, `#`, `&`). A URL carries the key as ONE path segment percent-encoded
with nothing safe (`/` is `%2F`), so no client resolves `..` in it or splits it at `?`/`#`; the server takes the
key from scope["raw_path"] and percent-decodes it exactly once. Not scope["path"]: uvicorn decodes that once but
Starlette's TestClient twice (it unquotes httpx's already-decoded path), so only raw_path is the same under both.

The grant (`?expires=<epoch seconds>&grant=<token>`) names the namespace without showing its name (which by
default is the user's bearer token) and cannot be forged or altered: the token is a 16-byte HMAC-SHA256 tag over
(method, key, expires, namespace) followed by the namespace name masked with an HMAC keystream seeded by the tag
(a deterministic, authenticated encryption). The secret is random per process: URLs are not reproducible across
processes anyway (they name the host and port the request came to), and a restart retires every URL, as it
empties every namespace. Opening a grant only reads `world.namespaces`, so a forged grant never creates one.

A URL expires by its namespace's clock (the clock its `expires_at` is reported in); it is valid up to and
including the second in `expires` (the reported expires_at rounded up to a whole second).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from urllib.parse import parse_qsl, quote, unquote_to_bytes

from emulator.vendors.digitalocean import PREFIX

SECRET = secrets.token_bytes(32)
TAG_BYTES = 16
ROOT = PREFIX + "/_emulator/files/"
MAX_KEY_BYTES = 1024  # S3's (and so Spaces') limit on an object key, in UTF-8 bytes


def _prf(*parts: bytes) -> bytes:
    """HMAC-SHA256 of the parts, each length-prefixed so no two lists of parts read the same."""
    message = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    return hmac.new(SECRET, message, hashlib.sha256).digest()


def _mask(tag: bytes, data: bytes) -> bytes:
    """`data` XOR a keystream drawn from the tag (applying it twice gives `data` back)."""
    stream = b"".join(_prf(b"mask", tag, n.to_bytes(4, "big")) for n in range(-(-len(data) // 32)))
    return bytes(a ^ b for a, b in zip(data, stream))


def _tag(method: str, key: str, expires: int, namespace: bytes) -> bytes:
    return _prf(b"grant", method.encode(), key.encode(), str(expires).encode(), namespace)[:TAG_BYTES]


def seal(namespace: str, method: str, key: str, expires: int) -> str:
    """The grant for `method` on `key` in `namespace` until `expires`."""
    name = namespace.encode()
    tag = _tag(method, key, expires, name)
    return base64.urlsafe_b64encode(tag + _mask(tag, name)).decode().rstrip("=")


def open_grant(grant: str, method: str, key: str, expires: int) -> str | None:
    """The namespace a grant names, or None when it is not a grant this process made for exactly these values."""
    try:
        raw = base64.urlsafe_b64decode(grant + "=" * (-len(grant) % 4))
    except ValueError:
        return None
    tag, hidden = raw[:TAG_BYTES], raw[TAG_BYTES:]
    name = _mask(tag, hidden)
    if len(tag) != TAG_BYTES or not hmac.compare_digest(tag, _tag(method, key, expires, name)):
        return None
    return name.decode()


def expiry(expires_at: float) -> int:
    """The whole second a URL expires at, from the expires_at the API reports."""
    return math.ceil(expires_at)


def url(base_url: str, namespace: str, method: str, key: str, expires_at: float) -> str:
    """A presigned URL on this emulator for `method` on `key`."""
    expires = expiry(expires_at)
    return (f"{base_url}{ROOT}{quote(key, safe='')}?expires={expires}"
            f"&grant={seal(namespace, method, key, expires)}")


def request_key(raw_path: bytes) -> str | None:
    """The object key of a request's raw path (decoded once), or None when it is not one key in UTF-8."""
    root = ROOT.encode()
    if not raw_path.startswith(root):
        return None
    try:
        return unquote_to_bytes(raw_path[len(root):]).decode("utf-8")
    except UnicodeDecodeError:
        return None


def request_grant(query_string: bytes) -> tuple[int, str] | None:
    """(expires, grant) of a request's query, or None when either is missing or malformed."""
    found = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    expires, grant = found.get("expires", ""), found.get("grant", "")
    if not expires.isdigit() or len(expires) > 12 or not grant:
        return None
    return int(expires), grant
