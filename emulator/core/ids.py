"""Vendor-style ids from a namespace's seeded RNG, and stable derived ids that need no storage."""

from __future__ import annotations

import hashlib
import random


def hex_id(rng: random.Random, prefix: str, nbytes: int = 16) -> str:
    """`prefix` + 2*nbytes lowercase hex digits drawn from `rng` (uuid4-hex look, reproducible per seed)."""
    return f"{prefix}{rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def derived_hex(*parts: object, nbytes: int = 16) -> str:
    """Hex digest of `parts`: the same inputs always give the same id, so derived objects need not be stored."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=nbytes)
    return digest.hexdigest()


def derived_unit(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`: deterministic per-object randomness without shared RNG state."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
