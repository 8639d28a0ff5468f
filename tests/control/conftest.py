"""Fixtures for the control API tests: the app in process (tests/conftest.py), the control client bound to the
namespace the MKA1 SDK's token selects, and a second namespace to prove isolation."""

from __future__ import annotations

import pytest

from emulator.control.client import EmulatorControl
from tests.conftest import TOKEN

MANUAL_START = "2026-05-01T00:00:00Z"
MANUAL_START_EPOCH = 1777593600.0

SUITE = """
    - ref: s
      name: Support
      manifest:
        tasks:
          - {id: faq, type: qa, dataset: {file_id: file_faq}}
"""


def scenario(runs: str = "", faults: str = "", *, seed: int = 5) -> str:
    """A small MKA1 scenario on a manual clock: one suite `s`, the given runs and faults (YAML snippets)."""
    text = f"seed: {seed}\nclock: {{mode: manual, start: {MANUAL_START}}}\nmka1:\n  suites:{SUITE}"
    if runs:
        text += "  runs:\n" + runs
    if faults:
        text += "faults:\n" + faults
    return text


@pytest.fixture
def ctl(client) -> EmulatorControl:
    """The control API for the namespace the `mka1` fixture's token selects."""
    return EmulatorControl(client=client, namespace=TOKEN)


@pytest.fixture
def other(client) -> EmulatorControl:
    return EmulatorControl(client=client, namespace="other-namespace")


def error_body(res) -> dict:
    """The control API's error envelope: {"error": {"message", "type"}}."""
    body = res.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert body["error"]["type"], body
    return body["error"]
