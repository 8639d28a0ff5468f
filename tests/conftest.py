"""Shared fixtures: the app in process with a manual clock, and the MKA1 SDK pointed at it.

`mka1` is the official SDK's `llm.evals` wrapped so that every call's raw response is also checked strictly
against the SDK's own response model (see tests/strict.py): the SDK alone is lax and would accept unknown enum
strings or a missing `object`.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from tests.browser import NO_BROWSER
from tests.strict import StrictEvals

TOKEN = "test-token"


def pytest_terminal_summary(terminalreporter):
    """Say it loudly when the browser tests (tests/browser) were skipped for want of a browser: a skip in a
    long run is easy to miss, and then the inspector page went untested."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if NO_BROWSER in str(r.longrepr)]
    if skipped:
        longrepr = skipped[0].longrepr  # (path, line, "Skipped: <reason>")
        reason = longrepr[-1] if isinstance(longrepr, tuple) else str(longrepr)
        terminalreporter.write_sep("!", f"WARNING: {NO_BROWSER}", yellow=True, bold=True)
        terminalreporter.write_line(f"{len(skipped)} browser tests skipped {reason.split(NO_BROWSER, 1)[1].strip()}",
                                    yellow=True, bold=True)


@pytest.fixture
def app():
    return build_app(Settings(seed=7, clock_mode="manual"))


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


class Control:
    """The /_emulator API for one namespace."""

    def __init__(self, client: TestClient, token: str = TOKEN):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def advance(self, seconds: float) -> float:
        res = self.client.post("/_emulator/clock/advance", json={"seconds": seconds}, headers=self.headers)
        assert res.status_code == 200, res.text
        return res.json()["now"]

    def now(self) -> float:
        return self.client.get("/_emulator/clock", headers=self.headers).json()["now"]

    def reset(self) -> None:
        assert self.client.post("/_emulator/reset", headers=self.headers).status_code == 200


@pytest.fixture
def control(client):
    return Control(client)


def make_sdk(client: TestClient, token: str | None = TOKEN, **kwargs):
    from meetkai_mka1 import SDK
    from meetkai_mka1.utils import RetryConfig

    # No retries: a test that hits a 5xx should fail at once, not after the SDK's 15 s backoff.
    kwargs.setdefault("retry_config", RetryConfig("none", None, False))
    return SDK(bearer_auth=token, server_url="http://testserver", client=client, **kwargs)


@pytest.fixture
def mka1(client):
    """`sdk.llm.evals` of meetkai-mka1, every response strictly validated."""
    return StrictEvals(client, make_sdk(client).llm.evals)


@pytest.fixture
def suite(mka1):
    """A suite with a QA task, a classification task and a transcription task."""
    return mka1.create_suite(
        name="Support assistant",
        description="regression suite",
        metadata={"team": "support"},
        manifest={
            "tasks": [
                {"id": "faq", "type": "qa", "dataset": {"source": "file", "file_id": "file_faq"},
                 "metrics": [{"id": "exact_match"}]},
                {"id": "intent", "type": "classification", "dataset": {"file_id": "file_intent"},
                 "choices": ["billing", "shipping", "returns"]},
                {"id": "calls", "type": "transcription", "dataset": {"file_id": "file_calls", "audio_column": "clip"}},
            ]
        },
    )
