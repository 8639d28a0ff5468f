"""Seeded fake text: the same key gives the same words on every run, independent of call order."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from emulator.core.ids import derived_hex

if TYPE_CHECKING:  # pragma: no cover
    from faker import Faker

_local = threading.local()


def _faker() -> "Faker":
    # One instance per thread: building Faker is slow, re-seeding it is cheap. Handlers never await while they
    # use it, and a scenario built off the event loop has its own thread's instance, so seeds never interleave.
    # Imported on first use: Faker is a third of the server's start-up imports.
    fake = getattr(_local, "faker", None)
    if fake is None:
        from faker import Faker

        fake = _local.faker = Faker("en_US")
    return fake


def faker_for(*key: object) -> "Faker":
    """Faker seeded from `key` (for instance namespace seed, object id, field)."""
    fake = _faker()
    fake.seed_instance(int(derived_hex(*key, nbytes=8), 16))
    return fake
