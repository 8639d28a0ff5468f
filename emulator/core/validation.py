"""Request parsing with pydantic, failures turned into the neutral invalid_request error."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError

from emulator.core.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def describe(exc: ValidationError, where: str) -> str:
    """'body.models: List should have at least 1 item' style, one clause per problem."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        parts.append(f"{where}.{loc}: {err['msg']}" if loc else f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse(model: type[M], data: Any, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError("invalid_request", describe(exc, where)) from None


@lru_cache(maxsize=4096)
def parse_query(model: type[M], query_string: bytes) -> M:
    """Parse a query string into `model`; cached, since polling clients repeat the same query.

    The parsed models are only read, never changed, so sharing them is safe. Failures are not cached.
    """
    return parse(model, dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)), "query")


def parse_query_lists(model: type[M], query_string: bytes) -> M:
    """Parse a query string into `model`, keeping repeated keys as lists for the model's list fields.

    List fields take both the repeated form (`a=x&a=y`, as azure-core sends) and the comma form (`a=x,y`, as
    Stainless clients send); any other field takes the last value given.
    """
    values: dict[str, Any] = {}
    lists = {name for name, f in model.model_fields.items() if getattr(f.annotation, "__origin__", None) is list}
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key in lists:
            values.setdefault(key, []).extend(v for v in value.split(",") if v)
        else:
            values[key] = value
    return parse(model, values, "query")
