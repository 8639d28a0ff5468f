"""Finds the vendors to serve by convention: each package named here (or registered by another distribution
under the `llm_eval_emulator.vendors` entry-point group) exports one `VENDOR` (core.vendor.Vendor).

A fifth vendor is one more package: list it in PACKAGES, or, from outside this project, declare

    [project.entry-points."llm_eval_emulator.vendors"]
    acme = "acme_emulator"          # a module that exports VENDOR
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Iterable

from emulator.core.vendor import Vendor, Vendors

PACKAGES = (
    "emulator.vendors.mka1",
    "emulator.vendors.qianfan",
    "emulator.vendors.mistral",
    "emulator.vendors.digitalocean",
)
ENTRY_POINT_GROUP = "llm_eval_emulator.vendors"


def load(name: str) -> Vendor:
    """The VENDOR a module (or `module:attribute`) exports."""
    module_name, _, attribute = name.partition(":")
    found = getattr(importlib.import_module(module_name), attribute or "VENDOR", None)
    if not isinstance(found, Vendor):
        raise TypeError(f"{name} exports no VENDOR (an emulator.core.vendor.Vendor)")
    return found


def vendors(packages: Iterable[str | Vendor] | None = None) -> Vendors:
    """The vendors to serve: the given packages (or Vendor objects), else this project's and the plugged-in."""
    if packages is not None:
        return Vendors(p if isinstance(p, Vendor) else load(p) for p in packages)
    found = [load(name) for name in PACKAGES]
    for point in entry_points(group=ENTRY_POINT_GROUP):
        found.append(load(point.value))
    return Vendors(found)
