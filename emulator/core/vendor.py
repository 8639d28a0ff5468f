"""What a vendor package declares about itself, so the app, faults, scenarios and docs need no list of vendors.

Each package under emulator/vendors exports one `VENDOR`: its name and path prefix, its operation table, how a
request's caller is found, how results and errors are rendered, the error codes a fault may name, its section
of a scenario file, and its kinds of stateful resource (for the inspector). Adding a vendor is adding a package (see the registry); nothing in emulator/core or
emulator/app.py names one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from pydantic import BaseModel
from starlette.responses import Response

from emulator.core.errors import ApiError
from emulator.core.journal import squash
from emulator.core.namespace import resolve_name
from emulator.core.operations import Call, Operation, json_answer
from emulator.core.resources import ResourceKind

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.namespace import Namespace


@dataclass(frozen=True)
class CoreCodes:
    """The vendor's own codes for mistakes the shared adapter finds before any handler runs (None: the kind's
    default code)."""

    malformed_json: str | None = None  # a body that is not JSON
    not_an_object: str | None = None  # JSON that is not an object
    unknown_action: str | None = None  # a missing or unknown action query value


@dataclass(frozen=True, eq=False)
class Vendor:
    name: str
    prefix: str  # every operation's path is under it ("" when they span several roots, as Qianfan's do)
    operations: tuple[Operation, ...]
    # The caller of a request (the vendor's identity object, carrying `.ns`), or an ApiError refusing it.
    authenticate: Callable[[Call], Any]
    # The credential a request carries, which names its namespace when no X-Emulator-Namespace header does.
    credential: Callable[[Mapping[str, str]], str | None]
    # The neutral error in the vendor's envelope; `call` is None outside a request.
    render_error: Callable[[ApiError, Call | None], Response]
    # A scripted fault's error by one of the vendor's codes (or a neutral kind); None for a code it lacks.
    render_code: Callable[[str, str, Call | None], Response | None]
    # A handler's result as the answer (the vendor's success envelope and headers).
    render_result: Callable[[Any, Call], Response] = json_answer
    error_codes: tuple[str, ...] = ()  # the codes a fault may name, for the schema and for suggestions
    owns: tuple[str, ...] = ()  # path prefixes whose unknown paths answer in this envelope (default: prefix)
    action_query: str | None = None  # the query parameter that selects an operation on one path (Qianfan)
    codes: CoreCodes = CoreCodes()
    empty_body: Any = field(default_factory=dict)  # what an empty request body is parsed as
    max_body: int | None = None  # the vendor's own limit on a request body (bytes), if it documents one
    scenario_section: type[BaseModel] | None = None  # the model of the vendor's section of a scenario file
    load_scenario: Callable[["Namespace", Any], None] | None = None  # loads that section into a namespace
    # The kinds of stateful resource it stores, each caught up by the vendor's own code (the inspector lists them).
    resources: tuple[ResourceKind, ...] = ()
    # Called with each namespace the server restores from its saved state at start (serve --state-dir/--import),
    # to rebuild what the vendor keeps per process rather than per namespace (DigitalOcean's presigned URL table).
    restored: Callable[["Namespace"], None] | None = None
    # For the OpenAPI document (core.openapi): the credential's security schemes by name, and the error answers
    # an operation may give, {status: envelope model} (every status its errors.py can render).
    security: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    error_responses: Callable[[Operation], Mapping[int, type[BaseModel]]] | None = None

    def __post_init__(self) -> None:
        if not self.owns:
            object.__setattr__(self, "owns", (self.prefix,))

    def namespace_of(self, headers: Mapping[str, str]) -> str:
        """The namespace a request names: its header, else its credential, else the default."""
        return resolve_name(headers, self.credential(headers))

    def operation(self, name: str) -> Operation | None:
        """The operation called `name` or one of its aliases (case, `_` and `-` are ignored)."""
        return self.operations_by_name.get(squash(name))

    @property
    def operations_by_name(self) -> dict[str, Operation]:
        found = _BY_NAME.get(self)
        if found is None:
            found = _BY_NAME[self] = {squash(n): op for op in self.operations for n in op.names}
        return found


_BY_NAME: dict[Vendor, dict[str, Operation]] = {}


class Vendors:
    """The vendors one app serves, in order, by name."""

    def __init__(self, vendors: Iterable[Vendor]):
        self._all = list(vendors)
        self._by_name = {v.name: v for v in self._all}
        if len(self._by_name) != len(self._all):
            raise ValueError("two vendors share a name")

    def __iter__(self) -> Iterator[Vendor]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Vendor:
        return self._by_name[name]

    def get(self, name: str) -> Vendor | None:
        return self._by_name.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def credential(self, headers: Mapping[str, str]) -> str | None:
        """The first credential any vendor finds in these headers (a bearer token, an access key...)."""
        for vendor in self._all:
            found = vendor.credential(headers)
            if found:
                return found
        return None

    def namespace_of(self, headers: Mapping[str, str]) -> str:
        return resolve_name(headers, self.credential(headers))


def suggest(wrong: str, known: Iterable[str], limit: int = 3) -> str:
    """" (did you mean a, b?)" naming the closest known names, or "" when none is close."""
    known = list(dict.fromkeys(known))
    by_squashed: dict[str, str] = {}
    for name in known:
        by_squashed.setdefault(squash(name), name)
    close = difflib.get_close_matches(squash(wrong), list(by_squashed), n=limit, cutoff=0.6)
    names = [by_squashed[c] for c in close]
    return f" (did you mean {', '.join(names)}?)" if names else ""
