"""The `mka1:` section of a scenario file: suites and runs written with the API's own field names.

    mka1:
      suites:
        - ref: support            # a local name that runs refer to
          name: Support answers
          manifest: {tasks: [{id: faq, type: qa, dataset: {file_id: file_faq}}]}
      runs:
        - suite: support
          models: [gpt-4o-mini]
          age_seconds: 600        # created this long before the scenario loads (so already completed)
          fail_after_seconds: 5   # optional: fails this long after it starts (the vendor's scripted failure)
        - suite: support
          models: [gpt-4o-mini]
          generate: 500           # optional: this many runs like this one
        - suite: support
          models: [gpt-4o-mini]
          timeline:               # optional: scripted steps instead of the default progression
            - after_polls: 3      # queued for the first three GETs
              status: in_progress
            - at: 60s             # a minute after loading
              status: failed
              error: {code: worker_lost, message: the eval worker went away}
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emulator.core.durations import Seconds
from emulator.core.errors import ApiError
from emulator.core.namespace import Namespace
from emulator.core.scenario import ScenarioError
from emulator.core.timeline import StepSpec, TimelineError, build
from emulator.vendors.mka1 import service, wire
from emulator.vendors.mka1.records import RUN_LIFECYCLE
from emulator.vendors.mka1.service import Caller


class ScenarioSuite(wire.CreateSuite):
    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=1)


class ScenarioRun(wire.RunKnobs):
    model_config = ConfigDict(extra="forbid")
    suite: str = Field(min_length=1, description="the `ref` of a suite in this scenario")
    models: list[str] = Field(min_length=1, max_length=20)
    metadata: dict[str, str] = Field(default_factory=dict)
    age_seconds: Seconds = Field(0)
    fail_after_seconds: Optional[Seconds] = Field(None)
    generate: Optional[int] = Field(None, ge=1, le=100_000, description="make this many runs like this one")
    timeline: Optional[list[StepSpec]] = Field(None, description="scripted steps: status and error")


class RunError(BaseModel):
    """The `error` a timeline step may set on a run, as the SDK reads it."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1)
    message: str = Field(min_length=1)

    @classmethod
    def is_valid(cls, value: Any) -> bool:
        try:
            cls.model_validate(value)
        except ValidationError:
            return False
        return True


class Section(wire.Wire):
    model_config = ConfigDict(extra="forbid")
    suites: list[ScenarioSuite] = Field(default_factory=list)
    runs: list[ScenarioRun] = Field(default_factory=list)


def load(ns: Namespace, raw: Any) -> None:
    section = Section.model_validate(raw or {})
    c = Caller(ns=ns, token="scenario", on_behalf_of=None)
    refs: dict[str, str] = {}
    for number, spec in enumerate(section.suites):
        if spec.ref in refs:
            raise ScenarioError(f"ref {spec.ref!r} is used twice", ("suites", number, "ref"))
        refs[spec.ref] = service.create_suite(c, spec).id
    for number, spec in enumerate(section.runs):
        if spec.suite not in refs:
            raise ScenarioError(f"no suite with ref {spec.suite!r}", ("runs", number, "suite"))
        suite = service.get_suite(c, refs[spec.suite])
        version = suite.version(suite.active_version)
        try:
            tasks = service.task_specs(version, spec.task_ids)
        except ApiError as exc:
            raise ScenarioError(exc.message, ("runs", number)) from None
        if spec.timeline:
            for step_number, step in enumerate(spec.timeline):
                error = (step.model_extra or {}).get("error")
                if error is not None and not RunError.is_valid(error):
                    raise ScenarioError("a run's error is {code: ..., message: ...} (two strings)",
                                        ("runs", number, "timeline", step_number, "error"))
        for _ in range(spec.generate or 1):
            run = service.build_run(c, suite, version, models=spec.models, task_ids=spec.task_ids, knobs=spec,
                                    metadata=spec.metadata, created_at=c.now - spec.age_seconds, hold=True,
                                    tasks=tasks)
            if spec.timeline:
                try:
                    run.timeline = build(spec.timeline, RUN_LIFECYCLE, run.status, origin=c.now)
                except TimelineError as exc:
                    raise ScenarioError(str(exc), ("runs", number, "timeline", exc.step)) from None
            if spec.fail_after_seconds is not None:
                run.detours["in_progress"] = "failed"
                run.durations["in_progress"] = spec.fail_after_seconds
            service.sync(c, run)
