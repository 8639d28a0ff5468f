"""OpenAPI 3.1 documents of the emulated surface, generated from the operation tables, never written by hand.

One generator serves every vendor and the control API (`Surface` is what a document describes). The rules:

- paths and methods are the rows' (documented rows only); `{key:path}` becomes `{key}` (its value may hold
  slashes) and a suffixed segment such as `{export_id}.jsonl` stays as it is, which OpenAPI's templating allows;
- the operationId is the row's name with anything but letters, digits and `_` turned into `_`; its other names
  are the `x-aliases` extension (fault rules and journal filters take any of them);
- query parameters and request bodies come from the rows' pydantic models (`mode="validation"`); success bodies
  from `Operation.response` (`mode="serialization"`); every model's `$defs` land in components/schemas;
- each operation lists its success status and every error status its vendor renders, with the vendor's envelope
  (any operation may answer any of them: a scripted fault can). Where a row has no response model the document
  says only what is true of every answer: a JSON object, or no content for a 204. A status answering both a
  success and an error (Qianfan's legacy family errs at HTTP 200) takes `anyOf` both.

Operations chosen by a query value (Qianfan's `POST /v2/eval?Action=...`). OpenAPI identifies an operation by
path and method alone, and a path key may not carry a query (`/v2/eval?Action=X`) or a fragment, so the rows
sharing a path and method become ONE operation whose required `Action` query parameter enumerates every Action
(a client picks one; Schemathesis's coverage phase tries each enum value); its body is `anyOf` the Actions'
bodies and each answer `anyOf` theirs, which is exactly what the endpoint accepts and gives as a whole, so the
document validates and any tool can send every Action. The pairing OpenAPI cannot state (this Action takes that
body) is kept in an `x-actions` extension: Action -> its own operationId, aliases, body and success answer; a
tool that narrows the operation by it draws each Action with its own body (tests/openapi/test_fuzz.py does).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from emulator import __version__
from emulator.core.operations import Operation

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.vendor import Vendor

BEARER = {"type": "http", "scheme": "bearer"}
JSON = "application/json"
OBJECT = {"type": "object"}  # what every JSON answer is, when a row has no model to say more
REF = "#/components/schemas/{model}"
NAMESPACE_NOTE = ("State lives in a namespace: the one the X-Emulator-Namespace header names, else the request's "
                  "credential's. Generated from the emulator's operation table.")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omitted(description: str) -> Any:
    """An answer model's field that is left out, never null, when it has no value: not required, and typed as
    what it is when present (pydantic would otherwise document its None default)."""
    return Field(None, description=description, json_schema_extra=_no_default)


@dataclass(frozen=True)
class Surface:
    """What one document describes: a vendor's operations, or the control API's."""

    title: str
    description: str
    prefix: str
    rows: Sequence[Operation]
    errors: Callable[[Operation], Mapping[int, type[BaseModel]]] | None = None  # {status: envelope model}
    security: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    action_query: str | None = None


def vendor_surface(vendor: "Vendor") -> Surface:
    return Surface(title=f"{vendor.name} (LLM-eval emulator)", description=NAMESPACE_NOTE, prefix=vendor.prefix,
                   rows=vendor.operations, errors=vendor.error_responses, security=vendor.security,
                   action_query=vendor.action_query)


def vendor_document(vendor: "Vendor") -> dict[str, Any]:
    return document(vendor_surface(vendor))


def operation_id(name: str) -> str:
    """A name OpenAPI tools take as an identifier: `judges.create` -> `judges_create`."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")


def path_template(path: str) -> str:
    return re.sub(r"\{(\w+):path\}", r"{\1}", path)


def path_parameters(path: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for name in re.findall(r"\{(\w+)(?::path)?\}", path)]


def _any_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema, or anyOf the distinct ones."""
    distinct = list({json.dumps(s, sort_keys=True): s for s in schemas}.values())
    return distinct[0] if len(distinct) == 1 else {"anyOf": distinct}


class _Schemas:
    """Every model the rows name, as one set of components (pydantic names models uniquely across them)."""

    def __init__(self, rows: Sequence[Operation], errors: Callable[[Operation], Mapping[int, Any]] | None):
        wanted: dict[tuple[type[BaseModel], str], None] = {}
        for row in rows:
            for model, mode in ((row.query, "validation"), (row.body, "validation"),
                                (row.response, "serialization")):
                if isinstance(model, type) and issubclass(model, BaseModel):
                    wanted[(model, mode)] = None
            for model in (errors(row) if errors else {}).values():
                wanted[(model, "serialization")] = None
        self.refs: dict[tuple[type[BaseModel], str], dict[str, Any]] = {}
        self.components: dict[str, Any] = {}
        self.responses: dict[str, Any] = {}  # shared error answers, by envelope and status
        if wanted:
            refs, top = models_json_schema(list(wanted), ref_template=REF)
            self.refs, self.components = dict(refs), top.get("$defs", {})

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        return self.refs[(model, mode)]

    def query_parameters(self, model: type[BaseModel] | None) -> list[dict[str, Any]]:
        """One `in: query` parameter per field of the query model (its alias when it has one)."""
        if model is None:
            return []
        schema = self.components[self.ref(model, "validation")["$ref"].rsplit("/", 1)[-1]]
        required = set(schema.get("required", ()))
        params = []
        for name, prop in schema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
        return params

    def body(self, row: Operation) -> list[dict[str, Any]]:
        """The body's media types and schemas: a model's JSON, or the raw bytes a `bytes` row takes."""
        if row.body is None:
            return []
        if row.body is bytes:
            return [{"application/octet-stream": {}}]
        return [{JSON: {"schema": self.ref(row.body, "validation")}}]

    def success(self, row: Operation) -> dict[str, Any]:
        """The row's success answer: its model's, a JSON object, or no content for a 204."""
        if row.status == 204:
            return {"description": HTTPStatus(204).phrase}
        schema = self.ref(row.response, "serialization") if row.response else OBJECT
        return {"description": HTTPStatus(row.status).phrase, "content": {JSON: {"schema": schema}}}

    def error(self, status: int, model: type[BaseModel]) -> dict[str, Any]:
        """An error answer, kept once in components/responses (every operation of a vendor shares them)."""
        name = self.ref(model, "serialization")["$ref"].rsplit("/", 1)[-1] + str(status)
        self.responses[name] = {"description": HTTPStatus(status).phrase,
                                "content": {JSON: {"schema": self.ref(model, "serialization")}}}
        return {"$ref": f"#/components/responses/{name}"}


def _merge(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """Answers of one status (several actions' successes; a success and an error): anyOf their bodies."""
    if len(answers) == 1 or all(a == answers[0] for a in answers):
        return answers[0]
    schemas = [a["content"][JSON]["schema"] for a in answers if "content" in a]
    return {"description": answers[0]["description"], "content": {JSON: {"schema": _any_of(schemas)}}}


def _request_body(bodies: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The request body of one or more rows: per media type, anyOf their schemas."""
    if not bodies:
        return None
    merged: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        for media, content in body.items():
            merged.setdefault(media, []).extend([content["schema"]] if "schema" in content else [])
    return {"required": True,
            "content": {media: ({"schema": _any_of(schemas)} if schemas else {}) for media, schemas in merged.items()}}


def _operation(schemas: _Schemas, surface: Surface, path: str, rows: list[Operation]) -> dict[str, Any]:
    """One OpenAPI operation: a row, or the rows one path and method share, told apart by the action query."""
    first = rows[0]
    params = path_parameters(path)
    if first.action is None:
        op: dict[str, Any] = {"operationId": operation_id(first.name)}
        if first.aliases:
            op["x-aliases"] = list(first.aliases)
        params += schemas.query_parameters(first.query)
    else:
        op = {"operationId": operation_id(first.method.lower() + path),
              "description": f"Several operations on one path and method, chosen by the {surface.action_query} "
                             f"query parameter; x-actions pairs each with its body and success answer."}
        params.append({"name": surface.action_query, "in": "query", "required": True,
                       "schema": {"type": "string", "enum": [row.action for row in rows]}})
        seen = {p["name"] for p in params}
        for row in rows:  # what any action's query model names, optional since the others lack it
            params += [p | {"required": False} for p in schemas.query_parameters(row.query) if p["name"] not in seen]
            seen |= {p["name"] for p in params}
        op["x-actions"] = {row.action: {
            "operationId": operation_id(row.name), "x-aliases": list(row.aliases),
            **({"requestBody": body} if (body := _request_body(schemas.body(row))) else {}),
            "responses": {str(row.status): schemas.success(row)},
        } for row in rows}
    if params:
        op["parameters"] = params
    body = _request_body([b for row in rows for b in schemas.body(row)])
    if body is not None:
        op["requestBody"] = body
    answers: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        answers.setdefault(row.status, []).append(schemas.success(row))
    for status, model in (surface.errors(first) if surface.errors else {}).items():
        if status in answers:  # an error at a success status (Qianfan's legacy family): the body is either
            model_answer = {"content": {JSON: {"schema": schemas.ref(model, "serialization")}}}
            answers[status].append({"description": answers[status][0]["description"], **model_answer})
        else:
            answers[status] = [schemas.error(status, model)]
    op["responses"] = {str(status): _merge(answers[status]) for status in sorted(answers)}
    return op


def document(surface: Surface) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a surface's documented rows."""
    rows = [row for row in surface.rows if row.documented]
    schemas = _Schemas(rows, surface.errors)
    grouped: dict[tuple[str, str], list[Operation]] = {}
    for row in rows:
        grouped.setdefault((surface.prefix + row.path, row.method), []).append(row)
    paths: dict[str, dict[str, Any]] = {}
    ids: set[str] = set()
    for (path, method), group in grouped.items():
        op = _operation(schemas, surface, path, group)
        if op["operationId"] in ids:
            raise ValueError(f"{surface.title}: two operations are called {op['operationId']!r}")
        ids.add(op["operationId"])
        paths.setdefault(path_template(path), {})[method.lower()] = op
    doc: dict[str, Any] = {"openapi": "3.1.0",
                           "info": {"title": surface.title, "version": __version__,
                                    "description": surface.description},
                           "paths": paths, "components": {"schemas": schemas.components}}
    if schemas.responses:
        doc["components"]["responses"] = schemas.responses
    if surface.security:
        doc["components"]["securitySchemes"] = {name: dict(s) for name, s in surface.security.items()}
        doc["security"] = [{name: []} for name in surface.security]
    return doc
