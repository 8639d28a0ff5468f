"""Two namespaces never see each other's state, faults, clock or journal (in process and on a shared server)."""

from __future__ import annotations

import httpx
import pytest
from meetkai_mka1 import SDK
from meetkai_mka1.errors import SDKDefaultError
from meetkai_mka1.utils import RetryConfig

from emulator.control.client import EmulatorControl
from tests.control.conftest import scenario

NO_RETRY = RetryConfig("none", None, False)


def check_isolation(a_sdk, a: EmulatorControl, b_sdk, b: EmulatorControl) -> None:
    a.load_scenario(scenario("    - suite: s\n      models: [m]\n"))
    a.add_fault(vendor="mka1", operation="getEvalSuite", error="api_error")
    a.advance(1000)
    suite = a_sdk.list_suites().data[0]
    with pytest.raises(SDKDefaultError):
        a_sdk.get_suite(suite_id=suite.id)

    b_start = b.now()
    assert b_sdk.list_suites().data == [] and b_sdk.list_runs().data == []
    with pytest.raises(SDKDefaultError) as excinfo:
        b_sdk.get_suite(suite_id=suite.id)  # B cannot reach A's suite by id either
    assert excinfo.value.status_code == 404
    assert b.faults() == []
    assert b.now() == b_start and a.now() != b.now()
    assert [e["operation"] for e in b.journal()] == ["listEvalSuites", "listEvalRuns", "getEvalSuite"]
    assert {e["namespace"] for e in a.journal()} == {a.namespace}
    assert [e["operation"] for e in a.journal()] == ["listEvalSuites", "getEvalSuite"]

    # B's own changes stay in B.
    b.add_fault(vendor="mka1", operation="listEvalSuites", error="rate_limit_error")
    b.advance(5)
    assert len(a_sdk.list_suites().data) == 1
    assert [f["operation"] for f in a.faults()] == ["getEvalSuite"]
    b.reset()
    assert len(a_sdk.list_suites().data) == 1 and a.faults() and a.journal()
    assert b.snapshot()["state"] != a.snapshot()["state"]


def test_in_process(client):
    a_sdk = SDK(bearer_auth="ns-a", server_url="http://testserver", client=client, retry_config=NO_RETRY)
    b_sdk = SDK(bearer_auth="ns-b", server_url="http://testserver", client=client, retry_config=NO_RETRY)
    check_isolation(a_sdk.llm.evals, EmulatorControl(client=client, namespace="ns-a"),
                    b_sdk.llm.evals, EmulatorControl(client=client, namespace="ns-b"))


def test_the_namespace_header_wins_over_the_token(client):
    """One token, two namespaces picked by X-Emulator-Namespace (what the `emulator` fixture relies on)."""
    with httpx.Client(transport=client._transport, base_url="http://testserver",
                      headers={"X-Emulator-Namespace": "hdr-a"}) as ha, \
            httpx.Client(transport=client._transport, base_url="http://testserver",
                         headers={"X-Emulator-Namespace": "hdr-b"}) as hb:
        a_sdk = SDK(bearer_auth="same-token", server_url="http://testserver", client=ha, retry_config=NO_RETRY)
        b_sdk = SDK(bearer_auth="same-token", server_url="http://testserver", client=hb, retry_config=NO_RETRY)
        check_isolation(a_sdk.llm.evals, EmulatorControl(client=client, namespace="hdr-a"),
                        b_sdk.llm.evals, EmulatorControl(client=client, namespace="hdr-b"))


def test_on_the_shared_server(emulator_server):
    other = EmulatorControl(emulator_server.base_url, namespace=emulator_server.namespace + "-other")
    try:
        a_sdk = SDK(bearer_auth=emulator_server.token, server_url=emulator_server.base_url, retry_config=NO_RETRY)
        b_sdk = SDK(bearer_auth=other.namespace, server_url=emulator_server.base_url, retry_config=NO_RETRY)
        check_isolation(a_sdk.llm.evals, emulator_server.control, b_sdk.llm.evals, other)
    finally:
        other.reset()
        other.close()
