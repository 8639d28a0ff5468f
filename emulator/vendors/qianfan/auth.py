"""bce-auth-v1 verification, exactly as qianfan 0.4.12.3 signs (spec section 3).

    Authorization: bce-auth-v1/{accessKey}/{timestamp}/{expirationSeconds}/{signedHeaders}/{signature}

The SDK lists the signed headers in random order (a Python set), so the list is parsed, not compared. The
canonical headers are the signed ones plus every x-bce-* header, each "urlencode(lower(name)):urlencode(value)",
sorted; the canonical URI is the path as received (the SDK does not encode it); the canonical query is the sorted
"k=v" pairs, an empty Action kept as "Action=".

Credentials: `emulator-ak` / `emulator-sk` is known in every namespace that defines no credentials of its own;
a scenario's `qianfan.credentials` makes its pairs the only ones its namespace accepts (see scenario.py). The
namespace of a request is the X-Emulator-Namespace header, else the access key, so a scenario that should be
reached by an SDK (which cannot add headers) is loaded into the namespace named like its access key.

Time: a signature expires `expirationSeconds` after its timestamp (checked against the host's wall clock, since
the SDK signs with it); a timestamp more than MAX_SKEW_SECONDS ahead of the host's clock is refused as
RequestExpired (a signature stamped a year ahead would otherwise stay valid for a year), and an expiration
outside 1..MAX_EXPIRATION_SECONDS is a malformed header.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache
from calendar import timegm
from typing import TYPE_CHECKING, Mapping, NamedTuple
from urllib.parse import parse_qsl, quote

from emulator.core.clock import wall_now
from emulator.core.errors import ApiError
from emulator.core.namespace import World, resolve_name

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.operations import Call

SCHEME = "bce-auth-v1"
DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY = "emulator-ak", "emulator-sk"
DEFAULT_SIGNED = ("host", "content-md5", "content-length", "content-type")
CREDENTIALS_KEY = "qianfan.credentials"  # ns.extras key: {access key: secret key}
MAX_SKEW_SECONDS = 15 * 60  # how far ahead of the host's clock a signature's timestamp may be
MAX_EXPIRATION_SECONDS = 7 * 86400  # the longest validity a signature may claim


class Signed(NamedTuple):
    access_key: str
    namespace: str


class Verified(NamedTuple):
    """A request whose signature matched, and what its times are checked with on every use."""

    signed: Signed
    secret: str  # the key it was checked with: a namespace whose credentials changed checks it again
    stamp: str
    lifetime: int  # seconds, as the header gives them
    not_before: float  # the timestamp less the allowed skew: earlier, the signature is from the future
    not_after: float  # the timestamp plus its expiration


# Requests whose signature matched, by (method, path, query, every header as sent): the same request again (a
# client polling with one signature, within its validity) is accepted without the two HMACs. The headers hold the
# Authorization header, so the signature given is part of the key; the times are checked on every request.
VERIFIED_KEPT = 1024
VERIFIED_REQUEST_SIZE = 4096  # bytes of path, query and headers at most in a remembered request
_VERIFIED: dict[tuple, Verified] = {}


_UNRESERVED = re.compile(r"[A-Za-z0-9\-_.~]*")


@lru_cache(maxsize=4096)
def _encode(value: str) -> str:
    """RFC 3986 percent-encoding (what the SDK's signer does); most names and values need none, and a client's
    headers repeat from one request to the next."""
    return value if _UNRESERVED.fullmatch(value) else quote(value, safe="-_.~")


_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")


@lru_cache(maxsize=256)
def _epoch(stamp: str) -> float:
    """Epoch seconds of a `2024-09-20T02:31:36Z` timestamp (ValueError otherwise); strptime is ten times slower,
    and a client's stamps repeat within a second."""
    match = _STAMP.fullmatch(stamp)
    if match is None:
        raise ValueError(stamp)
    year, month, day, hour, minute, second = map(int, match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(stamp)
    return float(timegm((year, month, day, hour, minute, second, 0, 0, 0)))


def _fail(code: str, message: str) -> ApiError:
    kind = "invalid_request" if code in ("InvalidHTTPAuthHeader", "RequestExpired") else "forbidden"
    return ApiError(kind, message, vendor_code=code)


def canonical_request(method: str, path: str, query_string: str, headers: Mapping[str, str],
                      signed: list[str]) -> str:
    pairs = sorted(f"{_encode(k)}={_encode(v)}" for k, v in parse_qsl(query_string, keep_blank_values=True)
                   ) if query_string else []
    wanted = set(signed) or set(DEFAULT_SIGNED)
    lines = sorted(f"{_encode(name)}:{_encode(value.strip())}" for name, value in headers.items()
                   if (name in wanted or name.startswith("x-bce-")) and value.strip())
    return "\n".join([method.upper(), path, "&".join(pairs), "\n".join(lines)])


def signature(secret_key: str, prefix: str, canonical: str) -> str:
    signing_key = hmac.new(secret_key.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    return hmac.new(signing_key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def secret_for(world: World, namespace: str, access_key: str) -> str | None:
    """The secret key of `access_key` in `namespace`: its own credentials when it defines any (they are then the
    only ones it accepts), else the built-in pair. Never creates a namespace for an unverified key."""
    ns = world.namespaces.get(namespace)
    defined = None if ns is None else ns.extras.get(CREDENTIALS_KEY)
    if defined:
        return defined.get(access_key)
    return DEFAULT_SECRET_KEY if access_key == DEFAULT_ACCESS_KEY else None


def verify(call: "Call") -> Signed:
    """The verified caller, or the gateway's error (InvalidAccessKeyId, SignatureDoesNotMatch, RequestExpired)."""
    scope = call.scope
    request = (scope["method"], scope["path"], scope["query_string"], tuple(scope["headers"]))
    try:
        known = _VERIFIED.get(request)
    except TypeError:  # headers given as lists (an ASGI server other than uvicorn's): checked every time
        known = request = None
    if known is None or secret_for(call.world, known.signed.namespace, known.signed.access_key) != known.secret:
        known = _check_signature(call.world, scope["method"], scope["path"], scope["query_string"].decode("latin-1"),
                                 call.headers)
        if request is not None and len(request[1]) + len(request[2]) + sum(
                len(k) + len(v) for k, v in request[3]) <= VERIFIED_REQUEST_SIZE:
            if len(_VERIFIED) >= VERIFIED_KEPT:
                _VERIFIED.clear()
            _VERIFIED[request] = known
    now = wall_now()
    if now > known.not_after:
        raise _fail("RequestExpired", f"Request has expired. Timestamp date is {known.stamp},"
                                      f" valid for {known.lifetime} seconds")
    if now < known.not_before:
        raise _fail("RequestExpired", f"Request has expired. Timestamp date is {known.stamp}, more than"
                                      f" {MAX_SKEW_SECONDS // 60} minutes ahead of the server's clock")
    return known.signed


def _check_signature(world: World, method: str, path: str, query_string: str, headers: Mapping[str, str]
                     ) -> "Verified":
    """Everything about the signature but its time: the header's form, the key, the HMACs."""
    header = headers.get("authorization", "").strip()
    if not header:
        raise _fail("AccessDenied", "Access denied: the request carries no Authorization header; sign it with"
                                    " bce-auth-v1 (the SDK does, given QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY)")
    parts = header.split("/")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise _fail("InvalidHTTPAuthHeader", "The HTTP authorization header is invalid: expected"
                    " bce-auth-v1/{accessKey}/{timestamp}/{expirationSeconds}/{signedHeaders}/{signature}")
    _, access_key, stamp, expiration, signed_list, given = parts
    try:
        signed_at = _epoch(stamp)
    except (ValueError, OverflowError):
        raise _fail("InvalidHTTPAuthHeader", "The HTTP authorization header is invalid: the timestamp must look"
                    " like 2024-09-20T02:31:36Z") from None
    if not (expiration.isdigit() and len(expiration) <= 10 and 1 <= int(expiration) <= MAX_EXPIRATION_SECONDS):
        raise _fail("InvalidHTTPAuthHeader", "The HTTP authorization header is invalid: the expiration is whole"
                    f" seconds from 1 to {MAX_EXPIRATION_SECONDS}")
    if not access_key:
        raise _fail("InvalidHTTPAuthHeader", "The HTTP authorization header is invalid: empty access key")
    namespace = resolve_name(headers, access_key)
    secret = secret_for(world, namespace, access_key)
    if secret is None:
        raise _fail("InvalidAccessKeyId", f"The Access Key ID you provided does not exist in our records:"
                    f" {access_key!r} (the emulator knows {DEFAULT_ACCESS_KEY!r}; scenarios add more)")
    signed = [name.strip().lower() for name in signed_list.split(";") if name.strip()]
    canonical = canonical_request(method, path, query_string, headers, signed)
    expected = signature(secret, f"{SCHEME}/{access_key}/{stamp}/{expiration}", canonical)
    if not hmac.compare_digest(expected, given):
        raise _fail("SignatureDoesNotMatch", "The request signature we calculated does not match the signature"
                    f" you provided. Check your secret key and signing method. Canonical request: {canonical!r}")
    lifetime = int(expiration)
    return Verified(Signed(access_key, namespace), secret, stamp, lifetime, signed_at - MAX_SKEW_SECONDS,
                    signed_at + lifetime)
