"""Scripted faults: per-namespace rules that make chosen calls fail the way the vendor would.

A rule matches calls by vendor, operation (the SDK's operation name, e.g. `getEvalRun`, or Qianfan's Action),
HTTP method and path pattern (fnmatch: `*` spans slashes). It fires on the nth matching calls (`nth: [2]`), on
every one, or with a seeded probability, at most `times` times. It answers a vendor error by code
(`error: InternalError`), rendered in the vendor's envelope and status, or a raw `status`/`body`/`headers`, or
drops the connection; `latency` delays the call (alone, or before the error).

Every vendor request passes `answer` once its caller is accepted (core.operations.serve): the first rule that
fires answers for the vendor, in the vendor's own envelope (its `render_code`).
"""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass
from weakref import WeakKeyDictionary
from typing import TYPE_CHECKING, Annotated, Any, Iterable, Optional

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from emulator.core.ids import derived_unit
from emulator.core.journal import squash
from emulator.core.jsonio import dumps
from emulator.core.namespace import Namespace
from emulator.core.durations import Duration, seconds

MAX_LATENCY = 600.0  # seconds a scripted delay may last

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.operations import Call
    from emulator.core.vendor import Vendor


# `nth: 2` or `nth: [1, 3]` (a single call is made a list by a before-validator; the schema allows both).
Calls = Annotated[list[int], WithJsonSchema({"anyOf": [
    {"type": "integer", "minimum": 1},
    {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
]})]


class FaultSpec(BaseModel):
    """A fault rule as written in a scenario's `faults:` or posted to /_emulator/faults."""

    model_config = ConfigDict(extra="forbid")
    id: Optional[str] = Field(None, description="a name to delete the rule by (one is made up if absent)")
    vendor: Optional[str] = Field(None, description="the vendor's name (GET /_emulator/health lists them)")
    operation: Optional[str] = Field(None, description="the SDK's operation name or Qianfan's Action; "
                                                       "case, `_` and `-` are ignored (getEvalRun = get_eval_run)")
    method: Optional[str] = Field(None, description="HTTP method")
    path: Optional[str] = Field(None, description="path pattern, e.g. /api/v1/llm/evals/runs/*")
    nth: Optional[Calls] = Field(None, description="fire on these matching calls (1 = the first)")
    probability: Optional[float] = Field(None, ge=0, le=1, description="fire on each matching call with this "
                                                                       "probability (seeded)")
    times: Optional[int] = Field(None, ge=1, description="fire at most this many times")
    error: Optional[str] = Field(None, description="a vendor error code (InternalError, not_found...) or a "
                                                   "neutral kind (internal, unavailable, rate_limited...)")
    message: Optional[str] = Field(None, description="the error message (default: the vendor's own text for the "
                                                     "code)")
    status: Optional[int] = Field(None, ge=100, le=599, description="raw response status")
    body: Any = Field(None, description="raw response body (JSON unless a string)")
    headers: dict[str, str] = Field(default_factory=dict, description="extra response headers (Retry-After...)")
    latency: Optional[Duration] = Field(None, description="delay before answering (seconds, or 250ms, 2s; at "
                                                          "most 600 s)")
    drop: bool = Field(False, description="drop the connection instead of answering")

    @field_validator("nth", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("nth")
    @classmethod
    def _positive(cls, value: Optional[list[int]]) -> Optional[list[int]]:
        if value is not None and (not value or min(value) < 1):
            raise ValueError("nth counts matching calls from 1")
        return value

    @field_validator("latency", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None:
            return None
        found = seconds(value)
        if found > MAX_LATENCY:
            raise ValueError(f"latency is at most {MAX_LATENCY:.0f} seconds (longer than any client waits)")
        return found

    @field_validator("method")
    @classmethod
    def _upper(cls, value: Optional[str]) -> Optional[str]:
        return value.upper() if value else value

    @model_validator(mode="after")
    def _one_outcome(self) -> "FaultSpec":
        outcomes = [name for name in ("error", "status", "drop") if getattr(self, name)]
        if len(outcomes) > 1:
            raise ValueError(f"a fault has one outcome, not {' and '.join(outcomes)}")
        if not outcomes and self.latency is None:
            raise ValueError("a fault needs an outcome: error, status, drop or latency")
        if self.nth is not None and self.probability is not None:
            raise ValueError("use nth or probability, not both")
        if self.body is not None and self.status is None:
            raise ValueError("body goes with status")
        return self


_PARSED: "WeakKeyDictionary[Fault, FaultSpec]" = WeakKeyDictionary()


@dataclass(eq=False)
class Fault:
    """A rule in force, with its counters (plain data, so snapshots keep it)."""

    id: str
    spec: dict[str, Any]
    matched: int = 0  # matching calls seen
    fired: int = 0

    @property
    def rule(self) -> FaultSpec:
        parsed = _PARSED.get(self)
        if parsed is None:
            parsed = _PARSED[self] = FaultSpec.model_validate(self.spec)
        return parsed

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, **{k: v for k, v in self.spec.items() if k != "id"},
                "matched": self.matched, "fired": self.fired}


class FaultError(ValueError):
    """A rule that cannot be added; `field` names the rule's field at fault (for a scenario's line number)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def check(spec: FaultSpec, vendors: Iterable["Vendor"]) -> None:
    """Refuse a rule that could never fire (FaultError, a ValueError, naming the field and the closest names): a
    vendor not served, an operation none of its vendors has, an error code one of them lacks."""
    from emulator.core.vendor import suggest

    served = {v.name: v for v in vendors}
    if spec.vendor is not None and spec.vendor not in served:
        raise FaultError(f"vendor {spec.vendor!r} is not served{suggest(spec.vendor, served)}; the vendors are "
                         f"{', '.join(served)}", "vendor")
    candidates = [served[spec.vendor]] if spec.vendor else list(served.values())
    if spec.operation is not None:
        having = [v for v in candidates if v.operation(spec.operation) is not None]
        if not having:
            where = f"of {spec.vendor}" if spec.vendor else "of any vendor"
            names = [n for v in candidates for op in v.operations if op.documented for n in op.names]
            raise FaultError(f"operation {spec.operation!r} is not an operation {where}"
                             f"{suggest(spec.operation, names)}; GET /_emulator/operations lists them", "operation")
        candidates = having
    if spec.error is None:
        return
    lacking = [v for v in candidates if v.render_code(spec.error, "", None) is None]
    if lacking:
        codes = [c for v in lacking for c in v.error_codes]
        hint = "" if spec.vendor or spec.operation else "; name the vendor, or use a neutral kind such as internal"
        raise FaultError(f"error {spec.error!r} is not an error code of {', '.join(v.name for v in lacking)}"
                         f"{suggest(spec.error, codes)}{hint}", "error")


def add(ns: Namespace, spec: FaultSpec, vendors: Iterable["Vendor"]) -> Fault:
    check(spec, vendors)
    data = spec.model_dump(exclude_none=True, exclude_defaults=True)
    added = ns.extras["faults.added"] = ns.extras.get("faults.added", 0) + 1  # not the RNG: ids stay put
    ident = spec.id or f"fault_{added}"
    if any(f.id == ident for f in ns.faults):
        raise FaultError(f"a fault with id {ident!r} already exists", "id")
    fault = Fault(id=ident, spec={**data, "id": ident})
    ns.faults.append(fault)
    return fault


def remove(ns: Namespace, ident: str) -> bool:
    before = len(ns.faults)
    ns.faults[:] = [f for f in ns.faults if f.id != ident]
    return len(ns.faults) < before


def _matches(rule: FaultSpec, call: "Call") -> bool:
    return ((rule.vendor is None or rule.vendor == call.vendor.name)
            and (rule.operation is None or call.vendor.operation(rule.operation) is call.operation)
            and (rule.method is None or rule.method == call.method)
            and (rule.path is None or fnmatch.fnmatchcase(call.path, rule.path)))


def _fires(ns: Namespace, fault: Fault) -> bool:
    rule = fault.rule
    if rule.times is not None and fault.fired >= rule.times:
        return False
    if rule.nth is not None:
        return fault.matched in rule.nth
    if rule.probability is not None:
        return derived_unit(ns.seed, "fault", fault.id, fault.matched) < rule.probability
    return True


class DroppedConnection(Response):
    """Starts the response, then fails, so the server closes the connection mid-answer (the client sees a
    transport error, as when a vendor's load balancer drops it)."""

    dropped = True  # the journal records status 0

    def __init__(self) -> None:
        super().__init__(status_code=200, headers={"content-length": "64"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        raise ConnectionDropped("connection dropped by a scripted fault")


class ConnectionDropped(ConnectionError):
    """Raised inside the app to drop a connection; in process (TestClient) the caller sees it directly."""


def _response(rule: FaultSpec, call: "Call") -> Response | None:
    if rule.drop:
        return DroppedConnection()
    if rule.error is not None:
        # No message: "" asks the vendor for its own text for the code (Baidu's "We encountered an internal error...").
        response = call.vendor.render_code(rule.error, rule.message or "", call)
        if response is None:  # checked when the rule was added; a vendor-less rule may still miss one vendor
            return None
    elif rule.status is not None:
        body = rule.body
        content = body.encode() if isinstance(body, str) else dumps(body if body is not None else {})
        response = Response(content, status_code=rule.status,
                            media_type="text/plain" if isinstance(body, str) else "application/json")
    else:
        return None
    for name, value in rule.headers.items():
        response.headers[name] = value
    return response


async def answer(call: "Call") -> Response | None:
    """The response of the first rule that fires on this call, if any; every matching rule counts the call, and
    every firing rule's latency is waited for."""
    ns = call.ns
    response: Response | None = None
    for fault in ns.faults:
        rule = fault.rule
        if not _matches(rule, call):
            continue
        fault.matched += 1  # every matching call counts, even one an earlier rule answers (nth stays true)
        if response is not None or not _fires(ns, fault):
            continue
        fault.fired += 1
        if call.faults is None:
            call.faults = []
        call.faults.append(fault.id)
        if rule.latency:
            await asyncio.sleep(rule.latency)
        response = _response(rule, call)
    return response  # None when no rule fired, or only delays
