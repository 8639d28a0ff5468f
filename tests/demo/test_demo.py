"""The demo stories `make demo` prints, run as a test: each drives its scenario through the official SDK and
checks what it reports, against real servers (http, and https for pydo)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator import demo
from emulator.app import build_app
from emulator.control.server import EmulatorServer
from emulator.core import scenario as scenarios

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def servers():
    with EmulatorServer() as http_server, EmulatorServer(tls=True) as tls_server:
        yield http_server, tls_server


@pytest.fixture
def qianfan_config_restored():
    """The Qianfan story points the SDK's global config at the demo server; put it back afterwards."""
    import qianfan

    config = qianfan.get_config()
    saved = {k: getattr(config, k) for k in ("CONSOLE_API_BASE_URL", "ACCESS_KEY", "SECRET_KEY")}
    yield
    for key, value in saved.items():
        setattr(config, key, value)


@pytest.mark.parametrize("title,story,needs_tls", demo.STORIES, ids=[s[0] for s in demo.STORIES])
def test_demo_story(servers, title, story, needs_tls, capsys, qianfan_config_restored):
    http_server, tls_server = servers
    if needs_tls:
        story(tls_server.url, tls_server.ca_file)
    else:
        story(http_server.url)
    printed = capsys.readouterr().out
    assert printed.count("  - ") >= 3, printed  # it told the story step by step


def test_every_vendor_has_a_demo_story():
    app = build_app()
    told = {title.split()[0].lower() for title, _, _ in demo.STORIES}
    assert told == {"mka1", "qianfan", "mistral", "digitalocean"}
    assert {v.name for v in app.state.vendors} == told


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_scenario_files_load(path):
    app = build_app()
    scenarios.check(path.read_text(), str(path), app.state.vendors)


def test_the_scenario_page_example_loads():
    """docs/scenarios.md teaches the format with one complete example: it must stay loadable as written."""
    text = (ROOT / "docs" / "scenarios.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert blocks, "docs/scenarios.md has a YAML scenario example"
    app = build_app()
    loaded = [scenarios.check(block, "docs/scenarios.md", app.state.vendors)
              for block in blocks]  # every YAML block of the page is a scenario that loads
    complete = [s for s in loaded if s.faults and set(s.model_extra) == {"mka1", "qianfan", "mistral", "digitalocean"}]
    assert complete, "one example shows every vendor's section and faults"
