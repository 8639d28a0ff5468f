"""Fixtures for the Mistral observability tests: the app in process on a manual clock, mistralai 2.9.4 pointed
at it with every call strictly checked (strict.py), and helpers to load scenario sections and move the clock."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.vendors.mistral import scenario
from tests.contract.mistral.strict import Recorder, Strict

API_KEY = "mistral-test-key"


@pytest.fixture
def app():
    return build_app(Settings(seed=11, clock_mode="manual"))


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def make_sdk(client: TestClient, api_key: str | None = API_KEY):
    from mistralai.client import Mistral

    return Mistral(api_key=api_key, server_url="http://testserver", client=client)


@pytest.fixture
def obs(client):
    """`Mistral(...).beta.observability`, every call checked strictly."""
    recorder = Recorder()
    client.event_hooks = {"request": [], "response": [recorder]}
    return Strict(make_sdk(client).beta.observability, recorder)


@pytest.fixture
def ns(app):
    return app.state.world.get(API_KEY)


@pytest.fixture
def load(ns):
    """Load a `mistral:` scenario section into the test's namespace."""
    return lambda section: scenario.load(ns, section)


@pytest.fixture
def advance(ns):
    return lambda seconds: ns.clock.advance(seconds)
