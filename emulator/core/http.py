"""Small request helpers every vendor and the control API share."""

from __future__ import annotations

from typing import Mapping


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The credential of `Authorization: Bearer <token>` (scheme case-insensitive), or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None
