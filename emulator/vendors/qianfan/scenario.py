"""The `qianfan:` section of a scenario file: credentials and evaluation tasks, written with the v2 API's names.

    qianfan:
      credentials:                       # pairs the SDK can sign with in this namespace (emulator-ak is built in)
        - {accessKey: qianfan-demo, secretKey: qianfan-demo-sk}
      tasks:
        - generate: 249                  # N plausible automatic tasks, one every interval_seconds
          age_seconds: 86400             # the newest of them was created this long before loading
        - taskName: Customer-service answers, human review
          evalConfig: {evalMode: manual} # any CreateEvalTask field; the missing ones are filled from the seed
          age_seconds: 600
          fail_after_seconds: 30         # optional: fails this long after it starts running

The namespace of an SDK request is its access key, so load the section into `namespace: <accessKey>` for an
SDK to see it. Tasks are created oldest first, so list order and createTime agree.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from emulator.core.durations import MAX_SECONDS, Seconds
from emulator.core.fake import faker_for
from emulator.core.namespace import Namespace
from emulator.core.scenario import ScenarioError
from emulator.core.timeline import StepSpec, TimelineError, build
from emulator.core.validation import describe
from emulator.vendors.qianfan import auth, catalog, service, wire
from emulator.vendors.qianfan.records import TASK_LIFECYCLE

AUTO_MODES = ("rule", "model", "rule,model")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # validators built on first use


class Credential(Strict):
    accessKey: str = Field(min_length=1, pattern=r"^[^/\s]+$")
    secretKey: str = Field(min_length=1)


class Placement(Strict):
    age_seconds: Seconds = Field(0, description="created this long before the scenario loads")
    fail_after_seconds: Optional[Seconds] = Field(None, description="fails this long after it starts running")


class ScenarioTask(Placement):
    timeline: Optional[list[StepSpec]] = Field(None, description="scripted steps setting `state` (v2 names)")
    taskName: Optional[str] = None
    description: Optional[str] = None
    evalObjectType: Optional[str] = None
    evalObjectConfig: Optional[dict[str, Any]] = None
    evalConfig: Optional[dict[str, Any]] = None


class GeneratedTasks(Placement):
    generate: int = Field(ge=1, le=100_000, description="how many plausible tasks to create")
    evalMode: Optional[str] = Field(None, description="one mode for all; default: a seeded mix of automatic modes")
    interval_seconds: Seconds = Field(60, description="time between two generated tasks")

    @model_validator(mode="after")
    def _within_range(self) -> "GeneratedTasks":
        oldest = self.age_seconds + self.interval_seconds * (self.generate - 1)
        if oldest > MAX_SECONDS:
            raise ValueError(f"the oldest generated task would be {oldest:.0f} s old; age_seconds + "
                             f"interval_seconds * (generate - 1) is at most {MAX_SECONDS:.0f}")
        return self


# A task entry is generated tasks when it has `generate`, else one task: mistakes are reported against that
# shape only (not against both, which would call a too-large `generate` an unknown key).
TaskEntry = Annotated[
    Union[Annotated[GeneratedTasks, Tag("~generated")], Annotated[ScenarioTask, Tag("~task")]],
    Discriminator(lambda value: "~generated" if isinstance(value, dict) and "generate" in value
                  or isinstance(value, GeneratedTasks) else "~task"),
]


class Section(Strict):
    credentials: list[Credential] = Field(default_factory=list)
    tasks: list[TaskEntry] = Field(default_factory=list)


def _filled(ns: Namespace, spec: dict[str, Any], key: object) -> dict[str, Any]:
    """A CreateEvalTask body: the spec's fields, the missing ones drawn from the seed."""
    fake = faker_for(ns.seed, "qianfan-task", key)
    versions = [v for m in catalog.models(ns.seed) for v in m.versions]
    mode = (spec.get("evalConfig") or {}).get("evalMode") or AUTO_MODES[fake.random_int(0, len(AUTO_MODES) - 1)]
    eval_config = spec.get("evalConfig") or {"evalMode": mode}
    if "model" in str(mode).split(",") and "autoModelEvalConfig" not in eval_config:
        eval_config = {**eval_config, "autoModelEvalConfig": {"apiName": "ERNIE-4.0-8K"}}
    picked = fake.random_elements(versions, length=fake.random_int(1, 2), unique=True)
    return {
        "taskName": spec.get("taskName") or f"{fake.word()}-{fake.word()}-eval-{fake.random_int(1, 999)}",
        "description": spec.get("description") if spec.get("description") is not None else fake.sentence(nb_words=6),
        "evalObjectType": spec.get("evalObjectType") or "model",
        "evalObjectConfig": spec.get("evalObjectConfig") or {"evalModelConfig": {
            "versionId": f"ds-{fake.lexify('????????????', letters='abcdefghijklmnopqrstuvwxyz0123456789')}",
            "evalModelConfigList": [{"modelId": v.id, "promptTemplate": "{input}"} for v in picked]}},
        "evalConfig": eval_config,
    }


# Words a generated task's name and description are made of (plain, like the console's own examples).
WORDS = ("answer", "support", "billing", "refund", "travel", "weather", "legal", "medical", "retail", "summary",
         "translate", "classify", "extract", "review", "chat", "search", "faq", "policy", "order", "account",
         "product", "quality", "safety", "intent", "tone", "facts", "code", "math", "reading", "writing", "news",
         "finance")


def _generated(ns: Namespace, mode: Optional[str], key: tuple, versions: list) -> dict[str, Any]:
    """A generated task's CreateEvalTask body from one digest of (seed, key): what _filled draws with Faker, at a
    hundredth of the cost (100,000 tasks load in seconds, not minutes)."""
    d = hashlib.blake2b("\x1f".join(map(str, (ns.seed, "qianfan-generated", *key))).encode(), digest_size=32).digest()
    mode = mode or AUTO_MODES[d[0] % len(AUTO_MODES)]
    eval_config: dict[str, Any] = {"evalMode": mode}
    if "model" in mode.split(","):
        eval_config["autoModelEvalConfig"] = {"apiName": "ERNIE-4.0-8K"}
    first = d[1] % len(versions)
    picked = [versions[first]] if d[2] % 2 or len(versions) < 2 else [versions[first],
                                                                      versions[(first + 1 + d[3] % (len(versions) - 1))
                                                                               % len(versions)]]
    words = [WORDS[b % len(WORDS)] for b in d[4:10]]
    return {
        "taskName": f"{words[0]}-{words[1]}-eval-{1 + int.from_bytes(d[10:12], 'big') % 999}",
        "description": " ".join(words).capitalize() + ".",
        "evalObjectType": "model",
        "evalObjectConfig": {"evalModelConfig": {
            "versionId": "ds-" + "".join(service.ALPHANUMERIC[b % len(service.ALPHANUMERIC)] for b in d[12:24]),
            "evalModelConfigList": [{"modelId": v.id, "promptTemplate": "{input}"} for v in picked]}},
        "evalConfig": eval_config,
    }


def load(ns: Namespace, raw: Any) -> None:
    section = Section.model_validate(raw or {})
    ns.extras.setdefault(auth.CREDENTIALS_KEY, {}).update({c.accessKey: c.secretKey for c in section.credentials})
    now = ns.now()
    planned: list[tuple[float, tuple, wire.CreateEvalTask, Optional[float], Optional[list[StepSpec]]]] = []
    for number, spec in enumerate(section.tasks):
        where = ("tasks", number)
        steps = None if isinstance(spec, GeneratedTasks) else spec.timeline
        if isinstance(spec, GeneratedTasks):
            versions = [v for m in catalog.models(ns.seed) for v in m.versions]
            bodies = [(spec.age_seconds + spec.interval_seconds * (spec.generate - 1 - i),
                       _generated(ns, spec.evalMode, (number, i), versions))
                      for i in range(spec.generate)]
        else:
            bodies = [(spec.age_seconds, _filled(ns, spec.model_dump(exclude_none=True, exclude={"timeline"}),
                                                 number))]
        for i, (age, body) in enumerate(bodies):
            try:
                parsed = wire.CreateEvalTask.model_validate(body)
            except ValidationError as exc:
                raise ScenarioError(describe(exc, "task"), where) from None
            planned.append((now - age, where, parsed, spec.fail_after_seconds, steps))
    planned.sort(key=lambda p: p[0])  # oldest first: list order and createTime agree
    for created_at, where, body, fail_after, steps in planned:
        task = service.create_v2(ns, body, created_at=created_at, hold=fail_after is not None or bool(steps))
        if steps:
            try:
                task.timeline = build(steps, TASK_LIFECYCLE, task.status, origin=now, status_field="state")
            except TimelineError as exc:
                raise ScenarioError(str(exc), (*where, "timeline", exc.step)) from None
        if fail_after is not None:
            assert TASK_LIFECYCLE.can_move("Running", "Failed")
            task.detours["Running"] = "Failed"
            task.durations["Running"] = fail_after
        service.catch_up(ns, task)
