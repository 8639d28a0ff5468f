"""Vendor-style ids from a namespace's seeded RNG, and stable derived ids that need no storage."""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache


def hex_id(rng: random.Random, prefix: str, nbytes: int = 16) -> str:
    """`prefix` + 2*nbytes lowercase hex digits drawn from `rng` (uuid4-hex look, reproducible per seed)."""
    return f"{prefix}{rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def derived_hex(*parts: object, nbytes: int = 16) -> str:
    """Hex digest of `parts`: the same inputs always give the same id, so derived objects need not be stored."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=nbytes)
    return digest.hexdigest()


def derived_hex_counted(parts: tuple, count: int, nbytes: int = 16) -> str:
    """`derived_hex(*parts, count)`, for ids numbered by a counter under the same parts (every answer's request
    id): the parts are hashed once and the hash state copied, a third of the cost."""
    digest = _hashed(parts, nbytes).copy()
    digest.update(b"%d" % count)
    return digest.hexdigest()


@lru_cache(maxsize=1024)
def _hashed(parts: tuple, nbytes: int) -> "hashlib._Hash":
    return hashlib.blake2b(("\x1f".join(map(str, parts)) + "\x1f").encode(), digest_size=nbytes)


def derived_unit(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`: deterministic per-object randomness without shared RNG state."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
