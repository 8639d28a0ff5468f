"""POST /_emulator/scenarios: loads into the request's namespace, or answers 400 with file:line and changes nothing."""

from __future__ import annotations

import json
import re

import pytest

from tests.control.conftest import MANUAL_START_EPOCH, error_body, scenario

GOOD_RUN = """\
    - suite: s
      models: [gpt-4o-mini]
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line containing `needle`."""
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def post(client, text: str, namespace: str = "test-token", content_type: str = "application/yaml"):
    return client.post("/_emulator/scenarios", content=text.encode(),
                       headers={"X-Emulator-Namespace": namespace, "content-type": content_type})


def test_a_yaml_scenario_loads_into_the_requests_namespace(client, mka1, ctl):
    text = scenario(GOOD_RUN + GOOD_RUN, "  - {id: slow, vendor: mka1, operation: getEvalSuite, latency: 1ms}\n")
    text = "namespace: somewhere-else\n" + text  # a served file's namespace; a POST loads where it is sent
    res = post(client, text)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["namespace"] == "test-token"
    assert body["clock"] == {"namespace": "test-token", "mode": "manual", "now": MANUAL_START_EPOCH,
                             "iso": "2026-05-01T00:00:00Z"}
    assert [f["id"] for f in body["faults"]] == ["slow"]
    runs = mka1.list_runs().data
    assert len(runs) == 2 and {r.models[0] for r in runs} == {"gpt-4o-mini"}
    assert [s.name for s in mka1.list_suites().data] == ["Support"]
    assert post(client, "seed: 1\n", "somewhere-else").status_code == 200  # the named one was never touched...
    assert client.get("/_emulator/faults", headers={"X-Emulator-Namespace": "somewhere-else"}).json() == \
        {"faults": []}


def test_a_json_scenario_loads_too(client, mka1, ctl):
    data = {"seed": 9, "clock": {"mode": "manual", "start": "2026-07-01T12:00:00Z"},
            "mka1": {"suites": [{"ref": "s", "name": "From JSON",
                                 "manifest": {"tasks": [{"id": "t", "type": "qa", "dataset": {"file_id": "f"}}]}}]},
            "faults": [{"vendor": "mka1", "operation": "listEvalRuns", "error": "rate_limit_error"}]}
    res = post(client, json.dumps(data), content_type="application/json")
    assert res.status_code == 200, res.text
    assert res.json()["clock"]["iso"] == "2026-07-01T12:00:00Z"
    assert [s.name for s in mka1.list_suites().data] == ["From JSON"]
    assert ctl.faults()[0]["error"] == "rate_limit_error"


def test_a_json_mistake_yaml_cannot_read_is_reported_without_a_line(client):
    """Found by fuzzing the control API's OpenAPI document: JSON with an escaped surrogate pair is valid JSON but
    not YAML, so the line numbers (from YAML nodes) of its mistake are missing, not a crash (it was a 500)."""
    res = post(client, '{"\\ud800\\udc00": null}', content_type="application/json")
    assert res.status_code == 400, res.text
    assert "unknown section" in error_body(res)["message"]


def test_loading_replaces_what_the_namespace_held(client, mka1, suite, ctl):
    ctl.add_fault(vendor="mka1", error="api_error", operation="deleteEvalSuite")
    assert post(client, scenario()).status_code == 200
    assert [s.name for s in mka1.list_suites().data] == ["Support"]  # the fixture's suite is gone
    assert ctl.faults() == []


def test_a_clock_start_without_an_offset_is_utc(client, ctl):
    assert post(client, "clock: {mode: manual, start: '2026-05-01T00:00:00'}\n").status_code == 200
    assert ctl.now() == MANUAL_START_EPOCH


BAD = {
    # name: (text, the substring of the line the error must point at, words in the message)
    "typo at top level": (scenario(GOOD_RUN).replace("seed: 5", "sede: 5"), "sede: 5", ["sede"]),
    "typo in a vendor section": (scenario(GOOD_RUN).replace("      models:", "      modles:"), "modles:",
                                 ["modles"]),
    "wrong type at top level": (scenario().replace("seed: 5", "seed: five"), "seed: five", ["seed"]),
    "wrong type in a vendor section": (scenario(GOOD_RUN + "      age_seconds: yesterday\n"), "age_seconds",
                                       ["age_seconds"]),
    "unknown section": (scenario() + "openai:\n  models: []\n", "openai:", ["openai", "mka1"]),
    "wrong clock mode": (scenario().replace("mode: manual", "mode: turbo"), "mode: turbo", ["clock"]),
    "forbidden timeline transition": (scenario(GOOD_RUN + """\
      timeline:
        - after_polls: 1
          status: in_progress
        - at: 30s
          status: completed
        - after_polls: 2
          status: in_progress
"""), "- after_polls: 2", ["cannot move", "'completed'", "'in_progress'"]),
    "a step the lifecycle does not know": (scenario(GOOD_RUN + """\
      timeline:
        - after_polls: 1
          status: exploded
"""), "- after_polls: 1", ["exploded"]),
    "a step without a trigger": (scenario(GOOD_RUN + """\
      timeline:
        - status: in_progress
"""), "- status: in_progress", ["trigger"]),
    "a step going back in time": (scenario(GOOD_RUN + """\
      timeline:
        - at: 60s
          status: in_progress
        - at: 30s
          status: failed
"""), "- at: 30s", ["before"]),
    "unknown fault error code": (scenario(faults="""\
  - vendor: mka1
    operation: getEvalRun
    nth: [1]
    error: InternalError
"""), "error: InternalError", ["InternalError", "mka1"]),
    "unknown fault vendor": (scenario(faults="""\
  - operation: getEvalRun
    vendor: openai
    error: internal
"""), "vendor: openai", ["openai"]),
    "a fault with two outcomes": (scenario(faults="""\
  - vendor: mka1
    error: api_error
    status: 503
"""), "- vendor: mka1", ["one outcome"]),
    "a typo in a fault": (scenario(faults="""\
  - vendor: mka1
    eror: api_error
"""), "eror:", ["eror"]),
    "a fault id used twice": (scenario(faults="""\
  - {id: flaky, vendor: mka1, error: api_error}
  - id: flaky
    vendor: mka1
    error: rate_limit_error
"""), "- id: flaky", ["flaky"]),
    "a run naming no suite": (scenario("    - suite: nope\n      models: [m]\n"), "suite: nope", ["nope"]),
    "not YAML": (scenario() + "broken: [unclosed\n", "broken:", ["YAML"]),
    "not a mapping": ("- 1\n- 2\n", "- 1", ["mapping"]),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_scenario_answers_400_with_its_line_and_changes_nothing(client, mka1, suite, ctl, name):
    text, needle, words = BAD[name]
    ctl.advance(42)
    ctl.add_fault(id="kept", vendor="mka1", operation="deleteEvalSuite", error="api_error")
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    before = (ctl.clock(), ctl.faults(), mka1.get_run(run_id=run.id).model_dump())

    res = post(client, text)
    assert res.status_code == 400, res.text
    err = error_body(res)
    assert err["type"] == "invalid_request"
    expected = line_of(text, needle) if name != "not YAML" else None
    found = re.match(r"body:(\d+): ", err["message"])
    assert found, err["message"]
    if expected is not None:
        assert int(found.group(1)) == expected, (err["message"], expected)
    else:
        assert int(found.group(1)) >= line_of(text, needle)
    for word in words:
        assert word.lower() in err["message"].lower(), (word, err["message"])

    after = (ctl.clock(), ctl.faults(), mka1.get_run(run_id=run.id).model_dump())
    assert after == before
    assert [s.id for s in mka1.list_suites().data] == [suite.id]


def test_yaml_is_loaded_safely(client, ctl):
    res = post(client, "seed: !!python/object/apply:os.getpid []\n")
    assert res.status_code == 400
    assert error_body(res)["message"].startswith("body:1: ")
    assert ctl.faults() == []


def test_the_control_client_loads_text_files_and_dicts(client, tmp_path, mka1, ctl):
    path = tmp_path / "world.yaml"
    path.write_text(scenario(GOOD_RUN))
    assert ctl.load_scenario(path)["namespace"] == "test-token"
    assert len(mka1.list_runs().data) == 1
    ctl.load_scenario(str(path))
    assert len(mka1.list_runs().data) == 1  # replaced, not added
    ctl.load_scenario({"seed": 1})
    assert mka1.list_runs().data == []

    from emulator.control.client import EmulatorError

    with pytest.raises(EmulatorError) as excinfo:
        ctl.load_scenario(scenario().replace("seed: 5", "seed: [5]"))
    assert excinfo.value.status == 400 and excinfo.value.message.startswith("body:1: seed:")


def test_a_named_fault_may_not_take_a_made_up_id(client, ctl):
    text = scenario(faults="""\
  - {id: fault_2, vendor: mka1, error: api_error}
  - {vendor: mka1, error: rate_limit_error}
""")
    res = post(client, text)
    assert res.status_code == 400, res.text
    assert error_body(res)["message"].startswith(f"body:{line_of(text, 'rate_limit_error')}: faults.1")
    assert ctl.faults() == []


def test_an_empty_scenario_is_refused_and_changes_nothing(client, mka1, suite):
    for body in ("", "   \n"):
        res = client.post("/_emulator/scenarios", content=body, headers={"Authorization": "Bearer test-token"})
        assert res.status_code == 400 and "empty scenario" in res.json()["error"]["message"]
    assert [s.id for s in mka1.list_suites().data] == [suite.id]
