"""Seeded fake text: the same key gives the same words on every run, independent of call order."""

from __future__ import annotations

from functools import lru_cache

from faker import Faker

from emulator.core.ids import derived_hex


@lru_cache(maxsize=1)
def _faker() -> Faker:
    # One instance per process: building Faker is slow, re-seeding it is cheap. Handlers never await while they
    # use it, so the shared instance is safe on the single event loop.
    return Faker("en_US")


def faker_for(*key: object) -> Faker:
    """Faker seeded from `key` (for instance namespace seed, object id, field)."""
    fake = _faker()
    fake.seed_instance(int(derived_hex(*key, nbytes=8), 16))
    return fake
