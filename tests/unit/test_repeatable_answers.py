"""Rows marked `repeatable` have their answers remembered (core.operations.remembered): each must hold to what the
mark promises (the same request at the same virtual time answers the same bytes and changes nothing), and a
remembered answer must never outlive a change of the namespace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, NamedTuple

import pytest
import yaml
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.core.operations import Operation
from emulator.vendors.registry import vendors
from tests.property.qianfan_signing import signed_headers, signed_post

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


class Ask(NamedTuple):
    """One request to send again and again, and what of its answer must stay the same."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None
    same: Callable[[bytes], Any] = bytes  # the answer's part that repeats (Qianfan: all but the fresh requestId)

    def send(self, client: TestClient):
        return client.request(self.method, self.path, headers=self.headers, content=self.body)


def _get(path: str) -> Ask:
    return Ask("GET", path, HEADERS)


QIANFAN_KEYS = {"ak": "qianfan-demo", "sk": "qianfan-demo-sk", "namespace": NS}  # scenarios/qianfan.yaml's pair


def _result(content: bytes) -> Any:
    return json.loads(content)["result"]


def _describe(client: TestClient, task_id: str) -> Ask:
    """DescribeEvalTask of one task, signed once: a client polling within its signature's validity."""
    query = {"Action": "DescribeEvalTask"}
    return Ask("POST", "/v2/eval?Action=DescribeEvalTask", signed_headers("/v2/eval", query, **QIANFAN_KEYS),
               json.dumps({"taskId": task_id}).encode(), _result)


def _qianfan_tasks(client: TestClient) -> list[str]:
    listing = signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json={"evalType": "auto"},
                          **QIANFAN_KEYS)
    assert listing.status_code == 200, listing.text
    return [task["taskId"] for task in listing.json()["result"]["evalTaskList"]]


# How to reach each repeatable row: its scenario and the requests to send (ids read from the namespace).
REACH = {
    "listEvalRuns": ("mka1.yaml", lambda c: [_get("/api/v1/llm/evals/runs?limit=3"),
                                             _get("/api/v1/llm/evals/runs?limit=100"),
                                             _get("/api/v1/llm/evals/runs?status=completed")]),
    "chat_completion_events.fetch": ("mistral.yaml", lambda c: [_get(
        "/v1/observability/chat-completion-events/" + c.post(
            "/v1/observability/chat-completion-events/search?page_size=1", json={"search_params": {"filters": None}},
            headers=HEADERS).json()["completion_events"]["results"][0]["event_id"])]),
    "list_evaluation_test_cases": ("digitalocean.yaml", lambda c: [_get("/v2/gen-ai/evaluation_test_cases")]),
    "get_evaluation_test_case": ("digitalocean.yaml", lambda c: [
        _get("/v2/gen-ai/evaluation_test_cases/" + _first(c, "/v2/gen-ai/evaluation_test_cases",
                                                          "evaluation_test_cases", "test_case_uuid")),
        _get("/v2/gen-ai/evaluation_test_cases/" + _first(c, "/v2/gen-ai/evaluation_test_cases",
                                                          "evaluation_test_cases", "test_case_uuid")
             + "?evaluation_test_case_version=1")]),
    "DescribeEvalTask": ("qianfan.yaml", lambda c: [_describe(c, task) for task in _qianfan_tasks(c)[:2]]),
}


# Vendor state every accepted request changes before any handler runs (DigitalOcean's ratelimit counters,
# Qianfan's request counter behind each requestId).
PER_REQUEST = ("digitalocean.ratelimit", "qianfan.counters")


def _repeatable() -> dict[str, Operation]:
    return {op.name: op for vendor in vendors() for op in vendor.operations if op.repeatable}


def test_every_repeatable_row_is_reached_by_this_test():
    assert set(_repeatable()) == set(REACH)


@pytest.mark.parametrize("name", sorted(REACH))
def test_a_repeatable_row_answers_the_same_bytes_and_changes_nothing(name):
    scenario, asks = REACH[name]
    client = _client(scenario)
    for ask in asks(client):
        path = ask.path
        fresh = ask.send(client)
        assert fresh.status_code == 200, fresh.text
        after_first = client.get("/_emulator/snapshot", headers=HEADERS).json()  # also forgets the answers
        again = ask.send(client)  # handled again: the snapshot call changed the namespace
        assert ask.same(again.content) == ask.same(fresh.content), path
        remembered = ask.send(client)  # the remembered answer
        assert ask.same(remembered.content) == ask.same(fresh.content), path
        after = client.get("/_emulator/snapshot", headers=HEADERS).json()
        # Taking a snapshot draws the store's next sequence number (one); anything more was a record made.
        assert after["state"]["store"].pop("next") == after_first["state"]["store"].pop("next") + 1, path
        for counter in PER_REQUEST:  # counted as the request is accepted, remembered answer or not
            counted = after["state"]["extras"].pop(counter, None)
            before = after_first["state"]["extras"].pop(counter, None)
            assert counted is None or counted["requests"] == before["requests"] + 2, (path, counter)
        assert after == after_first, f"{path}: answering it again changed the namespace"


def test_a_remembered_qianfan_detail_gets_a_new_request_id_each_time():
    client = _client("qianfan.yaml")
    ask = _describe(client, _qianfan_tasks(client)[0])
    answers = [ask.send(client).json() for _ in range(3)]
    assert len({answer["requestId"] for answer in answers}) == 3
    assert answers[0]["result"] == answers[1]["result"] == answers[2]["result"]
    assert len(client.app.state.world.namespaces[NS].answers.entries) == 1  # the second and third were remembered


def test_a_task_on_a_scripted_timeline_counts_every_poll_of_the_same_request():
    """Polls count toward `after_polls`: the very same signed request is handled every time, never remembered."""
    client = _client("qianfan.yaml")
    scripted = {"clock": {"mode": "manual"}, "qianfan": {
        "credentials": [{"accessKey": "qianfan-demo", "secretKey": "qianfan-demo-sk"}],
        "tasks": [{"taskName": "scripted", "evalConfig": {"evalMode": "rule"},
                   "timeline": [{"after_polls": 2, "state": "Running"}]}]}}
    assert client.post("/_emulator/scenarios", json=scripted, headers={"X-Emulator-Namespace": NS}).status_code == 200
    ask = _describe(client, _qianfan_tasks(client)[0])
    states = [ask.send(client).json()["result"]["state"] for _ in range(4)]
    assert states == ["Queued", "Queued", "Running", "Running"]
    entries = client.get("/_emulator/journal?operation=DescribeEvalTask", headers=HEADERS).json()["entries"]
    assert [entry["state"] for entry in entries] == states


def test_the_body_is_part_of_what_an_answer_is_remembered_by():
    """Qianfan signs the headers, not the body: one signature, two task ids, two answers."""
    client = _client("qianfan.yaml")
    first, second = _qianfan_tasks(client)[:2]
    ask = _describe(client, first)
    other = ask._replace(body=json.dumps({"taskId": second}).encode())
    for _ in range(2):
        assert ask.send(client).json()["result"]["taskId"] == first
        assert other.send(client).json()["result"]["taskId"] == second


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


def test_headers_given_as_lists_are_answered_every_time():
    """ASGI lets a server give each header as a list (unhashable): such requests are handled, never remembered."""
    import asyncio

    client = _client("qianfan.yaml")
    ask = _describe(client, _qianfan_tasks(client)[0])
    headers = [[name.lower().encode(), value.encode()] for name, value in ask.headers.items()]
    headers.append([b"content-length", str(len(ask.body)).encode()])

    async def send_once() -> list[dict]:
        sent: list[dict] = []

        async def receive():
            return {"type": "http.request", "body": ask.body, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v2/eval", "raw_path": b"/v2/eval",
                 "query_string": b"Action=DescribeEvalTask", "root_path": "", "headers": headers,
                 "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
        await client.app(scope, receive, send)
        return sent

    answers = [asyncio.run(send_once()) for _ in range(2)]
    assert [sent[0]["status"] for sent in answers] == [200, 200]
    assert json.loads(answers[0][1]["body"])["result"] == json.loads(answers[1][1]["body"])["result"]
