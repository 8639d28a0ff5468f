"""Strict checks of raw responses against the official SDK's own pydantic models.

The SDK parses in lax mode: unknown enum strings become `UnrecognizedStr`, a missing `object` takes its default,
unknown keys are dropped. Here every response is validated again in strict mode (unknown enum values rejected),
every model that declares `object` must have received it, and no key may be one the SDK does not know.
"""

from __future__ import annotations

import inspect
import json
import re
from functools import cache
from typing import Any

import pytest
from meetkai_mka1.errors import SDKDefaultError
from pydantic import BaseModel


def strict_check(model: type[BaseModel], raw: Any) -> BaseModel:
    instance = model.model_validate(raw, strict=True)
    _walk(instance, raw, "$")
    return instance


def _walk(instance: Any, raw: Any, path: str) -> None:
    if isinstance(instance, BaseModel):
        assert isinstance(raw, dict), f"{path}: expected an object"
        fields = {(f.alias or name): name for name, f in type(instance).model_fields.items()}
        if "object" in fields:
            assert "object" in raw, f"{path}: the `object` literal is missing"
        if type(instance).model_config.get("extra") != "allow":
            unknown = sorted(set(raw) - set(fields))
            assert not unknown, f"{path}: keys the SDK does not know: {unknown}"
        for alias, name in fields.items():
            if alias in raw:
                _walk(getattr(instance, name), raw[alias], f"{path}.{alias}")
    elif isinstance(instance, list) and isinstance(raw, list):
        for i, (item, raw_item) in enumerate(zip(instance, raw)):
            _walk(item, raw_item, f"{path}[{i}]")


def check_error_envelope(status: int, body: Any) -> None:
    """MKA1's error body: {"error": {"message": str, "type": str, "code": status}}."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"message", "type", "code"}, err
    assert isinstance(err["message"], str) and err["message"], err
    assert isinstance(err["type"], str) and err["type"].endswith("_error"), err
    assert err["code"] == status, err


def expect_error(excinfo: pytest.ExceptionInfo, status: int, *words: str) -> str:
    """Assert an SDK error's status and that its JSON message is meaningful (mentions `words`)."""
    err = excinfo.value
    assert isinstance(err, SDKDefaultError)
    assert err.status_code == status, (err.status_code, err.body)
    body = json.loads(err.body)
    assert body["error"]["code"] == status
    message = body["error"]["message"]
    assert isinstance(message, str) and len(message) > 10, body
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    return message


def api_error(status: int, call, *args, match: str, **kwargs) -> dict:
    """Call, expect SDKDefaultError with `status`, and a message matching `match` (regex, case-insensitive)."""
    with pytest.raises(SDKDefaultError) as info:
        call(*args, **kwargs)
    assert info.value.status_code == status, info.value.body
    err = json.loads(info.value.body)["error"]
    assert err["code"] == status
    assert re.search(match, err["message"], re.IGNORECASE), err["message"]
    return err


@cache
def response_model(method: str) -> type[BaseModel]:
    """The model the SDK unmarshals `method`'s 200 response into, read from the SDK's own source."""
    from meetkai_mka1 import models
    from meetkai_mka1.evals import Evals

    source = inspect.getsource(getattr(Evals, method))
    found = re.search(r"unmarshal_json_response\(\s*models_\.(\w+)", source)
    assert found, f"no response model found for {method}"
    return getattr(models, found.group(1))


class StrictEvals:
    """`sdk.llm.evals` whose every call is checked: strictly on success, by envelope on error."""

    def __init__(self, client, evals):
        self._evals = evals
        self.last_response = None
        client.event_hooks = {"request": [], "response": [self._record]}

    def _record(self, response) -> None:
        response.read()
        self.last_response = response

    def __getattr__(self, method: str):
        call = getattr(self._evals, method)
        model = response_model(method)

        def checked(*args, **kwargs):
            self.last_response = None
            try:
                result = call(*args, **kwargs)
            except Exception:
                res = self.last_response
                if res is not None and res.status_code >= 400:
                    check_error_envelope(res.status_code, res.json())
                    assert res.headers["content-type"].startswith("application/json")
                raise
            res = self.last_response
            assert res is not None and res.status_code == 200
            strict_check(model, res.json())
            return result

        return checked
