"""Every bad input answers MKA1's error envelope with the right status, and changes no state."""

from __future__ import annotations

import pytest

from tests.strict import check_error_envelope

BASE = "/api/v1/llm/evals"
AUTH = {"Authorization": "Bearer test-token"}


def assert_envelope(res, status: int, *, says: str) -> dict:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/json")
    body = res.json()
    check_error_envelope(status, body)
    assert says.lower() in body["error"]["message"].lower(), body
    return body["error"]


@pytest.mark.parametrize(
    "method, path, status, says",
    [
        ("GET", BASE + "/nothing-here", 404, "no route"),
        ("GET", BASE + "/runs/a/b", 404, "no route"),
        ("PUT", BASE + "/runs", 405, "not allowed"),
        ("PATCH", BASE + "/suites", 405, "not allowed"),
    ],
)
def test_unknown_routes_and_methods_answer_the_vendor_envelope(client, method, path, status, says):
    assert_envelope(client.request(method, path, headers=AUTH), status, says=says)


def test_malformed_json_is_400(client):
    res = client.post(BASE + "/suites", headers={**AUTH, "content-type": "application/json"}, content=b"{nope")
    assert_envelope(res, 400, says="not valid JSON")


def test_body_of_the_wrong_shape_names_the_field(client):
    res = client.post(BASE + "/suites", headers=AUTH, json={"name": "x", "manifest": {"tasks": "all"}})
    err = assert_envelope(res, 400, says="body.manifest.tasks")
    assert err["type"] == "invalid_request_error"
    res = client.post(BASE + "/runs", headers=AUTH, json=[1, 2])
    assert_envelope(res, 400, says="body")


@pytest.mark.parametrize("query, says", [("limit=abc", "limit"), ("status=paused", "status"),
                                         ("owned_only=maybe", "owned_only")])
def test_bad_query_values_are_400(client, query, says):
    assert_envelope(client.get(f"{BASE}/runs?{query}", headers=AUTH), 400, says=says)


def test_non_integer_path_parameter_is_400(client):
    suite = client.post(BASE + "/suites", headers=AUTH, json={
        "name": "s", "manifest": {"tasks": [{"id": "t", "type": "qa", "dataset": {}}]}}).json()
    assert_envelope(client.get(f"{BASE}/suites/{suite['id']}/versions/one", headers=AUTH), 400, says="version")


def test_refused_requests_change_no_state(client):
    before = client.get(BASE + "/suites", headers=AUTH).json()
    client.post(BASE + "/suites", headers=AUTH, json={"name": "", "manifest": {"tasks": []}})
    client.post(BASE + "/suites", headers=AUTH, content=b"{")
    assert client.get(BASE + "/suites", headers=AUTH).json() == before


def test_an_internal_error_is_a_500_envelope_not_a_stack_trace(app, monkeypatch):
    from starlette.testclient import TestClient

    from emulator.vendors.mka1 import service

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(service, "list_suites", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        res = client.get(BASE + "/suites", headers=AUTH)
    err = assert_envelope(res, 500, says="internal error")
    assert "kaboom" not in res.text and "Traceback" not in res.text
    assert err["type"] == "api_error"


def test_control_api_errors_are_json(client):
    res = client.post("/_emulator/clock/advance", json={"seconds": -5})
    assert res.status_code == 400 and "seconds" in res.json()["error"]["message"]
    res = client.post("/_emulator/clock/advance", content=b"[")
    assert res.status_code == 400 and res.json()["error"]["type"] == "invalid_request"
    res = client.get("/elsewhere")
    assert res.status_code == 404 and res.json()["error"]["type"] == "not_found"


def test_the_clock_refuses_to_leave_the_calendar_and_stays_put(client):
    before = client.get("/_emulator/clock").json()["now"]
    for seconds in (1e12, 1e300):
        res = client.post("/_emulator/clock/advance", json={"seconds": seconds})
        assert res.status_code == 400 and "9000" in res.json()["error"]["message"]
    assert client.get("/_emulator/clock").json()["now"] == before


def test_health_and_clock(client):
    health = client.get("/_emulator/health").json()
    assert health["status"] == "ok" and "mka1" in health["vendors"]
    start = client.get("/_emulator/clock").json()
    assert start["mode"] == "manual" and start["namespace"] == "default"
    moved = client.post("/_emulator/clock/advance", json={"seconds": 90}).json()
    assert moved["now"] == start["now"] + 90
    assert moved["iso"].endswith("Z")


@pytest.mark.parametrize("path", ["/leaderboard", "/leaderboard-runs"])
def test_a_suite_version_past_the_apis_integers_is_400(client, suite, path):
    """Found by fuzzing the generated OpenAPI document: the leaderboard echoed a suite_version of 10**30, which
    cannot be encoded as JSON's 64-bit integer (a 500)."""
    res = client.get(f"{BASE}/suites/{suite.id}{path}", params={"suite_version": str(10**30)}, headers=AUTH)
    assert_envelope(res, 400, says="suite_version")
    assert client.get(f"{BASE}/suites/{suite.id}{path}", params={"suite_version": "1"}, headers=AUTH).status_code \
        == 200
