"""Small request helpers every vendor and the control API share."""

from __future__ import annotations

from typing import Mapping

from starlette.requests import Request


def headers_of(request: Request) -> dict[str, str]:
    """Request headers in one pass (lower-case names; a repeated header keeps its last value).

    Cheaper than several lookups in Starlette's Headers, which scans the raw list on each one.
    """
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The credential of `Authorization: Bearer <token>` (scheme case-insensitive), or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def credential_of(headers: Mapping[str, str]) -> str | None:
    """The caller's credential for choosing a namespace: a bearer token, or a bce-auth-v1 access key."""
    authorization = headers.get("authorization", "")
    if authorization.startswith("bce-auth-v1/"):
        return authorization.split("/", 2)[1] or None
    return bearer_token(headers)
