"""Strict checks of Mistral observability responses against mistralai 2.9.4's own models.

The SDK parses leniently: unknown enum strings become `UnrecognizedStr`, unknown keys are dropped, "2" passes for
an int. Here every success body is validated again in strict JSON mode (open enums then reject unknown values),
no key may be one the SDK's model does not declare, the status must be the one the SDK method expects, and every
error body must be exactly Mistral's envelope {"detail": {"message", "error_code"}}.
"""

from __future__ import annotations

import inspect
import json
import re
from functools import cache
from typing import Any

import pytest
from pydantic import BaseModel

from mistralai.client import errors


def strict_check(model: type[BaseModel], raw: bytes) -> BaseModel:
    instance = model.model_validate_json(raw, strict=True)
    _walk(instance, json.loads(raw), "$")
    return instance


def _walk(instance: Any, raw: Any, path: str) -> None:
    if isinstance(instance, BaseModel):
        if type(instance).__name__.startswith("Unknown"):
            raise AssertionError(f"{path}: parsed as an unknown union member: {raw!r}")
        assert isinstance(raw, dict), f"{path}: expected an object"
        fields = {(f.alias or name): name for name, f in type(instance).model_fields.items()}
        unknown = sorted(set(raw) - set(fields))
        assert not unknown, f"{path}: keys the SDK does not know: {unknown}"
        for alias, name in fields.items():
            if alias in raw:
                _walk(getattr(instance, name), raw[alias], f"{path}.{alias}")
    elif isinstance(instance, list) and isinstance(raw, list):
        for i, (item, raw_item) in enumerate(zip(instance, raw)):
            _walk(item, raw_item, f"{path}[{i}]")


def check_error_envelope(status: int, body: Any) -> None:
    assert status in (400, 401, 403, 404, 405, 408, 409, 413, 422, 429, 500, 503), status
    assert isinstance(body, dict) and set(body) == {"detail"}, body
    detail = body["detail"]
    assert isinstance(detail, dict) and set(detail) == {"message", "error_code"}, body
    assert isinstance(detail["message"], str) and len(detail["message"]) > 8, body
    assert detail["error_code"] is None or re.fullmatch(r"[A-Z_]+", detail["error_code"]), body


@cache
def expected(cls: type, method: str) -> tuple[str, type[BaseModel] | None]:
    """(success status, response model or None for 204) of an SDK method, read from the SDK's own source."""
    from mistralai.client import models

    source = inspect.getsource(getattr(cls, method))
    found = re.search(r'match_response\(\s*http_res, "(2\d\d)", "[^"]+"\s*\):\s*return unmarshal_json_response\(\s*'
                      r'models\.(\w+)', source)
    if found:
        return found.group(1), getattr(models, found.group(2))
    status = re.search(r'match_response\(\s*http_res, "(2\d\d)"', source)
    assert status, f"no success status found for {method}"
    return status.group(1), None


class Strict:
    """Wraps an SDK group (`client.beta.observability` and its sub-groups): every call is checked."""

    def __init__(self, target: Any, recorder: "Recorder"):
        self._target = target
        self._recorder = recorder

    def __getattr__(self, name: str):
        from mistralai.client.basesdk import BaseSDK

        value = getattr(self._target, name)
        if isinstance(value, BaseSDK):
            return Strict(value, self._recorder)
        if not callable(value) or name.endswith("_async"):
            return value
        status, model = expected(type(self._target), name)

        def checked(*args, **kwargs):
            self._recorder.last = None
            try:
                result = value(*args, **kwargs)
            except errors.MistralError:
                res = self._recorder.last
                assert res is not None and res.status_code >= 400
                assert res.headers["content-type"].startswith("application/json"), res.headers
                check_error_envelope(res.status_code, res.json())
                raise
            res = self._recorder.last
            assert res is not None and str(res.status_code) == status, (name, res.status_code)
            if model is None:
                assert res.content == b"" and result is None
            else:
                assert res.headers["content-type"] == "application/json"
                strict_check(model, res.content)
            return result

        return checked


class Recorder:
    """An httpx response hook that keeps the last response (read) for the strict checks."""

    def __init__(self) -> None:
        self.last = None

    def __call__(self, response) -> None:
        response.read()
        self.last = response


def api_error(status: int, code: str | None, call, *args, match: str = "", **kwargs) -> errors.ObservabilityError:
    """Call, expect ObservabilityError with `status` and `error_code`, its message matching `match`."""
    with pytest.raises(errors.ObservabilityError) as info:
        call(*args, **kwargs)
    err = info.value
    assert err.status_code == status, (err.status_code, err.body)
    assert err.data.detail.error_code == code, err.body
    assert re.search(match, str(err), re.IGNORECASE), str(err)
    return err
