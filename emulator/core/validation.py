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
