"""Rows marked `repeatable` have their answers remembered (core.operations.remembered): each must hold to what the
mark promises (the same request at the same virtual time answers the same bytes and changes nothing), and a
remembered answer must never outlive a change of the namespace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.core.operations import Operation
from emulator.vendors.registry import vendors

ROOT = Path(__file__).resolve().parents[2]
NS = "repeat"
HEADERS = {"Authorization": "Bearer repeat-token", "X-Emulator-Namespace": NS}


def _client(scenario: str) -> TestClient:
    """A manual-clock namespace loaded from a shipped scenario (its realtime clock held still)."""
    data = yaml.safe_load((ROOT / "scenarios" / scenario).read_text())
    data["clock"] = {"mode": "manual", "start": "2026-06-01T09:00:00Z"}
    client = TestClient(build_app(Settings(seed=5, clock_mode="manual")))
    loaded = client.post("/_emulator/scenarios", content=json.dumps(data), headers={"X-Emulator-Namespace": NS})
    assert loaded.status_code == 200, loaded.text
    return client


def _first(client: TestClient, path: str, key: str, field: str) -> str:
    found = client.get(path, headers=HEADERS)
    assert found.status_code == 200, found.text
    return found.json()[key][0][field]


# How to reach each repeatable row: its scenario and the paths to ask (ids read from the namespace).
REACH = {
    "listEvalRuns": ("mka1.yaml", lambda c: ["/api/v1/llm/evals/runs?limit=3", "/api/v1/llm/evals/runs?limit=100",
                                             "/api/v1/llm/evals/runs?status=completed"]),
    "chat_completion_events.fetch": ("mistral.yaml", lambda c: [
        "/v1/observability/chat-completion-events/" + c.post(
            "/v1/observability/chat-completion-events/search?page_size=1", json={"search_params": {"filters": None}},
            headers=HEADERS).json()["completion_events"]["results"][0]["event_id"]]),
    "list_evaluation_test_cases": ("digitalocean.yaml", lambda c: ["/v2/gen-ai/evaluation_test_cases"]),
    "get_evaluation_test_case": ("digitalocean.yaml", lambda c: [
        "/v2/gen-ai/evaluation_test_cases/" + _first(c, "/v2/gen-ai/evaluation_test_cases", "evaluation_test_cases",
                                                     "test_case_uuid"),
        "/v2/gen-ai/evaluation_test_cases/" + _first(c, "/v2/gen-ai/evaluation_test_cases", "evaluation_test_cases",
                                                     "test_case_uuid") + "?evaluation_test_case_version=1"]),
}


# Vendor state every accepted request changes before any handler runs (DigitalOcean's ratelimit counters).
PER_REQUEST = ("digitalocean.ratelimit",)


def _repeatable() -> dict[str, Operation]:
    return {op.name: op for vendor in vendors() for op in vendor.operations if op.repeatable}


def test_every_repeatable_row_is_reached_by_this_test():
    assert set(_repeatable()) == set(REACH)


@pytest.mark.parametrize("name", sorted(REACH))
def test_a_repeatable_row_answers_the_same_bytes_and_changes_nothing(name):
    scenario, paths = REACH[name]
    client = _client(scenario)
    for path in paths(client):
        fresh = client.get(path, headers=HEADERS)
        assert fresh.status_code == 200, fresh.text
        after_first = client.get("/_emulator/snapshot", headers=HEADERS).json()  # also forgets the answers
        again = client.get(path, headers=HEADERS)  # handled again: the snapshot call changed the namespace
        assert again.content == fresh.content, path
        remembered = client.get(path, headers=HEADERS)  # the remembered answer
        assert remembered.content == fresh.content, path
        after = client.get("/_emulator/snapshot", headers=HEADERS).json()
        # Taking a snapshot draws the store's next sequence number (one); anything more was a record made.
        assert after["state"]["store"].pop("next") == after_first["state"]["store"].pop("next") + 1, path
        for counter in PER_REQUEST:  # counted as the request is accepted, remembered answer or not
            counted = after["state"]["extras"].pop(counter, None)
            before = after_first["state"]["extras"].pop(counter, None)
            assert counted is None or counted["requests"] == before["requests"] + 2, (path, counter)
        assert after == after_first, f"{path}: answering it again changed the namespace"


def _statuses(client: TestClient) -> list[str]:
    return [run["status"] for run in client.get("/api/v1/llm/evals/runs?limit=100", headers=HEADERS).json()["data"]]


def test_a_remembered_list_sees_a_new_run_a_deleted_one_and_the_clock():
    client = _client("mka1.yaml")
    before = client.get("/api/v1/llm/evals/runs?limit=100", headers=HEADERS).json()["data"]
    assert client.get("/api/v1/llm/evals/runs?limit=100", headers=HEADERS).json()["data"] == before
    suite = before[0]["suite_id"]
    made = client.post("/api/v1/llm/evals/runs", headers=HEADERS, json={"suite_id": suite, "models": ["m"]})
    assert made.status_code in (200, 201), made.text
    listed = client.get("/api/v1/llm/evals/runs?limit=100", headers=HEADERS).json()["data"]
    assert [run["id"] for run in listed] == [made.json()["id"]] + [run["id"] for run in before]
    assert listed[0]["status"] == "queued"

    client.post("/_emulator/clock/advance", headers=HEADERS, json={"seconds": 3600})
    assert _statuses(client)[0] not in ("queued", "in_progress")  # the new run finished with the clock

    client.delete(f"/api/v1/llm/evals/runs/{made.json()['id']}", headers=HEADERS)
    assert [run["id"] for run in client.get("/api/v1/llm/evals/runs?limit=100", headers=HEADERS).json()["data"]] \
        == [run["id"] for run in before]


def test_a_remembered_answer_is_journaled_like_any_other_and_kept_per_caller():
    client = _client("digitalocean.yaml")
    case = _first(client, "/v2/gen-ai/evaluation_test_cases", "evaluation_test_cases", "test_case_uuid")
    for _ in range(3):
        answer = client.get(f"/v2/gen-ai/evaluation_test_cases/{case}", headers=HEADERS)
        assert answer.status_code == 200 and int(answer.headers["ratelimit-remaining"]) >= 0
    entries = client.get("/_emulator/journal?operation=get_evaluation_test_case", headers=HEADERS).json()["entries"]
    assert [entry["status"] for entry in entries] == [200, 200, 200]
    other = client.get(f"/v2/gen-ai/evaluation_test_cases/{case}",
                       headers={**HEADERS, "Authorization": "Bearer someone-else"})
    assert other.status_code == 200 and other.json() == answer.json()


def test_a_remembered_answer_keeps_what_the_journal_noted_of_the_call():
    client = _client("mka1.yaml")
    for _ in range(3):
        assert client.get("/api/v1/llm/evals/runs?limit=1", headers=HEADERS).status_code == 200
    entries = client.get("/_emulator/journal?operation=listEvalRuns", headers=HEADERS).json()["entries"]
    noted = {(entry["resource"], entry["state"], entry["terminal"]) for entry in entries}
    assert len(entries) == 3 and len(noted) == 1, entries


def test_a_test_case_updated_is_answered_anew():
    client = _client("digitalocean.yaml")
    case = _first(client, "/v2/gen-ai/evaluation_test_cases", "evaluation_test_cases", "test_case_uuid")
    path = f"/v2/gen-ai/evaluation_test_cases/{case}"
    version = client.get(path, headers=HEADERS).json()["evaluation_test_case"]["version"]
    client.put(path, headers=HEADERS, json={"test_case_uuid": case, "name": "renamed"})
    read = client.get(path, headers=HEADERS).json()["evaluation_test_case"]
    assert (read["name"], read["version"]) == ("renamed", version + 1)


def test_a_repeatable_row_takes_no_body():
    with pytest.raises(ValueError, match="takes no body"):
        Operation("POST", "/x", "x", lambda call: None, body=bytes, repeatable=True)


def test_what_a_namespace_remembers_is_bounded_in_bytes():
    from emulator.core.operations import ANSWERS_BYTES

    client = TestClient(build_app(Settings(clock_mode="manual")))
    many = {"clock": {"mode": "manual"}, "mka1": {
        "suites": [{"ref": "s", "name": "S", "manifest": {"tasks": [{"id": "t", "type": "qa", "dataset": {}}]}}],
        "runs": [{"suite": "s", "models": ["m"], "generate": 300, "age_seconds": 3600}]}}
    assert client.post("/_emulator/scenarios", json=many, headers={"X-Emulator-Namespace": NS}).status_code == 200
    ns = client.app.state.world.namespaces[NS]
    pages = {}
    for n in range(1, 120):  # a different request each time, the clock standing still: nothing changes
        path = f"/api/v1/llm/evals/runs?limit=100&suite_version_hint={n}"
        pages[path] = client.get(path, headers=HEADERS).content
        assert ns.answers.size <= ANSWERS_BYTES
    for path, page in pages.items():  # remembered or not, the same answer
        assert client.get(path, headers=HEADERS).content == page
    assert 0 < len(ns.answers.entries) < len(pages)


def test_a_remembered_answer_is_never_given_to_another_caller():
    """owned_only depends on who asks: the remembered answers are keyed by every header, the credential too."""
    client = _client("mka1.yaml")
    alice, bob = {**HEADERS, "Authorization": "Bearer alice"}, {**HEADERS, "Authorization": "Bearer bob"}
    suite = client.get("/api/v1/llm/evals/runs?limit=1", headers=HEADERS).json()["data"][0]["suite_id"]
    made = client.post("/api/v1/llm/evals/runs", headers=alice, json={"suite_id": suite, "models": ["m"]}).json()
    mine = "/api/v1/llm/evals/runs?owned_only=true&limit=100"
    for _ in range(2):  # the second round is answered from what the first remembered
        assert [run["id"] for run in client.get(mine, headers=alice).json()["data"]] == [made["id"]]
        assert client.get(mine, headers=bob).json()["data"] == []
    assert len(client.app.state.world.namespaces[NS].answers.entries) == 2  # one per caller, both remembered
