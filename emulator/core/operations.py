"""Operations: one row per vendor operation, the `Call` a handler receives, and the one adapter every vendor's
requests go through.

    HTTP request -> Router.match: method + path segments (+ the vendor's action query) -> Operation
                 -> serve(): caller (the vendor's authenticate hook) -> tag the journal -> apply faults
                    -> parse query and body with the row's models -> [await operation.prepare(call)]
                    -> operation.handler(call)
                 -> the vendor renders the result, or the error in its own envelope -> journal records the answer

A handler is `def get_run(call): ...`: it reads `call.caller` (the vendor's identity object, which carries the
namespace), `call.params`, `call.query` and `call.body`, and returns bytes, a JSON-able value, None (an empty
answer) or a Starlette Response. It never awaits, so each change of state is atomic on the event loop.

A row whose handler reads data that is slow to derive (indexes over 100,000 records) names an async `prepare`
too: the adapter awaits it just before the handler, so it can build that data off the event loop (with
`ns.read_off_loop`, which holds only its own namespace's requests) and the handler finds it ready. Rows without
one cost a None check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Union, get_args, get_origin
from urllib.parse import parse_qs, parse_qsl

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from emulator.core.errors import ApiError
from emulator.core.journal import current_call
from emulator.core.jsonio import dumps, loads
from emulator.core.namespace import NAMESPACE_HEADER
from emulator.core.validation import parse

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.namespace import Namespace, World
    from emulator.core.vendor import Vendor

log = logging.getLogger("emulator")
requests_log = logging.getLogger("emulator.requests")

Handler = Callable[["Call"], Any]
JSON = b"application/json"


@dataclass(frozen=True, eq=False)
class Operation:
    """One operation a vendor serves: where it answers, what it is called, and how its request is parsed."""

    method: str
    path: str  # under the vendor's prefix: "/runs/{run_id}"; "{key:path}" spans slashes; "{id}.jsonl" a suffix
    name: str  # the vendor's own name (journal, faults): the operationId, Qianfan's Action, the SDK method path
    handler: Handler
    query: type[BaseModel] | None = None
    body: type[BaseModel] | type[bytes] | None = None  # a JSON object's model, or bytes for the body as sent
    status: int = 200  # the success status the SDK expects
    aliases: tuple[str, ...] = ()  # other names users write for it: the SDK method name, the operationId
    action: str | None = None  # the value of the vendor's action query parameter that selects it (Qianfan)
    max_body: int | None = None  # bytes; None takes the vendor's limit, else the server's (serve --max-body)
    documented: bool = True  # False for the emulator's own helpers (a presigned-file endpoint)
    authenticate: Callable[["Call"], Any] | None = None  # instead of the vendor's (a presigned URL's grant)
    # The success body's model, for the OpenAPI document only (None: a JSON object, or nothing for a 204).
    response: type[BaseModel] | None = None
    # Awaited after parsing, before the handler: brings slow derived data up to date off the event loop.
    prepare: Callable[["Call"], Awaitable[None]] | None = None
    # True for a read whose answer depends only on the request (its body too) and the namespace at the virtual
    # time of the call, and that changes nothing a second time (catching records up to that time is fine; a read
    # that counts a poll toward a scripted timeline is never remembered): its answer is then reused while no other
    # request changes the namespace (see `remembered`). A test asks every such row to hold to it.
    repeatable: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a fault rule or a journal query may use for this operation."""
        return (self.name, *self.aliases)


class Call:
    """One request to one operation, as its handler sees it, and what the journal records of it."""

    __slots__ = ("vendor", "operation", "scope", "receive", "world", "params", "_headers", "caller", "ns",
                 "query", "body", "faults", "resource", "state", "terminal", "counted_poll")

    def __init__(self, vendor: "Vendor", operation: Operation | None, scope: Scope, receive: Receive,
                 world: "World", params: dict[str, str]):
        self.vendor = vendor
        self.operation = operation
        self.scope = scope
        self.receive = receive
        self.world = world
        self.params = params  # read-only: the router's cache shares them between calls to the same path
        self._headers: dict[str, str] | None = None
        self.caller: Any = None  # the vendor's identity object, once authenticate accepted the request
        self.ns: Namespace | None = None
        self.query: Any = None
        self.body: Any = None
        self.faults: list[str] | None = None  # ids of the fault rules that fired on this call
        self.resource: str | None = None  # a read by id: which resource it answered, and in what state
        self.state: str | None = None
        self.terminal: bool | None = None
        self.counted_poll = False  # the read counted toward a scripted timeline (journal.note_state)

    @property
    def headers(self) -> dict[str, str]:
        """The request's headers by lower-case name (a repeated header keeps its last value), decoded when first
        asked for: a request a vendor recognises by its raw headers (a signature seen before) never needs them."""
        if self._headers is None:
            self._headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in self.scope["headers"]}
        return self._headers

    @property
    def method(self) -> str:
        return self.scope["method"]

    @property
    def path(self) -> str:
        return self.scope["path"]

    @property
    def query_string(self) -> bytes:
        return self.scope["query_string"]

    @property
    def query_lists(self) -> dict[str, list[str]]:
        """Every query parameter with all its values (for links that carry the query on)."""
        return parse_qs(self.scope["query_string"].decode("latin-1"), keep_blank_values=True)

    @property
    def request(self) -> Request:
        """The Starlette request, for the rare handler that needs more than the call holds."""
        return Request(self.scope, self.receive)

    @property
    def base_url(self) -> str:
        """scheme://host[:port] the request arrived at (for links and presigned URLs), without a trailing slash:
        the Host header as the client sent it, as Starlette's `request.base_url` gives it, without building one."""
        scope = self.scope
        host = self.headers.get("host")
        if not host:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")

    @property
    def name(self) -> str | None:
        """The operation's name once the caller is accepted (the journal records none for a refused caller)."""
        return self.operation.name if self.operation is not None and self.ns is not None else None



# ---- parsing ----------------------------------------------------------------------------------------------------


def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields typed as lists (also Optional ones): a repeated query key (`a=x&a=y`) fills them."""
    names = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if get_origin(annotation) is Union:
            annotation = next((a for a in get_args(annotation) if a is not type(None)), annotation)
        if get_origin(annotation) is list:
            names.add(field.alias or name)
    return frozenset(names)


_LISTS: dict[type[BaseModel], frozenset[str]] = {}
QUERY_CACHE_MAX_LENGTH = 1024  # longer query strings are parsed every time rather than kept


@lru_cache(maxsize=4096)
def _cached_query(model: type[BaseModel], query_string: bytes) -> BaseModel:
    return _parse_query(model, query_string)


def _parse_query(model: type[BaseModel], query_string: bytes) -> BaseModel:
    lists = _LISTS.get(model)
    if lists is None:
        lists = _LISTS[model] = _list_fields(model)
    values: dict[str, Any] = {}
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key in lists:
            values.setdefault(key, []).append(value)
        else:
            values[key] = value
    return parse(model, values, "query")


def parse_query(model: type[BaseModel], query_string: bytes) -> BaseModel:
    """The query string as `model`: list fields take every value of a repeated key, others the last one.

    Parsed queries are cached (polling clients repeat them; handlers only read them); failures are not.
    """
    if len(query_string) <= QUERY_CACHE_MAX_LENGTH:
        return _cached_query(model, query_string)
    return _parse_query(model, query_string)


async def read_body(call: Call, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to pass `limit` (before the rest is read)."""
    for name, value in call.scope["headers"]:  # raw: a request that needs no other header decodes none
        if name == b"content-length":
            if value.isdigit() and int(value) > limit:
                raise ApiError("payload_too_large", f"the request body is {value.decode()} bytes; at most {limit} "
                                                    "are accepted")
            break
    message = await call.receive()
    if not message.get("more_body", False) and message["type"] == "http.request":  # all of it at once: usual
        body = message.get("body", b"")
        if len(body) > limit:
            raise ApiError("payload_too_large", f"the request body is over {limit} bytes; at most {limit} are "
                                                "accepted")
        return body
    chunks: list[bytes] = []
    size = 0
    while message["type"] != "http.disconnect":
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise ApiError("payload_too_large", f"the request body is over {limit} bytes; at most {limit}"
                                                    " are accepted")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
        message = await call.receive()
    return b"".join(chunks)


def decode_body(vendor: "Vendor", raw: bytes) -> Any:
    """A JSON object, the vendor's empty value for no body; anything else is the client's mistake (400)."""
    if not raw.strip():
        return vendor.empty_body
    try:
        data = loads(raw)
    except ApiError as exc:
        raise ApiError("invalid_request", exc.message, vendor_code=vendor.codes.malformed_json) from None
    if not isinstance(data, dict):
        raise ApiError("invalid_request", f"the request body must be a JSON object, not {type(data).__name__}",
                       vendor_code=vendor.codes.not_an_object)
    return data


# ---- answers ----------------------------------------------------------------------------------------------------


class Answer:
    """A JSON answer sent as two ASGI messages: what Starlette's Response does for bytes, without building its
    header list each time (a success is most of what the emulator sends)."""

    __slots__ = ("status_code", "body", "raw_headers")
    dropped = False

    def __init__(self, body: bytes, status_code: int = 200, headers: dict[str, str] | None = None):
        self.status_code, self.body = status_code, body
        self.raw_headers = [(b"content-length", str(len(body)).encode()), (b"content-type", JSON)]
        if headers:
            self.raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def json_answer(result: Any, call: Call, headers: dict[str, str] | None = None) -> Response | Answer:
    """The usual success: None is an empty answer (204 unless the row says otherwise), bytes are sent as they
    are, anything else as JSON, at the row's status."""
    if isinstance(result, Response):
        return result
    status = call.operation.status if call.operation is not None else 200
    if result is None:
        return Response(status_code=204 if status == 200 else status, headers=headers)
    return Answer(result if isinstance(result, bytes) else dumps(result), status, headers)


# ---- the one adapter ------------------------------------------------------------------------------------------


async def serve(call: Call, scope: Scope, receive: Receive, send: Send, miss: ApiError | None = None) -> None:
    """Answer one vendor request: every vendor's requests, known or not, pass here, are journaled and see faults.

    `miss` is the routing failure (unknown path, wrong method) to answer in the vendor's envelope instead.
    """
    vendor = call.vendor
    response: Response | None = None
    try:
        if miss is not None:
            raise miss
        if call.world.control_token is not None and NAMESPACE_HEADER in call.headers and \
                not call.world.controls(call.headers):
            raise ApiError("forbidden", "naming a namespace with X-Emulator-Namespace needs this server's control "
                                        "token in X-Emulator-Control-Token")
        operation = call.operation
        caller = call.caller = (operation.authenticate or vendor.authenticate)(call)
        ns = call.ns = caller.ns
        if ns.busy is not None:
            await ns.settled()
        response = await apply_faults(call)
        if response is None:
            if operation.query is not None:
                call.query = parse_query(operation.query, scope["query_string"])
            raw = None
            if operation.body is not None:
                raw = await read_body(call, operation.max_body or vendor.max_body or call.world.max_body)
                if ns.busy is not None:  # the body took a while: nothing may change under a reader
                    await ns.settled()
            result = remembered(call, ns, raw) if operation.repeatable else None
            if result is None:
                if raw is not None:
                    body = operation.body
                    call.body = raw if body is bytes else parse(body, decode_body(vendor, raw), "body")
                if operation.prepare is not None:  # nothing awaits between its end and the handler
                    await operation.prepare(call)
                if not operation.repeatable:
                    ns.changes += 1  # whatever it does, answers remembered before it may be stale
                token = current_call.set(call)
                try:
                    result = operation.handler(call)
                finally:
                    current_call.reset(token)
                if operation.repeatable:
                    result = remember(call, ns, raw, result)
            response = vendor.render_result(result, call)
    except ApiError as error:
        response = vendor.render_error(error, call)
        if "allow" in error.details:  # a 405 names the methods the path takes
            response.headers["allow"] = error.details["allow"]
    except Exception:  # a bug: the vendor's internal error, never a stack trace
        log.exception("unhandled error on %s %s", scope["method"], scope["path"])
        response = vendor.render_error(ApiError("internal", "the emulator hit an internal error; see its log"), call)
    record(call, response)
    await response(scope, receive, send)


ANSWERS_BYTES = 512 * 1024  # requests and answers a namespace remembers at most; it starts over past that


class Answers:
    """A namespace's remembered answers: valid for one (changes, virtual time) tag, and bounded in bytes (a
    client asking for many different pages in a namespace whose clock stands still cannot grow it)."""

    __slots__ = ("tag", "size", "entries")

    def __init__(self, tag: tuple[int, float]):
        self.tag, self.size, self.entries = tag, 0, {}


def _answer_key(call: Call, raw: bytes | None) -> tuple:
    """The request as sent: path, query, every header (credential, host, ...) and the body."""
    scope = call.scope
    return call.operation, scope["path"], scope["query_string"], tuple(scope["headers"]), raw


def remembered(call: Call, ns: "Namespace", raw: bytes | None) -> bytes | None:
    """The answer a repeatable operation gave to this very request, if the namespace has not changed since:
    no request of a row that is not repeatable, no control call, and the same virtual time. The journal's view
    of the call (which resource, in what state) comes back with it."""
    answers = ns.answers
    if answers is None or answers.tag != (ns.changes, ns.clock.now()):
        return None
    try:
        found = answers.entries.get(_answer_key(call, raw))
    except TypeError:  # headers given as lists (an ASGI server other than uvicorn's): answered every time
        return None
    if found is None:
        return None
    body, call.resource, call.state, call.terminal = found
    return body


def remember(call: Call, ns: "Namespace", raw: bytes | None, result: Any) -> Any:
    """Keep a repeatable operation's answer as bytes (a Response, an empty answer, a huge one, or one that
    counted a poll toward a scripted timeline is not kept)."""
    if result is None or isinstance(result, Response):
        return result
    body = result if isinstance(result, bytes) else dumps(result)
    if call.counted_poll:
        return body
    key = _answer_key(call, raw)
    try:
        hash(key)
    except TypeError:  # headers given as lists: not kept (see remembered)
        return body
    size = len(body) + len(key[1]) + len(key[2]) + sum(len(name) + len(value) for name, value in key[3]) + \
        len(raw or b"")
    if size > ANSWERS_BYTES:
        return body
    tag = (ns.changes, ns.clock.now())
    answers = ns.answers
    if answers is None or answers.tag != tag or answers.size + size > ANSWERS_BYTES:
        answers = ns.answers = Answers(tag)
    answers.entries[key] = (body, call.resource, call.state, call.terminal)
    answers.size += size
    return body


async def apply_faults(call: Call) -> Response | None:
    """A scripted fault's answer if a rule fires on this call (rules that only delay return None)."""
    if not call.ns.faults:
        return None
    from emulator.core import faults  # faults imports this module's Call

    return await faults.answer(call)


def record(call: Call, response: Response) -> None:
    """Journal the answer in the caller's namespace; a request no namespace accepted is recorded only where its
    namespace already exists (a refused credential never creates one)."""
    ns = call.ns
    name = ns.name if ns is not None else call.vendor.namespace_of(call.headers)
    if ns is None:
        ns = call.world.namespaces.get(name)
    status = 0 if getattr(response, "dropped", False) else response.status_code
    now = ns.clock.now() if ns is not None else None
    if ns is not None:
        ns.journal.answered(now, call, status, name)
        changed = call.world.changed
        if changed is not None:  # the state persists (core.persistence): this namespace has news
            changed.add(ns)
    if call.world.log_requests:
        log_request(call, name, status, now)


def log_request(call: Call, namespace: str, status: int, now: float | None) -> None:
    """One line per vendor request (serve --log-requests): who, what, how it was answered, and when (virtual)."""
    from datetime import datetime, timezone

    when = "-" if now is None else datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fired = f" faults={','.join(call.faults)}" if call.faults else ""
    requests_log.info("%s %s %s %s %s %s -> %s at %s%s", namespace, call.vendor.name, call.name or "-",
                      call.method, call.path, call.query_string.decode("latin-1") or "", status or "dropped",
                      when, fired)


# ---- dispatch ---------------------------------------------------------------------------------------------------


class _Node:
    """One path segment of the routing tree."""

    __slots__ = ("static", "params", "rest", "methods", "vendor")

    def __init__(self) -> None:
        self.vendor: "Vendor | None" = None  # the vendor whose operations end here
        self.static: dict[str, _Node] = {}
        self.params: list[tuple[str, str, _Node]] = []  # (name, suffix, child): "{id}" or "{id}.jsonl"
        self.rest: tuple[str, _Node] | None = None  # "{key:path}": the remaining segments, joined
        # method -> the operation, or {action: operation} for a vendor that selects operations by a query value
        self.methods: dict[str, Operation | dict[str, Operation]] = {}


@dataclass(frozen=True)
class Match:
    vendor: "Vendor"
    operation: Operation | None
    params: dict[str, str]
    miss: ApiError | None = None


class Router:
    """Every vendor operation compiled once into a tree keyed by path segments: a lookup costs a few dict
    probes per segment, never a scan of every route."""

    def __init__(self, vendors: Iterable["Vendor"]):
        self.root = _Node()
        self.vendors = list(vendors)
        for vendor in self.vendors:
            for operation in vendor.operations:
                self._add(vendor, operation)
        self._cache: dict[tuple[str, str], Match] = {}
        # Longest prefix first, so a vendor owning a deeper path wins over one owning a shorter one.
        self.owners = sorted(((prefix, v) for v in self.vendors for prefix in v.owns),
                             key=lambda pair: -len(pair[0]))

    def _add(self, vendor: "Vendor", operation: Operation) -> None:
        node = self.root
        for segment in _segments(vendor.prefix + operation.path):
            if segment.startswith("{") and segment.endswith(":path}"):
                if node.rest is None:
                    node.rest = (segment[1:-len(":path}")], _Node())
                node = node.rest[1]
                break
            if segment.startswith("{"):
                name, _, suffix = segment[1:].partition("}")
                child = next((c for n, s, c in node.params if (n, s) == (name, suffix)), None)
                if child is None:
                    child = _Node()
                    node.params.append((name, suffix, child))
                    node.params.sort(key=lambda p: -len(p[1]))  # a suffix is more specific than a bare name
                node = child
            else:
                node = node.static.setdefault(segment, _Node())
        key = operation.method
        if operation.action is not None:
            table = node.methods.setdefault(key, {})
            if not isinstance(table, dict) or operation.action in table:
                raise ValueError(f"{vendor.name}: {operation.method} {operation.path} is served twice")
            table[operation.action] = operation
        else:
            if key in node.methods:
                raise ValueError(f"{vendor.name}: {operation.method} {operation.path} is served twice")
            node.methods[key] = operation
        if node.vendor not in (None, vendor):
            raise ValueError(f"{vendor.name} and {node.vendor.name} both serve {operation.path}")
        node.vendor = vendor

    def owner(self, path: str) -> "Vendor | None":
        for prefix, vendor in self.owners:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return vendor
        return None

    CACHE_SIZE = 8192  # paths remembered (polling clients ask for the same ones again and again)
    CACHED_KEY = 1024  # characters of method, path and query at most in a remembered match

    def match(self, method: str, path: str, query_string: bytes) -> Match | None:
        """The operation answering this request; a routing failure in the envelope of the vendor owning the
        path; or None for a path no vendor owns (the control API's). Matches are remembered, by path or, for an
        operation a query value selects, by path and query: a repeated request costs a dict probe or two (their
        params are only read)."""
        cache = self._cache
        found = cache.get((method, path)) or cache.get((method, path, query_string))
        if found is not None:
            return found
        found = self._match(method, path, query_string)
        if found is not None and found.miss is None:
            key = (method, path) if found.operation.action is None else (method, path, query_string)
            if sum(map(len, key)) <= self.CACHED_KEY:  # a client sending huge ids cannot fill memory with them
                if len(cache) >= self.CACHE_SIZE:
                    cache.clear()
                cache[key] = found
        return found

    def _match(self, method: str, path: str, query_string: bytes) -> Match | None:
        params: dict[str, str] = {}
        node = _find(self.root, _segments(path), 0, params)
        if node is None:
            vendor = self.owner(path)
            if vendor is None:
                return None
            return Match(vendor, None, {}, ApiError("not_found", f"no route for {method} {path}"))
        vendor = node.vendor
        found = node.methods.get(method)
        if found is None and method == "HEAD":
            found = node.methods.get("GET")
        if found is None:
            allowed = sorted(node.methods)
            return Match(vendor, None, params, ApiError(
                "method_not_allowed", f"{method} is not allowed on {path}; use {', '.join(allowed)}",
                details={"allow": ", ".join(allowed)}))
        if isinstance(found, dict):
            return self._by_action(vendor, found, params, query_string)
        return Match(vendor, found, params)

    @staticmethod
    def _by_action(vendor: "Vendor", table: dict[str, Operation], params: dict[str, str],
                   query_string: bytes) -> Match:
        action = None
        for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if key == vendor.action_query:
                action = value
        operation = table.get(action or "")
        if operation is None:
            what = "is missing" if not action else f"names no operation: {action!r}"
            return Match(vendor, None, params, ApiError(
                "invalid_request", f"the {vendor.action_query} query parameter {what}; this path serves"
                                   f" {', '.join(table)}", vendor_code=vendor.codes.unknown_action))
        return Match(vendor, operation, params)


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def _find(node: _Node, segments: list[str], at: int, params: dict[str, str]) -> _Node | None:
    """Depth-first: a static segment before a parameter, so /traces/fields wins over /traces/{trace_id}."""
    if at == len(segments):
        return node if node.methods else None
    segment = segments[at]
    child = node.static.get(segment)
    if child is not None:
        found = _find(child, segments, at + 1, params)
        if found is not None:
            return found
    for name, suffix, child in node.params:
        if suffix:
            if len(segment) <= len(suffix) or not segment.endswith(suffix):
                continue
            value = segment[:-len(suffix)]
        elif not segment:
            continue
        else:
            value = segment
        found = _find(child, segments, at + 1, params)
        if found is not None:
            params[name] = value
            return found
    if node.rest is not None and node.rest[1].methods:
        params[node.rest[0]] = "/".join(segments[at:])
        return node.rest[1]
    return None
