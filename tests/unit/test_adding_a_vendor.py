"""A fifth vendor (tests/acme, one package) served through the same adapter, faults, journal and scenarios."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.vendors import registry

KEY = {"X-Acme-Key": "k1"}


@pytest.fixture
def client():
    app = build_app(Settings(clock_mode="manual"), vendors=[*registry.PACKAGES, "tests.acme"])
    with TestClient(app) as c:
        yield c


def test_the_fifth_vendor_answers_through_the_shared_adapter(client):
    created = client.post("/acme/v1/widgets", json={"name": "sprocket"}, headers=KEY)
    assert created.status_code == 201 and created.json() == {"id": "w1", "name": "sprocket"}
    assert client.get("/acme/v1/widgets/w1", headers=KEY).json() == {"id": "w1", "name": "sprocket"}
    missing = client.get("/acme/v1/widgets/w9", headers=KEY)
    assert missing.status_code == 404 and missing.json()["fault"]["code"] == "not_found"
    # The row's body model parses the request: a mistake is answered in ACME's envelope.
    bad = client.post("/acme/v1/widgets", json={"colour": "red"}, headers=KEY)
    assert bad.status_code == 400 and "body.name" in bad.json()["fault"]["text"]
    assert client.get("/acme/v1/widgets/w1").json()["fault"]["code"] == "unauthorized"
    # Routing failures under its prefix use its envelope too.
    assert client.get("/acme/v1/gadgets", headers=KEY).json()["fault"]["code"] == "not_found"
    wrong = client.delete("/acme/v1/widgets/w1", headers=KEY)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    assert "acme" in client.get("/_emulator/health").json()["vendors"]


def test_faults_journal_and_scenarios_know_it(client):
    ns = {"X-Emulator-Namespace": "k1"}
    loaded = client.post("/_emulator/scenarios", content="acme:\n  widgets: [cog, gear]\n", headers=ns)
    assert loaded.status_code == 200, loaded.text
    assert client.get("/acme/v1/widgets/w2", headers=KEY).json()["name"] == "gear"
    rule = client.post("/_emulator/faults", json={"vendor": "acme", "operation": "widgets.get",
                                                   "error": "WIDGET_JAMMED", "nth": 1}, headers=ns)
    assert rule.status_code == 201, rule.text
    jammed = client.get("/acme/v1/widgets/w1", headers=KEY)
    assert jammed.status_code == 503 and jammed.json()["fault"]["code"] == "WIDGET_JAMMED"
    assert client.get("/acme/v1/widgets/w1", headers=KEY).status_code == 200
    entries = client.get("/_emulator/journal", params={"vendor": "acme"}, headers=ns).json()["entries"]
    assert [(e["operation"], e["status"], e["faults"]) for e in entries] == [
        ("GetWidget", 200, []), ("GetWidget", 503, ["fault_1"]), ("GetWidget", 200, [])]
    refused = client.post("/_emulator/faults", json={"vendor": "acme", "error": "NoSuchCode"}, headers=ns)
    assert refused.status_code == 400 and "NoSuchCode" in refused.json()["error"]["message"]


def test_a_package_can_register_its_vendor_by_entry_point(monkeypatch):
    point = EntryPoint(name="acme", value="tests.acme", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [point] if group == point.group else [])
    assert registry.vendors().names[-1] == "acme"
    with pytest.raises(TypeError, match="exports no VENDOR"):
        registry.vendors(["emulator.core.errors"])


def test_a_row_can_prepare_what_its_handler_reads_off_the_event_loop():
    """Operation.prepare is awaited after the request is parsed (a bad body never reaches it) and just before the
    handler, which finds what it built in a worker thread (ns.read_off_loop)."""
    import dataclasses
    import threading

    from emulator.core.operations import Operation
    from tests import acme

    ran: list[tuple[str, str]] = []

    async def prepare(call):
        def build(ns):
            ran.append(("prepare", threading.current_thread().name))
            ns.cache["built"] = True

        await call.ns.read_off_loop(build)

    def handler(call):
        ran.append(("handler", threading.current_thread().name))
        return {"built": call.ns.cache.get("built", False)}

    operation = Operation("POST", "/widgets", "CreateWidget", handler, body=acme.NewWidget, prepare=prepare)
    vendor = dataclasses.replace(acme.VENDOR, operations=(operation,))
    with TestClient(build_app(Settings(clock_mode="manual"), vendors=[vendor])) as client:
        bad = client.post("/acme/v1/widgets", json={"colour": "red"}, headers=KEY)
        assert bad.status_code == 400 and ran == []
        assert client.post("/acme/v1/widgets", json={"name": "x"}, headers=KEY).json() == {"built": True}
    assert [step for step, _ in ran] == ["prepare", "handler"] and ran[0][1] != ran[1][1]
