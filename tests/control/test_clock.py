"""The namespace clock over /_emulator/clock, health and reset."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from emulator.core.clock import DEFAULT_MANUAL_START, LATEST
from tests.control.conftest import error_body

H = {"X-Emulator-Namespace": "clocked"}


def now(client, headers=H) -> dict:
    res = client.get("/_emulator/clock", headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat().replace("+00:00", "Z")


def test_health_names_every_vendor(client):
    res = client.get("/_emulator/health")
    assert res.status_code == 200
    assert res.json() == {"status": "ok", "vendors": ["mka1", "qianfan", "mistral", "digitalocean"]}


def test_get_advance_and_set_by_epoch_and_iso(client):
    state = now(client)
    assert state == {"namespace": "clocked", "mode": "manual", "now": DEFAULT_MANUAL_START,
                     "iso": iso(DEFAULT_MANUAL_START)}

    res = client.post("/_emulator/clock/advance", json={"seconds": 90.5}, headers=H)
    assert res.status_code == 200
    assert res.json()["now"] == DEFAULT_MANUAL_START + 90.5
    assert now(client)["now"] == DEFAULT_MANUAL_START + 90.5

    target = DEFAULT_MANUAL_START + 86400
    res = client.post("/_emulator/clock/set", json={"time": target}, headers=H)
    assert res.status_code == 200 and res.json()["now"] == target and res.json()["iso"] == iso(target)

    res = client.post("/_emulator/clock/set", json={"time": "2027-03-04T05:06:07Z"}, headers=H)
    assert res.json()["now"] == datetime(2027, 3, 4, 5, 6, 7, tzinfo=timezone.utc).timestamp()
    assert res.json()["iso"] == "2027-03-04T05:06:07Z"

    # An offset is honoured: 08:00+02:00 is 06:00Z.
    res = client.post("/_emulator/clock/set", json={"time": "2027-03-05T08:00:00+02:00"}, headers=H)
    assert res.json()["iso"] == "2027-03-05T06:00:00Z"

    # Setting the clock to where it already is, or advancing by 0, is allowed.
    assert client.post("/_emulator/clock/set", json={"time": res.json()["now"]}, headers=H).status_code == 200
    assert client.post("/_emulator/clock/advance", json={"seconds": 0}, headers=H).json()["iso"] == \
        "2027-03-05T06:00:00Z"


def test_an_iso_time_without_an_offset_is_utc_whatever_the_host_zone(client, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        res = client.post("/_emulator/clock/set", json={"time": "2030-01-01T00:00:00"}, headers=H)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert res.status_code == 200, res.text
    assert res.json()["iso"] == "2030-01-01T00:00:00Z"


@pytest.mark.parametrize("path, body, words", [
    ("/_emulator/clock/advance", {"seconds": -1}, "seconds"),
    ("/_emulator/clock/advance", {"seconds": "soon"}, "seconds"),
    ("/_emulator/clock/advance", {}, "seconds"),
    ("/_emulator/clock/advance", {"seconds": 5, "extra": 1}, "extra"),
    ("/_emulator/clock/advance", [5], "body"),
    ("/_emulator/clock/advance", {"seconds": LATEST}, "9000"),
    ("/_emulator/clock/set", {"time": DEFAULT_MANUAL_START - 1}, "forward"),
    ("/_emulator/clock/set", {"time": "2025-12-31T23:59:59Z"}, "forward"),
    ("/_emulator/clock/set", {"time": "9000-01-01T00:00:01Z"}, "9000"),
    ("/_emulator/clock/set", {"time": LATEST + 1}, "9000"),
    ("/_emulator/clock/set", {"time": "next tuesday"}, "time"),
    ("/_emulator/clock/set", {"when": DEFAULT_MANUAL_START + 5}, "time"),
])
def test_refusals_answer_400_and_leave_the_clock_alone(client, path, body, words):
    client.post("/_emulator/clock/advance", json={"seconds": 10}, headers=H)
    before = now(client)
    res = client.post(path, json=body, headers=H)
    assert res.status_code == 400, res.text
    err = error_body(res)
    assert err["type"] == "invalid_request"
    assert words.lower() in err["message"].lower(), err
    assert now(client) == before


@pytest.mark.parametrize("raw", [b"{not json", b'{"seconds": NaN}', b'{"seconds": Infinity}'])
def test_malformed_bodies_are_refused(client, raw):
    before = now(client)
    res = client.post("/_emulator/clock/advance", content=raw, headers=H)
    assert res.status_code == 400
    assert error_body(res)["type"] == "invalid_request"
    assert now(client) == before


def test_freeze_and_realtime(client):
    client.post("/_emulator/clock/realtime", headers=H)
    start = now(client)
    assert start["mode"] == "realtime"
    time.sleep(0.05)
    moved = now(client)["now"]
    assert moved >= start["now"] + 0.04  # it runs with the wall clock

    frozen = client.post("/_emulator/clock/freeze", headers=H).json()
    assert frozen["mode"] == "manual" and frozen["now"] >= moved
    time.sleep(0.03)
    assert now(client)["now"] == frozen["now"]  # frozen where it was, not sent back to its start
    # Advancing works in both modes.
    assert client.post("/_emulator/clock/advance", json={"seconds": 5}, headers=H).json()["now"] == \
        frozen["now"] + 5


def test_reset_gives_a_fresh_namespace(client, mka1, suite, ctl):
    ctl.advance(100)
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", error="api_error")
    mka1.list_suites()
    assert ctl.journal() and ctl.faults()

    assert ctl.reset() == {"namespace": "test-token", "reset": True}
    assert ctl.faults() == [] and ctl.journal() == []
    assert mka1.list_suites().data == []
    assert ctl.now() < DEFAULT_MANUAL_START + 100  # the conftest app's manual clock starts afresh


def test_unknown_control_path_answers_the_control_envelope(client):
    res = client.get("/_emulator/nothing-here")
    assert res.status_code == 404 and error_body(res)["type"] == "not_found"
    res = client.get("/_emulator/clock/advance")
    assert res.status_code == 405 and error_body(res)["type"] == "method_not_allowed"
