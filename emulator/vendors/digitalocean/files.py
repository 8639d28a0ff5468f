"""Presigned URLs for the emulator's own file rows (`files.upload`, `files.download`): how a URL names its object
key and carries its grant, and how a request's key and grant are read back.

Object keys are opaque, as S3-style keys are: any string the presign operations made from any file name (spaces,
a literal `%20`, `a/../b.csv`, unicode, `?`, `#`, `&`). A URL carries the key as ONE path segment percent-encoded
with nothing safe (`/` is `%2F`), so no client resolves `..` in it or splits it at `?`/`#`; the server takes the
key from scope["raw_path"] and percent-decodes it exactly once. Not scope["path"]: uvicorn decodes that once but
Starlette's TestClient twice (it unquotes httpx's already-decoded path), so only raw_path is the same under both.

The grant (`?handle=<h>&expires=<epoch seconds>&signature=<s>`) names the namespace without showing its name
(which by default is the user's bearer token) and cannot be forged or altered. The handle and the signing key
are one-way derivations of the namespace's seed and name: the URLs are the same bytes for the same scenario and
seed, and forging one takes the namespace's name, which is its credential anyway. The signature is an
HMAC-SHA256 over (method, key, expires) with that key. A handle is looked up in a process-wide table filled when
a URL is made (one-way from one namespace name, a handle never stands for two), then the request's world must
hold that namespace with that handle: a lookup never creates a namespace, and a URL made before a restart is
refused until the namespace makes a new one, unless the server restored the namespace from its saved state
(serve --state-dir): `restored` puts the handles of restored namespaces back.

A URL expires by its namespace's clock (the clock its `expires_at` is reported in); it is valid up to and
including the second in `expires` (the reported expires_at rounded up to a whole second).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, unquote_to_bytes

from emulator.core.ids import derived_hex
from emulator.core.namespace import Namespace, World
from emulator.vendors.digitalocean import PREFIX

ROOT = PREFIX + "/_emulator/files/"
MAX_KEY_BYTES = 1024  # S3's (and so Spaces') limit on an object key, in UTF-8 bytes
PRESIGNED = "digitalocean.presigned"  # the collection of object keys handed out (service.presigned)
HANDLES: dict[str, str] = {}  # handle -> namespace name, for every namespace that made a URL in this process


class Grant(NamedTuple):
    handle: str
    expires: int  # epoch seconds, on the namespace's clock
    signature: str


def handle(ns: Namespace) -> str:
    return derived_hex(ns.seed, ns.name, "digitalocean.files.handle", nbytes=12)


def signature(ns: Namespace, method: str, key: str, expires: int) -> str:
    secret = derived_hex(ns.seed, ns.name, "digitalocean.files.signing-key", nbytes=32).encode()
    message = b"".join(len(p).to_bytes(4, "big") + p for p in (method.encode(), key.encode(), str(expires).encode()))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def namespace_of(world: World, grant: Grant, method: str, key: str) -> Namespace | None:
    """The namespace a request's grant names, or None when it is not one of its URLs for exactly this method, key
    and expiry (the expiry itself is checked by the caller, against that namespace's clock)."""
    name = HANDLES.get(grant.handle)
    ns = world.namespaces.get(name) if name is not None else None
    if ns is None or handle(ns) != grant.handle:
        return None
    expected = signature(ns, method, key, grant.expires).encode()
    return ns if hmac.compare_digest(expected, grant.signature.encode()) else None


def restored(ns: Namespace) -> None:
    """A namespace restored at start answers the URLs it handed out before (its handle is derived, not random)."""
    if ns.store.counts().get(PRESIGNED):
        HANDLES[handle(ns)] = ns.name


def expiry(expires_at: float) -> int:
    """The whole second a URL expires at, from the expires_at the API reports."""
    return math.ceil(expires_at)


def url(base_url: str, ns: Namespace, method: str, key: str, expires_at: float) -> str:
    """A presigned URL on this emulator for `method` on `key` of `ns`."""
    expires, made = expiry(expires_at), handle(ns)
    HANDLES[made] = ns.name
    return (f"{base_url}{ROOT}{quote(key, safe='')}?handle={made}&expires={expires}"
            f"&signature={signature(ns, method, key, expires)}")


def request_key(raw_path: bytes) -> str | None:
    """The object key of a request's raw path (decoded once), or None when it is not one key in UTF-8."""
    root = ROOT.encode()
    if not raw_path.startswith(root):
        return None
    try:
        return unquote_to_bytes(raw_path[len(root):]).decode("utf-8")
    except UnicodeDecodeError:
        return None


def request_grant(query_string: bytes) -> Grant | None:
    """The grant in a request's query, or None when a part is missing or malformed."""
    found = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    expires = found.get("expires", "")
    if not (found.get("handle") and found.get("signature") and expires.isascii() and expires.isdigit()
            and len(expires) <= 12):
        return None
    return Grant(found["handle"], int(expires), found["signature"])
