"""MKA1 evals rules: what each operation accepts, how runs progress, what each action is allowed to do.

Handlers call these functions with a `Caller` (namespace + identity) and validated wire models; they return
records or plain dicts for render.py. Nothing here awaits, so every change is atomic on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any, Iterable, Mapping

from emulator.core.journal import note_state
from emulator.core.errors import ApiError, conflict, invalid, not_found
from emulator.core.ids import derived_hex, derived_unit
from emulator.core.namespace import Namespace
from emulator.core.pagination import Page, after_page
from emulator.core.store import Collection
from emulator.vendors.mka1 import samples as sample_gen
from emulator.vendors.mka1 import wire
from emulator.vendors.mka1.records import (
    DEFAULT_SAMPLES_PER_TASK,
    FAILURE_RATE,
    GENERATION_SECONDS,
    MAX_SAMPLES_PER_RUN,
    RUN_LIFECYCLE,
    Phase,
    Run,
    Share,
    Suite,
    SuiteVersion,
    TaskSpec,
)

MAX_SHARES = 100
TRAJECTORY_LIMIT_BYTES = 16 * 1024 * 1024


@dataclass(slots=True, eq=False)  # not frozen: a frozen dataclass costs 1.5 us more to make, per request
class Caller:
    ns: Namespace
    token: str  # the credential (its user owns what it creates)
    on_behalf_of: str | None  # X-On-Behalf-Of, when a gateway delegates
    headers: Mapping[str, str] = field(default_factory=dict)  # the request's headers, for operation-specific ones

    @property
    def user_id(self) -> str:
        return user_id_for(self.ns.seed, self.token)

    @property
    def owner(self) -> str:
        return self.on_behalf_of or self.user_id

    @property
    def now(self) -> float:
        return self.ns.now()

    @property
    def org_id(self) -> str:
        return _derived_id("org", self.ns.seed)

    @property
    def team_id(self) -> str:
        return _derived_id("team", self.ns.seed)


@lru_cache(maxsize=1024)
def _derived_id(kind: str, seed: int) -> str:
    # Cached: every run a scenario makes names its org and team.
    return f"{kind}_{derived_hex(seed, kind, nbytes=12)}"


@lru_cache(maxsize=1024)
def user_id_for(seed: int, token: str) -> str:
    return f"user_{derived_hex(seed, 'user', token, nbytes=12)}"


# ---- collections --------------------------------------------------------------------------------------------


BY_SUITE = {"suite": attrgetter("suite_id")}
RUN_INDEXES = {**BY_SUITE, "schedule": attrgetter("schedule_id"), "idempotency": attrgetter("idempotency_key")}


def suites(ns: Namespace) -> Collection[Suite]:
    return ns.store.collection("mka1.suites")


def versions(ns: Namespace) -> Collection[SuiteVersion]:
    return ns.store.collection("mka1.suite_versions", BY_SUITE, immutable=True)  # a version never changes


def runs(ns: Namespace) -> Collection[Run]:
    return ns.store.collection("mka1.runs", RUN_INDEXES)


def hf_imports(ns: Namespace) -> dict[tuple[str, str, str], str]:
    """Files already imported from Hugging Face, so a repeated import skips them."""
    return ns.extras.setdefault("mka1.hf_imports", {})


# ---- suites -------------------------------------------------------------------------------------------------


def get_suite(c: Caller, suite_id: str) -> Suite:
    suite = suites(c.ns).get(suite_id)
    if suite is None:
        raise not_found("eval suite", suite_id)
    return suite


def _new_version(c: Caller, suite: Suite, manifest: wire.Manifest, metadata: dict[str, str]) -> SuiteVersion:
    dumped = manifest.model_dump(mode="json", exclude_none=True)
    file_ids = sorted({t.dataset.file_id for t in manifest.tasks if t.dataset.file_id})
    version = SuiteVersion(
        id=c.ns.new_id("eval_sver_"), suite_id=suite.id, version=len(suite.versions) + 1, manifest=dumped,
        dataset_file_ids=file_ids, metadata=dict(metadata), created_at=int(c.now),
    )
    suite.versions.append(version)
    versions(c.ns).add(version.id, version)
    return version


def create_suite(c: Caller, body: wire.CreateSuite) -> Suite:
    now = int(c.now)
    suite = Suite(
        id=c.ns.new_id("eval_suite_"), name=body.name, description=body.description, org_id=c.org_id,
        team_id=c.team_id, owner=c.owner, metadata=dict(body.metadata), created_at=now, updated_at=now,
        active_version=1,
    )
    suites(c.ns).add(suite.id, suite)
    _new_version(c, suite, body.manifest, {})
    return suite


def list_suites(c: Caller, q: wire.ListSuitesQuery) -> Page[Suite]:
    coll = suites(c.ns)
    keep = (lambda s: s.owner == c.owner) if q.owned_only else None
    return after_page(coll, coll.index(), after=q.after, limit=q.limit, keep=keep)


def delete_suite(c: Caller, suite_id: str) -> int:
    suite = get_suite(c, suite_id)
    coll = runs(c.ns)
    doomed = [coll.by_seq(seq).id for seq in coll.index("suite", suite.id)]
    for run_id in doomed:
        coll.remove(run_id)
    suites(c.ns).remove(suite.id)
    return len(doomed)


def create_suite_version(c: Caller, suite_id: str, body: wire.CreateSuiteVersion) -> SuiteVersion:
    suite = get_suite(c, suite_id)
    version = _new_version(c, suite, body.manifest, body.metadata)
    if body.make_active:
        suite.active_version = version.version
    suite.updated_at = int(c.now)
    return version


def list_suite_versions(c: Caller, suite_id: str, q: wire.ListQuery) -> Page[SuiteVersion]:
    suite = get_suite(c, suite_id)
    coll = versions(c.ns)
    if q.after is not None and (coll.get(q.after) is None or coll.get(q.after).suite_id != suite.id):
        raise invalid(f"after: no version with id {q.after!r} in suite {suite.id!r}")
    return after_page(coll, coll.index("suite", suite.id), after=q.after, limit=q.limit)


def get_suite_version(c: Caller, suite_id: str, number: int) -> SuiteVersion:
    suite = get_suite(c, suite_id)
    version = suite.version(number)
    if version is None:
        raise not_found(f"version of eval suite {suite.id!r}", number)
    return version


def _refuse_delegated(c: Caller) -> None:
    if c.on_behalf_of is not None:
        raise ApiError("forbidden", "suite sharing is not available to a delegated (X-On-Behalf-Of) context")


def list_shares(c: Caller, suite_id: str) -> list[Share]:
    _refuse_delegated(c)
    return sorted(get_suite(c, suite_id).shares.values(), key=lambda s: (s.created_at, s.id))


def create_share(c: Caller, suite_id: str, body: wire.CreateShare) -> Share:
    _refuse_delegated(c)
    suite = get_suite(c, suite_id)
    if body.org_id == suite.org_id:
        raise invalid("org_id: the owning org cannot be a share recipient")
    existing = suite.shares.get(body.org_id)
    if existing is not None:
        return existing
    if len(suite.shares) >= MAX_SHARES:
        raise invalid(f"a suite can be shared with at most {MAX_SHARES} organizations")
    share = Share(id=c.ns.new_id("eval_share_"), suite_id=suite.id, org_id=body.org_id, granted_by=c.user_id,
                  created_at=int(c.now))
    suite.shares[body.org_id] = share
    return share


def delete_share(c: Caller, suite_id: str, org_id: str) -> Share:
    _refuse_delegated(c)
    suite = get_suite(c, suite_id)
    share = suite.shares.pop(org_id, None)
    if share is None:
        raise not_found(f"share of eval suite {suite.id!r} with org", org_id)
    return share


# ---- runs: creation and progression -------------------------------------------------------------------------


def task_specs(version: SuiteVersion, task_ids: list[str] | None) -> tuple[TaskSpec, ...]:
    tasks = version.manifest["tasks"]
    known = [t["id"] for t in tasks]
    if task_ids is not None:
        unknown = [t for t in task_ids if t not in known]
        if unknown:
            raise invalid(f"task_ids: not in suite version {version.version}: {', '.join(unknown)}")
    chosen = [t for t in tasks if task_ids is None or t["id"] in task_ids]
    return tuple(
        TaskSpec(
            id=t["id"], type=t["type"], metric_ids=tuple(m["id"] for m in t.get("metrics") or ()),
            choices=tuple(t.get("choices") or ()), audio_column=t["dataset"].get("audio_column"),
        )
        for t in chosen
    )


def resolve_version(c: Caller, suite: Suite, number: int | None) -> SuiteVersion:
    version = suite.version(number if number is not None else suite.active_version)
    if version is None:
        raise not_found(f"version of eval suite {suite.id!r}", number)
    return version


def _failing(seed: int, run: Run, ordinals: Iterable[int]) -> frozenset[int]:
    """The samples that fail on their first attempt: about FAILURE_RATE of them, and at least one."""
    draws = {k: derived_unit(seed, run.id, k, "fails") for k in ordinals}
    failing = {k for k, u in draws.items() if u < FAILURE_RATE}
    if not failing and len(draws) > 1:
        failing.add(min(draws, key=draws.__getitem__))
    return frozenset(failing)


def _plan_phase(run: Run, ordinals: tuple[int, ...] | range, failing: frozenset[int]) -> None:
    """Queue a pass over `ordinals`; its length sets how long the run stays in_progress."""
    step = GENERATION_SECONDS / max(1, len(ordinals))
    run.phases.append(Phase(ordinals=ordinals, failing=failing, step=step))
    run.durations["in_progress"] = step * len(ordinals)


def on_enter(run: Run, status: str, at: float) -> None:
    """Timestamps and phase bookkeeping that follow a status change, at the virtual time it happened."""
    run.cached = None
    phase = run.phases[-1] if run.phases else None
    if status == "queued":
        run.completed_at = run.cancelled_at = run.failed_at = None
        run.error = None
    elif status == "in_progress":
        if run.started_at is None:
            run.started_at = at
        if phase is not None and phase.start is None:
            phase.start = at
    elif status == "completed":
        run.completed_at = at
    elif status == "cancelling":
        if phase is not None and phase.cut is None:
            phase.cut = at
    elif status == "cancelled":
        run.cancelled_at = at
    elif status == "failed":
        run.failed_at = at
        if phase is not None and phase.cut is None:
            phase.cut = at
        if run.error is None:
            run.error = {"code": "internal_error", "message": "the eval workflow failed; retry the run to resume it"}


def sync(c: Caller, run: Run, now: float | None = None, *, polled: bool = False) -> Run:
    """Bring a run up to the namespace clock (a run at rest has nothing to catch up on).

    `polled` marks a read of this run by id, which a scenario timeline's `after_polls` counts.
    """
    if run.status in RUN_LIFECYCLE.terminal and run.timeline is None:  # at rest: nothing to catch up on
        if polled:
            note_state(run.id, run.status, True)
        return run
    now = c.now if now is None else now
    if run.waits_for is not None and not _release(c, run, now):
        return run
    RUN_LIFECYCLE.catch_up(run, now, on_enter, polled=polled)
    return run


def finished_at(run: Run) -> float | None:
    """When the run reached its terminal status, or None while it has not."""
    if run.status not in RUN_LIFECYCLE.terminal:
        return None
    return run.completed_at or run.failed_at or run.cancelled_at or run.status_since


def _release(c: Caller, run: Run, now: float) -> bool:
    """A run buffered behind another (schedule overlap `buffer_one`) starts once that one has finished."""
    blocker = runs(c.ns).get_any(run.waits_for)
    end = run.status_since if blocker is None else finished_at(sync(c, blocker, now))
    if end is None:
        return False
    queued_delay = RUN_LIFECYCLE.timed["queued"][1]
    run.durations["queued"] = max(0.0, end - run.status_since) + queued_delay
    run.waits_for = None
    return True


def build_run(
    c: Caller, suite: Suite, version: SuiteVersion, *, models: list[str], task_ids: list[str] | None,
    knobs: wire.RunKnobs | None, metadata: dict[str, str], created_at: float, schedule_id: str | None = None,
    hold: bool = False, tasks: tuple[TaskSpec, ...] | None = None,
) -> Run:
    """A generated run created at `created_at`; `hold` skips catching up so a caller can script it first.
    `tasks` are the version's task specs when the caller already has them (a scenario making many runs)."""
    if tasks is None:
        tasks = task_specs(version, task_ids)
    per_task = (knobs.max_samples_per_task if knobs and knobs.max_samples_per_task else DEFAULT_SAMPLES_PER_TASK)
    per_task = max(1, min(per_task, MAX_SAMPLES_PER_RUN // max(1, len(tasks) * len(models))))
    generation = knobs.generation.model_dump(exclude_none=True) if knobs and knobs.generation else {}
    run = Run(
        id=c.ns.new_id("eval_run_"), suite_id=suite.id, suite_version=version.version,
        suite_version_id=version.id, org_id=c.org_id, team_id=c.team_id, owner=c.owner, models=list(models),
        task_ids=list(task_ids) if task_ids else None, tasks=tasks, per_task=per_task,
        judge_model=(knobs.judge_model if knobs and knobs.judge_model else "auto"),
        embedding_model=(knobs.embedding_model if knobs and knobs.embedding_model else "auto"),
        generation=generation, metadata=dict(metadata), created_at=created_at, status_since=created_at,
        schedule_id=schedule_id,
    )
    everything = range(run.total_samples)
    _plan_phase(run, everything, _failing(c.ns.seed, run, everything))
    runs(c.ns).add(run.id, run)
    return run if hold else sync(c, run)


def create_run(c: Caller, body: wire.CreateRun) -> Run:
    suite = get_suite(c, body.suite_id)
    version = resolve_version(c, suite, body.suite_version)
    return build_run(c, suite, version, models=body.models, task_ids=body.task_ids, knobs=body,
                      metadata=body.metadata, created_at=c.now)


def get_run(c: Caller, run_id: str, *, polled: bool = False) -> Run:
    run = runs(c.ns).get(run_id)
    if run is None:
        raise not_found("eval run", run_id)
    return sync(c, run, polled=polled)


def run_filter(c: Caller, *, owned_only: bool, suite_version: int | None, status: str | None):
    def keep(run: Run) -> bool:
        if owned_only and run.owner != c.owner:
            return False
        if suite_version is not None and run.suite_version != suite_version:
            return False
        if status is not None and sync(c, run).status != status:
            return False
        return True

    return keep if (owned_only or suite_version is not None or status is not None) else None


def list_runs(c: Caller, q: wire.ListRunsQuery) -> Page[Run]:
    if q.suite_version is not None and q.suite_id is None:
        raise invalid("suite_version must be paired with suite_id")
    coll = runs(c.ns)
    index = coll.index("suite", q.suite_id) if q.suite_id is not None else coll.index()
    keep = run_filter(c, owned_only=q.owned_only, suite_version=q.suite_version, status=q.status)
    return synced(c, after_page(coll, index, after=q.after, limit=q.limit, keep=keep))


def synced(c: Caller, page: Page[Run]) -> Page[Run]:
    now = c.now
    for run in page.items:
        sync(c, run, now)
    return page


def delete_run(c: Caller, run_id: str) -> str:
    run = get_run(c, run_id)
    runs(c.ns).remove(run.id)
    return run.id


def cancel_run(c: Caller, run_id: str) -> Run:
    run = get_run(c, run_id)
    RUN_LIFECYCLE.act(run, "cancel", c.now, on_enter, what=f"eval run {run.id}")
    return run


def _statuses(c: Caller, run: Run) -> list[str]:
    now = c.now
    if run.trials is not None:
        return [t["status"] for t in run.trials.values()]
    return [sample_gen.sample_state(run, k, now).status for k in range(run.total_samples)]


def rerun_failed(c: Caller, run_id: str) -> Run:
    run = get_run(c, run_id)
    RUN_LIFECYCLE.require(run, "rerun_failed", what=f"eval run {run.id}")
    if run.trials is not None:
        raise conflict(f"eval run {run.id} is an imported agent run; append trials to replace failed ones")
    failed = tuple(k for k, status in enumerate(_statuses(c, run)) if status == "failed")
    if not failed:
        raise conflict(f"eval run {run.id} has no failed samples to rerun")
    _plan_phase(run, failed, frozenset())
    run.retried += len(failed)
    RUN_LIFECYCLE.act(run, "rerun_failed", c.now, on_enter, what=f"eval run {run.id}")
    return run


def retry_run(c: Caller, run_id: str) -> Run:
    run = get_run(c, run_id)
    RUN_LIFECYCLE.require(run, "retry", what=f"eval run {run.id}")
    if run.trials is None:
        unfinished = tuple(k for k, s in enumerate(_statuses(c, run)) if s not in ("completed", "failed"))
        _plan_phase(run, unfinished, frozenset())
    RUN_LIFECYCLE.act(run, "retry", c.now, on_enter, what=f"eval run {run.id}")
    if run.trials is not None:  # an agent run has no workflow to resume: it reopens for trials
        run.durations["in_progress"] = None
    return run


# ---- runs: what they report ---------------------------------------------------------------------------------


@dataclass
class Tally:
    total: int = 0
    completed: int = 0
    failed: int = 0
    errored: int = 0
    scored: dict[str, list[float]] | None = None  # metric -> values over scored samples
    by_task: dict[str, list[float]] | None = None  # task -> reward values
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None


def _add(total: int | float | None, value: int | float | None) -> int | float | None:
    if value is None:
        return total
    return value if total is None else total + value


def tally(c: Caller, run: Run) -> Tally:
    """Counts, scores, tokens and cost over a run's samples as they are now."""
    t = Tally(total=run.total_samples, scored={}, by_task={})
    for sample in iter_sample_facts(c, run):
        status, task_id, scores, error, usage, cost = sample
        if status == "completed":
            t.completed += 1
        elif status == "failed":
            t.failed += 1
        if error is not None:
            t.errored += 1
        for metric, value in scores.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                t.scored.setdefault(metric, []).append(float(value))
        if "reward" in scores:
            t.by_task.setdefault(task_id, []).append(float(scores["reward"]))
        inp, out, cached, reasoning = usage
        t.input_tokens = _add(t.input_tokens, inp)
        t.output_tokens = _add(t.output_tokens, out)
        t.cached_tokens = _add(t.cached_tokens, cached)
        t.reasoning_tokens = _add(t.reasoning_tokens, reasoning)
        t.cost_usd = _add(t.cost_usd, cost)
    return t


def iter_sample_facts(c: Caller, run: Run):
    """(status, task_id, scores, error, (input, output, cached, reasoning tokens), cost) of each sample."""
    seed = c.ns.seed
    if run.trials is not None:
        for s in run.trials.values():
            usage = (s["input_tokens"], s["output_tokens"], s["cached_tokens"], s["reasoning_tokens"])
            yield s["status"], s["task_id"], s["scores"], s["error"], usage, s["cost_usd"]
        return
    now = c.now
    for k in range(run.total_samples):
        status = sample_gen.sample_state(run, k, now).status
        task = run.locate(k)[0]
        if status == "completed":
            _, reward = sample_gen.outcome(seed, run, k)
            inp, out = sample_gen.usage(seed, run, k)
            yield status, task.id, sample_gen.scores_of(task, reward), None, (inp, out, 0, None), None
        elif status == "failed":
            inp, _ = sample_gen.usage(seed, run, k)
            yield status, task.id, {}, {"type": "generation_error"}, (inp, None, 0, None), None
        else:
            yield status, task.id, {}, None, (None, None, None, None), None


def mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4)


def run_report(c: Caller, run: Run) -> dict[str, Any]:
    """The computed parts of an eval.run: request_counts, metrics, tokens, cost."""
    t = tally(c, run)
    metrics = None
    if t.scored:
        metrics = {metric: mean(values) for metric, values in sorted(t.scored.items())}
        metrics["by_task"] = {task: {"reward": mean(v), "scored": len(v)} for task, v in sorted(t.by_task.items())}
    final = run.status == "completed"
    tokens = {
        "input": t.input_tokens if final else None,
        "output": t.output_tokens if final else None,
        "cached": t.cached_tokens if final else None,
        "reasoning": t.reasoning_tokens if final else None,
    }
    cost = run.agent.get("cost_usd") if run.agent else None
    if cost is None:
        cost = t.cost_usd if run.agent else None
    total = max(t.total, (run.agent or {}).get("expected_trials") or 0)
    return {
        "request_counts": {"total": total, "completed": t.completed, "failed": t.failed},
        "metrics": metrics,
        "tokens": tokens,
        "cost_usd": None if cost is None else round(cost, 6),
    }


def artifacts(c: Caller, run_id: str) -> dict[str, Any]:
    run = get_run(c, run_id)
    return artifact_ids(run)


def artifact_ids(run: Run) -> dict[str, Any]:
    if run.status != "completed":
        return {"result_file_id": None, "samples_file_id": None, "artifact_file_ids": list(run.artifact_file_ids)}
    result = f"file_{derived_hex(run.id, 'results', nbytes=12)}"
    sample_file = f"file_{derived_hex(run.id, 'samples', nbytes=12)}"
    return {"result_file_id": result, "samples_file_id": sample_file,
            "artifact_file_ids": [result, sample_file, *run.artifact_file_ids]}


def overview(c: Caller, run_id: str, metric: str) -> dict[str, Any]:
    run = get_run(c, run_id)
    t = tally(c, run)
    values = t.scored.get(metric) or []
    agent = run.agent or {}
    report = run_report(c, run)
    return {
        "run_id": run.id, "suite_id": run.suite_id, "status": run.status,
        "agent_name": agent.get("agent_name"), "agent_version": agent.get("agent_version"),
        "agent_effort": agent.get("agent_effort"), "models": list(run.models), "metric": metric,
        "avg_reward": mean(values) if values else None,
        "trials": {"total": t.total, "completed": t.completed, "failed": t.failed, "errored": t.errored,
                   "retried": run.retried},
        "cost_usd": report["cost_usd"],
        "tokens": {"input": t.input_tokens, "output": t.output_tokens, "cached": t.cached_tokens,
                   "reasoning": t.reasoning_tokens},
    }


# ---- samples ------------------------------------------------------------------------------------------------


def list_samples(c: Caller, run_id: str, q: wire.ListSamplesQuery) -> tuple[list[dict[str, Any]], bool]:
    run = get_run(c, run_id)
    indexes = None if q.sample_index is None else {int(part) for part in q.sample_index.split(",")}
    start = 0
    if q.after is not None:
        position = _sample_position(run, q.after)
        if position is None:
            raise invalid(f"after: no sample with id {q.after!r} in run {run.id!r}")
        start = position + 1
    out: list[dict[str, Any]] = []
    for sample in _samples_from(c, run, start, q):
        if indexes is not None and sample["sample_index"] not in indexes:
            continue
        if q.score_metric is not None or q.score_min is not None or q.score_max is not None:
            value = sample["scores"].get(q.score_metric or "reward")
            if not isinstance(value, (int, float)):
                continue
            if (q.score_min is not None and value < q.score_min) or (q.score_max is not None and value > q.score_max):
                continue
        if len(out) == q.limit:
            return out, True
        out.append(sample)
    return out, False


def _sample_position(run: Run, sample_id: str) -> int | None:
    if run.trials is None:
        ordinal = sample_gen.ordinal_of(run, sample_id)
        return ordinal if ordinal is not None and ordinal < run.total_samples else None
    for position, trial in enumerate(run.trials.values()):
        if trial["id"] == sample_id:
            return position
    return None


def _samples_from(c: Caller, run: Run, start: int, q: wire.ListSamplesQuery):
    """Samples in order from position `start`, cheap filters (task, model, status) applied before rendering."""
    if run.trials is not None:
        for trial in list(run.trials.values())[start:]:
            if (q.task_id and trial["task_id"] != q.task_id) or (q.model and trial["model"] != q.model):
                continue
            if q.status and trial["status"] != q.status:
                continue
            sample = dict(trial)
            if not q.include_dataset_row:
                sample["dataset_row"] = None
            if not q.include_reasoning:
                sample["reasoning"] = None
            yield sample
        return
    if not run.phases or run.phases[0].start is None:
        return  # nothing is persisted before the run first starts
    now = c.now
    for k in range(start, run.total_samples):
        task, model, _ = run.locate(k)
        if (q.task_id and task.id != q.task_id) or (q.model and model != q.model):
            continue
        state = sample_gen.sample_state(run, k, now)
        if q.status and state.status != q.status:
            continue
        yield sample_gen.generated_sample(c.ns.seed, run, k, state, include_dataset_row=q.include_dataset_row,
                                          include_reasoning=q.include_reasoning)


def _locate_samples(c: Caller, run: Run, index: int, task_id: str | None, model: str | None,
                    task_type: str | None = None) -> list[tuple[str, str, int]]:
    """(task, model, index) keys of the run's samples with this index, narrowed by task and model."""
    if run.trials is not None:
        keys = [k for k in run.trials if k[2] == index]
    elif run.phases and run.phases[0].start is not None and 0 <= index < run.per_task:
        keys = [(t.id, m, index) for t in run.tasks for m in run.models if task_type in (None, t.type)]
    else:
        keys = []
    return [k for k in keys if (task_id is None or k[0] == task_id) and (model is None or k[1] == model)]


def sample_audio(c: Caller, run_id: str, index: int, q: wire.SampleLocator) -> dict[str, Any]:
    run = get_run(c, run_id)
    keys = _locate_samples(c, run, index, q.task_id, q.model, task_type="transcription")
    if not keys:
        raise not_found(f"audio for sample of run {run.id!r} with index", index)
    if len({k[0] for k in keys}) > 1:
        raise invalid(f"sample_index {index} matches several transcription tasks; pass task_id")
    task_id, model, _ = keys[0]
    task = next(t for t in run.tasks if t.id == task_id)
    row = sample_gen.dataset_row(c.ns.seed, run, task, index, inline_audio=True)
    return {"audio": row[task.audio_column or "audio"], "task_id": task_id, "model": model, "sample_index": index}


def _one_sample(c: Caller, run: Run, index: int, task_id: str | None, model: str | None) -> tuple[str, str, int]:
    keys = _locate_samples(c, run, index, task_id, model)
    if not keys:
        raise not_found(f"sample of run {run.id!r} with index", index)
    if len(keys) > 1:
        raise invalid(f"sample_index {index} matches {len(keys)} trials of run {run.id!r}; pass task_id and model")
    return keys[0]


def get_trajectory(c: Caller, run_id: str, index: int, q: wire.SampleLocator) -> dict[str, Any]:
    run = get_run(c, run_id)
    key = _one_sample(c, run, index, q.task_id, q.model)
    stored = run.trajectories.get(key)
    if stored is None:
        raise not_found(f"trajectory of sample {index} (task {key[0]!r}, model {key[1]!r}) of run", run.id)
    return {"run_id": run.id, "sample_index": index, "task_id": key[0], "model": key[1], **stored}


def upload_trajectory(c: Caller, run_id: str, index: int, q: wire.SampleLocator, body: wire.UploadTrajectory,
                      size_bytes: int) -> dict[str, Any]:
    run = get_run(c, run_id)
    key = _one_sample(c, run, index, q.task_id, q.model)
    if size_bytes > TRAJECTORY_LIMIT_BYTES:
        raise ApiError("payload_too_large", f"trajectory steps and logs are {size_bytes} bytes; the limit is 16 MiB")
    run.trajectories[key] = {"schema_version": body.schema_version, "step_count": len(body.steps),
                             "size_bytes": size_bytes, "steps": body.steps, "logs": body.logs}
    run.cached = None
    return {"run_id": run.id, "sample_index": index, "task_id": key[0], "model": key[1],
            "step_count": len(body.steps), "size_bytes": size_bytes}
