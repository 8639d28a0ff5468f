"""Schemathesis fuzzes each generated OpenAPI document (every vendor's and the control API's) against the app in
process: no answer is a 5xx, and every answer is one the document declares (status, content type, body schema).

Each request runs in a namespace of its own, dropped after the answer, seeded from a snapshot of a small scenario
so that reads can succeed: path parameters (and Qianfan's task ids in bodies) are drawn from the seeded ids as
well as from the schema. The credential is added as the request is sent: a bearer token, or for Qianfan a real
bce-auth-v1 signature of the request as it goes out, made by the SDK's own signer (baidubce).
"""

from __future__ import annotations

import copy
import itertools
import os
import time
from pathlib import Path
from urllib.parse import parse_qsl

import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core import scenario as scenarios
from emulator.core import snapshot
from emulator.core.namespace import Settings
from emulator.vendors.mistral.fields import FIELDS

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCENARIOS = Path(__file__).parents[2] / "scenarios"
QIANFAN_SEED = """
seed: 7
qianfan:
  tasks:
    - {taskName: finished, evalConfig: {evalMode: rule}, age_seconds: 3600}
    - {taskName: running, evalConfig: {evalMode: rule}, age_seconds: 20}
    - {taskName: reviewed, evalConfig: {evalMode: "rule,manual"}, age_seconds: 600}
"""
# Which seeded collection a path parameter names (anything else is drawn from the schema only).
SEEDED = {
    "run_id": "mka1.runs", "suite_id": "mka1.suites", "schedule_id": "mka1.schedules",
    "event_id": "mistral.events", "judge_id": "mistral.judges", "campaign_id": "mistral.campaigns",
    "dataset_id": "mistral.datasets", "record_id": "mistral.dataset_records", "task_id": "mistral.import_tasks",
    "test_case_uuid": "digitalocean.test_cases", "evaluation_test_case_uuid": "digitalocean.test_cases",
    "evaluation_run_uuid": "digitalocean.runs", "dataset_uuid": "digitalocean.datasets",
    "taskId": "qianfan.tasks", "id": "qianfan.tasks",
}
CONSTANTS = {"version": ["1", "2"], "sample_index": ["0", "1"], "prompt_id": ["1", "2"],
             "field_name": [f.name for f in FIELDS[:5]]}
COUNTER = itertools.count()
# A few examples per operation keep `make test` quick; EMULATOR_FUZZ_EXAMPLES=100 digs deeper (and adds the
# coverage phase everywhere).
EXAMPLES = int(os.environ.get("EMULATOR_FUZZ_EXAMPLES", "10"))
DEEP = EXAMPLES > 10

APP = build_app(Settings(clock_mode="manual"))


def seed(name: str, text: str) -> dict:
    """A snapshot of a namespace loaded with `text`."""
    scenarios.apply(APP.state.world, scenarios.parse_scenario(text, name), APP.state.vendors, namespace=name)
    return snapshot.export_namespace(APP.state.world.get(name))


SEEDS = {
    "mka1": seed("seed-mka1", (SCENARIOS / "mka1.yaml").read_text()),
    "qianfan": seed("seed-qianfan", QIANFAN_SEED),
    "mistral": seed("seed-mistral", (SCENARIOS / "mistral.yaml").read_text()),
    "digitalocean": seed("seed-digitalocean", (SCENARIOS / "digitalocean.yaml").read_text()),
}
IDS = dict(CONSTANTS)
for _name in SEEDS:
    _store = APP.state.world.get(f"seed-{_name}").store
    for param, collection in SEEDED.items():
        IDS.setdefault(param, []).extend(ident for ident, *_ in _store.collection(collection).entries())


class Fresh:
    """ASGI wrapper: each request in a namespace of its own (dropped after the answer), restored from the
    vendor's seed, with the vendor's credential."""

    def __init__(self, app, credential, seeded: dict | None):
        self.app, self.credential, self.seeded = app, credential, seeded

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        name = f"fuzz-{next(COUNTER)}"
        if self.seeded is not None:
            snapshot.import_namespace(self.app.state.world, name, self.seeded)
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"authorization", b"x-emulator-namespace")]
        headers.append((b"x-emulator-namespace", name.encode()))
        headers += self.credential(scope, headers)
        try:
            await self.app(dict(scope, headers=headers), receive, send)
        finally:
            self.app.state.world.reset(name)


def bearer(scope, headers):
    return [(b"authorization", b"Bearer fuzz")]


def no_credential(scope, headers):
    return []


def bce_signature(scope, headers):
    """bce-auth-v1 over the request as sent (method, path, query, host), by qianfan's signer."""
    from baidubce.auth.bce_credentials import BceCredentials
    from baidubce.auth.bce_v1_signer import sign
    from baidubce.utils import get_canonical_time

    now = time.time()
    date = (b"x-bce-date", get_canonical_time(now))
    params = {k.encode(): v for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)}
    auth = sign(BceCredentials("emulator-ak", "emulator-sk"), scope["method"].encode(), scope["path"].encode(),
                dict(headers + [date]), params, timestamp=now, expiration_in_seconds=300,
                headers_to_sign={b"host", b"x-bce-date"})
    return [date, (b"authorization", auth)]


def with_seeded_ids(values: dict) -> st.SearchStrategy:
    """The drawn values, or the same with every id-like one replaced by a seeded id."""
    known = {k: st.sampled_from(IDS[k]) for k in values or () if IDS.get(k)}
    if not known:
        return st.just(values)
    return st.one_of(st.just(values), st.fixed_dictionaries({**{k: st.just(v) for k, v in values.items()}, **known}))


def configured(schema, credential, seeded):
    """The schema's requests sent through Fresh, its path parameters and bodies drawing seeded ids too."""
    schema.app = Fresh(APP, credential, seeded)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        return with_seeded_ids(path_parameters) if isinstance(path_parameters, dict) else st.just(path_parameters)

    @schema.hook
    def flatmap_body(context, body):
        return with_seeded_ids(body) if isinstance(body, dict) else st.just(body)

    return schema


def config(max_examples: int = EXAMPLES, coverage: bool = DEEP) -> schemathesis.Config:
    # No health checks: a slow draw on a busy CI machine is not a failure of the emulator.
    return schemathesis.Config.from_dict({"generation": {"max-examples": max_examples, "database": "none"},
                                          "phases": {"coverage": {"enabled": coverage}},
                                          "suppress-health-check": ["all"]})


def load(name: str, credential, **settings):
    """The document as the app serves it."""
    schema = schemathesis.openapi.from_asgi(f"/_emulator/openapi/{name}.json", APP, config=config(**settings))
    return configured(schema, credential, SEEDS.get(name))


def by_action(name: str, path: str, query: str, credential) -> dict[str, schemathesis.BaseSchema]:
    """One schema per Action of an operation chosen by a query value, narrowed by the document's x-actions map:
    in the whole document an Action is drawn apart from its body (anyOf every Action's), which mostly answers
    400, so each Action's own body is drawn here too."""
    doc = TestClient(APP).get(f"/_emulator/openapi/{name}.json").json()
    op = doc["paths"][path]["post"]
    schemas = {}
    for action, own in op["x-actions"].items():
        narrowed = copy.deepcopy(doc)
        narrowed["paths"] = {path: {"post": {
            **op, "operationId": own["operationId"], "requestBody": own["requestBody"],
            "responses": {**op["responses"], **own["responses"]},
            "parameters": [p if p["in"] != "query" or p["name"] != query else
                           {**p, "schema": {"type": "string", "enum": [action]}} for p in op["parameters"]]}}}
        del narrowed["paths"][path]["post"]["x-actions"]
        schema = schemathesis.openapi.from_dict(narrowed, config=config(coverage=True))
        schemas[action] = configured(schema, credential, SEEDS.get(name))
    return schemas


def fuzz(schema, name: str):
    """A pytest test of every operation of `schema`, called `name`."""
    def test(case):
        case.call_and_validate(checks=CHECKS)
    test.__name__ = test.__qualname__ = name
    return schema.parametrize()(test)


test_mka1 = fuzz(load("mka1", bearer), "test_mka1")
test_qianfan = fuzz(load("qianfan", bce_signature), "test_qianfan")
for _action, _schema in by_action("qianfan", "/v2/eval", "Action", bce_signature).items():
    globals()[f"test_qianfan_{_action}"] = fuzz(_schema, f"test_qianfan_{_action}")
test_mistral = fuzz(load("mistral", bearer), "test_mistral")
test_digitalocean = fuzz(load("digitalocean", bearer), "test_digitalocean")
test_control = fuzz(load("control", no_credential), "test_control")
