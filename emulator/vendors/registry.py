"""The vendors the app serves: each gives its path prefix, its routes and its error renderer."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel
from starlette.responses import Response
from starlette.routing import BaseRoute

from emulator.core.errors import ApiError
from emulator.core.namespace import Namespace


@dataclass(frozen=True)
class Vendor:
    name: str
    prefix: str
    routes: Callable[[], list[BaseRoute]]
    render_error: Callable[[ApiError], Response]
    # Loads this vendor's section of a scenario file into a namespace.
    load_scenario: Callable[[Namespace, Any], None] | None = None
    # Renders one of the vendor's own error codes (or a neutral kind) for scripted faults; None if unknown.
    render_code: Callable[[str, str], Response | None] | None = None

    @property
    def scenario_section(self) -> type[BaseModel] | None:
        """The pydantic model of this vendor's scenario section: `Section` beside its loader, by convention."""
        if self.load_scenario is None:
            return None
        return getattr(sys.modules.get(self.load_scenario.__module__), "Section", None)


def vendors() -> list[Vendor]:
    from emulator.vendors import mka1
    from emulator.vendors.mka1 import errors as mka1_errors
    from emulator.vendors.mka1 import routes as mka1_routes
    from emulator.vendors.mka1 import scenario as mka1_scenario

    from emulator.vendors import qianfan
    from emulator.vendors.qianfan import errors as qianfan_errors
    from emulator.vendors.qianfan import routes as qianfan_routes
    from emulator.vendors.qianfan import scenario as qianfan_scenario

    from emulator.vendors import mistral
    from emulator.vendors.mistral import errors as mistral_errors
    from emulator.vendors.mistral import routes as mistral_routes
    from emulator.vendors.mistral import scenario as mistral_scenario

    from emulator.vendors import digitalocean
    from emulator.vendors.digitalocean import errors as digitalocean_errors
    from emulator.vendors.digitalocean import routes as digitalocean_routes
    from emulator.vendors.digitalocean import scenario as digitalocean_scenario

    return [
        Vendor("mka1", mka1.PREFIX, mka1_routes.routes, mka1_errors.render_error, mka1_scenario.load,
               mka1_errors.render_code),
        Vendor("qianfan", qianfan.PREFIX, qianfan_routes.routes, qianfan_errors.render_error, qianfan_scenario.load,
               qianfan_errors.render_code),
        Vendor("mistral", mistral.PREFIX, mistral_routes.routes, mistral_errors.render_error, mistral_scenario.load,
               mistral_errors.render_code),
        Vendor("digitalocean", digitalocean.PREFIX, digitalocean_routes.routes, digitalocean_errors.render_error,
               digitalocean_scenario.load, digitalocean_errors.render_code),
    ]
