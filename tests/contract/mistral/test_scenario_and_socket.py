"""The demo scenario (scenarios/mistral.yaml) read through the SDK, scenario refusals, and a smoke run over a
real socket (uvicorn on a free port in a background thread), sync and async."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.core.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "scenarios" / "mistral.yaml"
NESTED = {"AND": [{"field": "tags", "op": "includes", "value": "prod"},
                  {"OR": [{"field": "request_text", "op": "icontains", "value": "refund"},
                          {"field": "latency_ms", "op": "gt", "value": 3000}]}]}


def test_the_demo_story_through_the_sdk():
    from mistralai.client import Mistral

    app = build_app(Settings(clock_mode="manual"), [SCENARIO])
    with TestClient(app) as client:
        obs = Mistral(api_key="demo", server_url="http://testserver", client=client).beta.observability
        everything = obs.chat_completion_events.search_ids(search_params={"filters": None}).completion_event_ids
        assert len(everything) == 48
        refunds = obs.chat_completion_events.search(search_params={"filters": NESTED}, page_size=100,
                                                    extra_fields=["tags", "model"]).completion_events.results
        assert len(refunds) >= 2 and all("prod" in e.extra_fields["tags"] for e in refunds)
        (judge,) = obs.judges.list().judges.results
        assert judge.name == "support-tone" and judge.output.type == "CLASSIFICATION"
        verdicts = {}
        for event in refunds:
            full = obs.chat_completion_events.fetch(event_id=event.event_id)
            text = full.response_messages[0]["content"]
            verdicts[text] = obs.judges.judge_conversation(
                judge_id=judge.id, messages=full.request_messages + full.response_messages).answer
        assert verdicts["I am sorry for the wait. Your refund was sent today, thank you for your patience."] == \
            "POLITE"
        assert set(verdicts.values()) <= {"POLITE", "CURT"}
        flaky, campaign = obs.campaigns.list().campaigns.results  # newest first
        assert campaign.name == "prod refunds tone" and campaign.judge.id == judge.id
        assert obs.campaigns.fetch_status(campaign_id=campaign.id).status == "COMPLETED"
        # the scripted one: RUNNING for three polls (whatever the clock says), then FAILED at 30 s
        assert flaky.name == "flaky nightly tone"
        app.state.world.get("demo").clock.advance(40)
        assert [obs.campaigns.fetch_status(campaign_id=flaky.id).status for _ in range(4)] == ["RUNNING"] * 3 + [
            "FAILED"]
        assert obs.campaigns.list_events(campaign_id=campaign.id).completion_events.count >= 2
        (dataset,) = obs.datasets.list().datasets.results
        assert obs.datasets.list_records(dataset_id=dataset.id).records.count == 1
        # Other keys see nothing of the demo.
        other = Mistral(api_key="someone-else", server_url="http://testserver", client=client).beta.observability
        assert other.chat_completion_events.search_ids(search_params={"filters": None}).completion_event_ids == []


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    held = tmp_path / "held.yaml"  # the demo on a held clock, so that time cannot differ between the runs
    held.write_text(SCENARIO.read_text().replace("mode: realtime", "mode: manual\n  start: 2026-03-01T00:00:00Z"))
    bodies = []
    for _ in range(2):
        with TestClient(build_app(Settings(), [held])) as client:
            res = client.post("/v1/observability/chat-completion-events/search?page_size=100",
                              json={"search_params": {"filters": None}, "extra_fields": ["model", "tags"]},
                              headers={"Authorization": "Bearer demo"})
            bodies.append(res.content)
    assert bodies[0] == bodies[1] and len(bodies[0]) > 1000


@pytest.mark.parametrize("section, message", [
    ({"events": [{"generate": 2, "event_id": "x"}]}, "generated events get their own ids"),
    ({"events": [{"colour": "red"}]}, "colour"),
    ({"judges": [{"name": "j"}]}, "mistral.judges.0"),
    ({"campaigns": [{"name": "c", "judge": "nobody"}]}, "no judge named 'nobody'"),
    ({"events": [{"event_id": "a"}, {"event_id": "a"}]}, "used twice"),
    ({"datasets": [{"name": "d", "records": [{"payload": {"text": "x"}}]}]}, "records.0"),
])
def test_bad_scenario_sections_are_refused_with_where(section, message):
    from emulator.core import scenario as scenarios

    app = build_app(Settings(clock_mode="manual"))
    loaders = app.state.vendors
    parsed = scenarios.Scenario.model_validate({"namespace": "x", "mistral": section})
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        scenarios.apply(app.state.world, parsed, loaders, "test.yaml")


@pytest.fixture(scope="session")
def server_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_app(Settings(seed=5, clock_mode="manual"), [SCENARIO])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_sdk_over_a_socket(server_url):
    from mistralai.client import Mistral
    from mistralai.client import errors

    with Mistral(api_key="socket-user", server_url=server_url + "/") as client:
        obs = client.beta.observability
        judge = obs.judges.create(name="s", description="", model_name="m", instructions="", tools=[],
                                  output={"type": "REGRESSION", "min_description": "bad", "max_description": "good"})
        assert obs.judges.fetch(judge_id=judge.id).name == "s"
        obs.judges.delete(judge_id=judge.id)
        with pytest.raises(errors.ObservabilityError) as info:
            obs.chat_completion_events.fetch(event_id="missing")
        assert info.value.status_code == 404 and info.value.data.detail.error_code == "SEARCH_NOT_FOUND"
    with Mistral(api_key="demo", server_url=server_url) as client:
        page = client.beta.observability.chat_completion_events.search(search_params={"filters": NESTED})
        assert page.completion_events.results
        # logs, traces and spans over the socket, with the SDK's datetime query params
        obs = client.beta.observability
        start = min(e.created_at for e in page.completion_events.results)
        traces = obs.traces.search(from_=start, search_expression="has(models_used, 'mistral-large-latest')",
                                   page_size=5).traces.results
        assert traces and all(t.start_time >= start and "mistral-large-latest" in t.models_used for t in traces)
        spans = obs.traces.get_trace_spans(trace_id=traces[0].trace_id).spans.results
        assert [s.span_kind for s in spans] == ["SERVER", "CLIENT"]
        counted = obs.spans.aggregate(metric={"measure": "*", "aggregation": "count"}, dimensions=["span_kind"])
        assert {r.dimensions["span_kind"]: r.metric_value for r in counted.data} == {"CLIENT": 48, "SERVER": 48}
        with pytest.raises(errors.ObservabilityError) as info:
            obs.logs.search(search_expression="severity_text ==")
        assert info.value.status_code == 422 and info.value.data.detail.error_code == "TRACES_FILTER_QUERY_PARSE_ERROR"


def test_async_sdk_over_a_socket(server_url):
    from mistralai.client import Mistral

    async def run():
        async with Mistral(api_key="demo", server_url=server_url) as client:
            obs = client.beta.observability
            ids = await obs.chat_completion_events.search_ids_async(search_params={"filters": NESTED})
            event = await obs.chat_completion_events.fetch_async(event_id=ids.completion_event_ids[0])
            return ids.completion_event_ids, event

    ids, event = asyncio.run(run())
    assert event.event_id == ids[0] and "prod" in event.extra_fields["tags"]


def test_async_sdk_in_process():
    from mistralai.client import Mistral

    app = build_app(Settings(clock_mode="manual"), [SCENARIO])

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            sdk = Mistral(api_key="demo", server_url="http://testserver", async_client=http)
            return await sdk.beta.observability.judges.list_async()

    assert asyncio.run(run()).judges.count == 1
