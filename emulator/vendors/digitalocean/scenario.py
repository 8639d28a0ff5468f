"""The `digitalocean:` section of a scenario file, written with the API's own field names.

    digitalocean:
      datasets:
        - ref: faq                      # a local name test cases refer to
          name: Support FAQ
          rows:                         # optional; else rows are made up from the seed (`row_count`, default 5)
            - {query: "How do I resize a droplet?", ground_truth: "Open its settings and pick a size."}
        - generate: 2                   # two more plausible datasets
      test_cases:
        - ref: support
          name: Support answers
          dataset: faq                  # a dataset ref (or dataset_uuid: an id)
          metrics: [Correctness (general hallucinations), Tone]   # metric names or uuids
          star_metric: {metric: Correctness (general hallucinations), success_threshold_pct: 75}
          agent_workspace_name: support-workspace
          updates:                      # each one a PUT: version 2, 3, ...
            - {description: "now also judges tone", metrics: [Tone, Instruction adherence]}
      runs:
        - test_case: support
          agent_deployment_names: [support-agent]
          age_seconds: 600              # started this long before the scenario loads (so finished by now)
          outcome: EVALUATION_RUN_FAILED   # optional: the vendor's scripted end state
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from emulator.core.durations import Seconds
from emulator.core.errors import ApiError
from emulator.core.namespace import Namespace
from emulator.core.scenario import ScenarioError
from emulator.core.timeline import StepSpec, TimelineError, build
from emulator.vendors.digitalocean import results as gen
from emulator.vendors.digitalocean import service, wire
from emulator.vendors.digitalocean.records import AGENT_METRICS, RUN_LIFECYCLE, Dataset
from emulator.vendors.digitalocean.service import Caller


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # validators built on first use


class Row(Strict):
    query: str = Field(min_length=1)
    ground_truth: Optional[str] = None


class ScenarioDataset(Strict):
    ref: Optional[str] = None
    name: Optional[str] = None
    dataset_type: Literal[wire.DATASET_TYPES] = "EVALUATION_DATASET_TYPE_UNKNOWN"  # type: ignore[valid-type]
    dataset_paradigm: Literal[wire.DATASET_PARADIGMS] = "EVALUATION_DATASET_PARADIGM_SINGLE_TURN"  # type: ignore
    rows: Optional[list[Row]] = Field(None, min_length=1, max_length=service.MAX_ROWS)
    row_count: int = Field(5, ge=1, le=service.MAX_ROWS)


class Generate(Strict):
    generate: int = Field(ge=1, le=1000)


class Star(Strict):
    metric: Optional[str] = None
    success_threshold_pct: Optional[int] = Field(None, ge=0, le=100)
    success_threshold: Optional[float] = None


class Update(Strict):
    name: Optional[str] = None
    description: Optional[str] = None
    dataset: Optional[str] = None
    metrics: Optional[list[str]] = None
    star_metric: Optional[Star] = None


class ScenarioTestCase(Strict):
    ref: Optional[str] = None
    name: Optional[str] = None
    description: str = ""
    dataset: Optional[str] = None
    dataset_uuid: Optional[str] = None
    metrics: list[str] = Field(default_factory=lambda: [AGENT_METRICS[0].metric_name, AGENT_METRICS[1].metric_name])
    star_metric: Optional[Star] = None
    workspace_uuid: Optional[str] = None
    agent_workspace_name: Optional[str] = None
    updates: list[Update] = Field(default_factory=list)


class ScenarioRun(Strict):
    test_case: str = Field(min_length=1, description="the `ref` of a test case in this scenario")
    run_name: Optional[str] = None
    agent_uuids: list[str] = Field(default_factory=list)
    agent_deployment_names: list[str] = Field(default_factory=list)
    age_seconds: Seconds = Field(0)
    outcome: Optional[Literal["EVALUATION_RUN_SUCCESSFUL", "EVALUATION_RUN_PARTIALLY_SUCCESSFUL",
                              "EVALUATION_RUN_FAILED"]] = None
    generate: int = Field(1, ge=1, le=1000)
    timeline: Optional[list[StepSpec]] = Field(None, description="scripted steps: status, error_description")


class Section(Strict):
    datasets: list[Union[Generate, ScenarioDataset]] = Field(default_factory=list)
    test_cases: list[Union[Generate, ScenarioTestCase]] = Field(default_factory=list)
    runs: list[ScenarioRun] = Field(default_factory=list)


METRIC_BY_NAME = {m.metric_name.lower(): m.metric_uuid for m in AGENT_METRICS}


def _metric(name: str, where: tuple) -> str:
    found = METRIC_BY_NAME.get(name.lower()) or (name if name in {m.metric_uuid for m in AGENT_METRICS} else None)
    if found is None:
        known = ", ".join(m.metric_name for m in AGENT_METRICS)
        raise ScenarioError(f"no agent metric {name!r} (known: {known})", where)
    return found


def _star(star: Star | None, where: tuple) -> wire.StarMetric | None:
    if star is None:
        return None
    return wire.StarMetric(metric_uuid=_metric(star.metric, (*where, "star_metric", "metric")) if star.metric else None,
                           success_threshold_pct=star.success_threshold_pct, success_threshold=star.success_threshold)


def _dataset(c: Caller, spec: ScenarioDataset, number: int) -> Dataset:
    key = f"scenario/{spec.ref or number}.csv"
    rows = ([r.model_dump(exclude_none=True) for r in spec.rows] if spec.rows
            else gen.generated_rows(c.ns.seed, key, spec.row_count))
    made = Dataset(dataset_uuid=c.new_uuid(), dataset_name=spec.name or f"support-questions-{number + 1}.csv",
                   dataset_type=spec.dataset_type, dataset_paradigm=spec.dataset_paradigm,
                   file_size=0, original_file_name=key.rsplit("/", 1)[-1], stored_object_key=key, rows=rows,
                   created_at=c.now)
    made.file_size = len(service.dataset_csv(made).encode())
    return service.datasets(c.ns).add(made.dataset_uuid, made)


def load(ns: Namespace, raw: Any) -> None:
    section = Section.model_validate(raw or {})
    c = Caller(ns=ns, token="scenario")
    datasets: dict[str, str] = {}
    cases: dict[str, str] = {}
    all_datasets: list[str] = []
    for number, spec in enumerate(section.datasets):
        for spec_one in ([ScenarioDataset()] * spec.generate if isinstance(spec, Generate) else [spec]):
            made = _dataset(c, spec_one, len(all_datasets))
            all_datasets.append(made.dataset_uuid)
            if spec_one.ref:
                if spec_one.ref in datasets:
                    raise ScenarioError(f"ref {spec_one.ref!r} is used twice", ("datasets", number, "ref"))
                datasets[spec_one.ref] = made.dataset_uuid
    for number, spec in enumerate(section.test_cases):
        where = ("test_cases", number)
        specs = [ScenarioTestCase(name=f"Regression suite {i + 1}", agent_workspace_name="default-workspace")
                 for i in range(spec.generate)] if isinstance(spec, Generate) else [spec]
        for one in specs:
            try:
                case = _test_case(c, one, datasets, all_datasets, where)
            except ApiError as exc:
                raise ScenarioError(exc.message, where) from None
            if one.ref:
                if one.ref in cases:
                    raise ScenarioError(f"ref {one.ref!r} is used twice", (*where, "ref"))
                cases[one.ref] = case.test_case_uuid
    for number, spec in enumerate(section.runs):
        where = ("runs", number)
        if spec.test_case not in cases:
            raise ScenarioError(f"no test case with ref {spec.test_case!r}", (*where, "test_case"))
        agents = spec.agent_uuids or ([] if spec.agent_deployment_names else [c.new_uuid()])
        body = wire.RunTestCase(test_case_uuid=cases[spec.test_case], run_name=spec.run_name, agent_uuids=agents,
                                agent_deployment_names=spec.agent_deployment_names)
        for _ in range(spec.generate):
            try:
                started = service.start_runs(c, body, created_at=c.now - spec.age_seconds, outcome=spec.outcome)
            except ApiError as exc:
                raise ScenarioError(exc.message, where) from None
            for run in started if spec.timeline else ():
                try:
                    run.timeline = build(spec.timeline, RUN_LIFECYCLE, run.status, origin=c.now)
                except TimelineError as exc:
                    raise ScenarioError(str(exc), (*where, "timeline", exc.step)) from None


def _test_case(c: Caller, spec: ScenarioTestCase, datasets: dict[str, str], all_datasets: list[str], where: tuple):
    def dataset_of(ref: str | None, uuid: str | None) -> str | None:
        if ref is not None:
            if ref not in datasets:
                raise ScenarioError(f"no dataset with ref {ref!r}", (*where, "dataset"))
            return datasets[ref]
        return uuid

    dataset_uuid = dataset_of(spec.dataset, spec.dataset_uuid)
    if dataset_uuid is None:
        if not all_datasets:
            all_datasets.append(_dataset(c, ScenarioDataset(), 0).dataset_uuid)
        dataset_uuid = all_datasets[0]
    body = wire.CreateTestCase(
        name=spec.name or "Support answers", description=spec.description, dataset_uuid=dataset_uuid,
        metrics=[_metric(m, (*where, "metrics", i)) for i, m in enumerate(spec.metrics)],
        star_metric=_star(spec.star_metric, where),
        workspace_uuid=spec.workspace_uuid,
        agent_workspace_name=spec.agent_workspace_name or (None if spec.workspace_uuid else "default-workspace"))
    case = service.create_test_case(c, body)
    for number, update in enumerate(spec.updates):
        there = (*where, "updates", number)
        service.update_test_case(c, case.test_case_uuid, wire.UpdateTestCase(
            name=update.name, description=update.description, dataset_uuid=dataset_of(update.dataset, None),
            metrics=([_metric(m, (*there, "metrics", i)) for i, m in enumerate(update.metrics)]
                     if update.metrics is not None else None),
            star_metric=_star(update.star_metric, there)))
    return case
