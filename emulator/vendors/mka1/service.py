"""MKA1 evals rules: what each operation accepts, how runs progress, what each action is allowed to do.

Handlers call these functions with a `Caller` (namespace + identity) and validated wire models; they return
records or plain dicts for render.py. Nothing here awaits, so every change is atomic on the event loop.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

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
    Schedule,
    Share,
    Suite,
    SuiteVersion,
    TaskSpec,
)

MAX_SHARES = 100
TRAJECTORY_LIMIT_BYTES = 16 * 1024 * 1024
LEADERBOARD_RUNS_CEILING = 200  # group entries per leaderboard-runs response before it truncates
MAX_FIRES_PER_SYNC = 100  # schedule fires replayed at once after a long clock jump; older ones are dropped


@dataclass(frozen=True, slots=True)
class Caller:
    ns: Namespace
    token: str  # the credential (its user owns what it creates)
    on_behalf_of: str | None  # X-On-Behalf-Of, when a gateway delegates

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
        return f"org_{derived_hex(self.ns.seed, 'org', nbytes=12)}"

    @property
    def team_id(self) -> str:
        return f"team_{derived_hex(self.ns.seed, 'team', nbytes=12)}"


@lru_cache(maxsize=1024)
def user_id_for(seed: int, token: str) -> str:
    return f"user_{derived_hex(seed, 'user', token, nbytes=12)}"


# ---- collections --------------------------------------------------------------------------------------------


def suites(ns: Namespace) -> Collection[Suite]:
    return ns.store.collection("mka1.suites")


def versions(ns: Namespace) -> Collection[SuiteVersion]:
    return ns.store.collection("mka1.suite_versions", suite=lambda v: v.suite_id)


def runs(ns: Namespace) -> Collection[Run]:
    return ns.store.collection(
        "mka1.runs", suite=lambda r: r.suite_id, schedule=lambda r: r.schedule_id,
        idempotency=lambda r: r.idempotency_key,
    )


def schedules(ns: Namespace) -> Collection[Schedule]:
    return ns.store.collection("mka1.schedules", suite=lambda s: s.suite_id)


def _imports(ns: Namespace) -> dict[tuple[str, str, str], str]:
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


def _task_specs(version: SuiteVersion, task_ids: list[str] | None) -> tuple[TaskSpec, ...]:
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


def _resolve_version(c: Caller, suite: Suite, number: int | None) -> SuiteVersion:
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


def _on_enter(run: Run, status: str, at: float) -> None:
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


def sync(c: Caller, run: Run, now: float | None = None) -> Run:
    """Bring a run up to the namespace clock (a run at rest has nothing to catch up on)."""
    if run.status in RUN_LIFECYCLE.terminal:
        return run
    now = c.now if now is None else now
    if run.waits_for is not None and not _release(c, run, now):
        return run
    RUN_LIFECYCLE.catch_up(run, now, _on_enter)
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
    hold: bool = False,
) -> Run:
    """A generated run created at `created_at`; `hold` skips catching up so a caller can script it first."""
    tasks = _task_specs(version, task_ids)
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
    version = _resolve_version(c, suite, body.suite_version)
    return build_run(c, suite, version, models=body.models, task_ids=body.task_ids, knobs=body,
                      metadata=body.metadata, created_at=c.now)


def get_run(c: Caller, run_id: str) -> Run:
    run = runs(c.ns).get(run_id)
    if run is None:
        raise not_found("eval run", run_id)
    return sync(c, run)


def _run_filter(c: Caller, *, owned_only: bool, suite_version: int | None, status: str | None):
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
    keep = _run_filter(c, owned_only=q.owned_only, suite_version=q.suite_version, status=q.status)
    return _synced(c, after_page(coll, index, after=q.after, limit=q.limit, keep=keep))


def _synced(c: Caller, page: Page[Run]) -> Page[Run]:
    now, terminal = c.now, RUN_LIFECYCLE.terminal
    for run in page.items:
        if run.status not in terminal:
            sync(c, run, now)
    return page


def delete_run(c: Caller, run_id: str) -> str:
    run = get_run(c, run_id)
    runs(c.ns).remove(run.id)
    return run.id


def cancel_run(c: Caller, run_id: str) -> Run:
    run = get_run(c, run_id)
    RUN_LIFECYCLE.act(run, "cancel", c.now, _on_enter, what=f"eval run {run.id}")
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
    RUN_LIFECYCLE.act(run, "rerun_failed", c.now, _on_enter, what=f"eval run {run.id}")
    return run


def retry_run(c: Caller, run_id: str) -> Run:
    run = get_run(c, run_id)
    RUN_LIFECYCLE.require(run, "retry", what=f"eval run {run.id}")
    if run.trials is None:
        unfinished = tuple(k for k, s in enumerate(_statuses(c, run)) if s not in ("completed", "failed"))
        _plan_phase(run, unfinished, frozenset())
    RUN_LIFECYCLE.act(run, "retry", c.now, _on_enter, what=f"eval run {run.id}")
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


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4)


def run_report(c: Caller, run: Run) -> dict[str, Any]:
    """The computed parts of an eval.run: request_counts, metrics, tokens, cost."""
    t = tally(c, run)
    metrics = None
    if t.scored:
        metrics = {metric: _mean(values) for metric, values in sorted(t.scored.items())}
        metrics["by_task"] = {task: {"reward": _mean(v), "scored": len(v)} for task, v in sorted(t.by_task.items())}
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
        "avg_reward": _mean(values) if values else None,
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


# ---- agent runs (harness imports) ---------------------------------------------------------------------------


def _trial_sample(run: Run, position: int, trial: wire.Trial, index: int, created_at: float) -> dict[str, Any]:
    at = int(created_at)
    return {
        "id": f"{sample_gen.SAMPLE_PREFIX}{derived_hex(run.id, nbytes=12)}{position:08x}",
        "object": "eval.sample", "run_id": run.id, "task_id": trial.task_id, "model": run.models[0],
        "sample_index": index, "status": trial.status, "dataset_row": None, "prompt": trial.prompt,
        "target": trial.target, "response_id": None, "output_text": trial.output_text, "reasoning": None,
        "extracted_output": trial.output_text, "scores": dict(trial.scores), "judge": None, "error": trial.error,
        "cost_usd": trial.cost_usd, "input_tokens": trial.input_tokens, "output_tokens": trial.output_tokens,
        "cached_tokens": trial.cached_tokens, "reasoning_tokens": trial.reasoning_tokens,
        "tokens_estimated": False, "phase_timings": trial.phase_timings, "created_at": at, "started_at": at,
        "completed_at": at,
    }


def _check_trial_tasks(version: SuiteVersion, trials: list[wire.Trial]) -> None:
    known = {t["id"] for t in version.manifest["tasks"]}
    unknown = sorted({t.task_id for t in trials} - known)
    if unknown:
        raise invalid(f"trials: task ids not in suite version {version.version}: {', '.join(unknown)}")


def _upsert_trials(run: Run, trials: list[wire.Trial], created_at: float) -> None:
    assert run.trials is not None
    for position, trial in enumerate(trials):
        index = trial.sample_index if trial.sample_index is not None else position
        key = (trial.task_id, run.models[0], index)
        slot = list(run.trials).index(key) if key in run.trials else len(run.trials)
        run.trials[key] = _trial_sample(run, slot, trial, index, created_at)
    all_tasks = {t.id for t in run.tasks}
    covered = {key[0] for key in run.trials}
    run.task_ids = None if covered >= all_tasks else sorted(covered)
    run.cached = None


def import_agent_run(c: Caller, body: wire.ImportAgentRun) -> Run:
    coll = runs(c.ns)
    if body.idempotency_key is not None:
        for seq in coll.index("idempotency", body.idempotency_key):
            return sync(c, coll.by_seq(seq))
    suite = get_suite(c, body.suite_id)
    version = _resolve_version(c, suite, body.suite_version)
    _check_trial_tasks(version, body.trials)
    created = float(body.created_at) if body.created_at is not None else c.now
    run = Run(
        id=c.ns.new_id("eval_run_"), suite_id=suite.id, suite_version=version.version,
        suite_version_id=version.id, org_id=c.org_id, team_id=c.team_id, owner=c.owner, models=[body.model],
        task_ids=None, tasks=_task_specs(version, None), per_task=0, judge_model=None, embedding_model=None,
        generation={}, metadata=dict(body.metadata), created_at=created, status="in_progress",
        status_since=c.now, started_at=created, durations={"in_progress": None}, trials={},
        idempotency_key=body.idempotency_key,
        agent={"agent_name": body.agent_name, "agent_version": body.agent_version,
               "agent_effort": body.agent_effort, "cost_usd": body.cost_usd,
               "expected_trials": body.expected_trials},
    )
    _upsert_trials(run, body.trials, created)
    coll.add(run.id, run)
    if body.finalize:
        RUN_LIFECYCLE.act(run, "finalize", c.now, _on_enter, what=f"eval run {run.id}")
    return run


def append_trials(c: Caller, run_id: str, body: wire.AppendTrials) -> Run:
    run = get_run(c, run_id)
    if run.trials is None:
        raise conflict(f"eval run {run.id} is not an agent run opened with finalize:false; it takes no trials")
    RUN_LIFECYCLE.act(run, "append_trials", c.now, _on_enter, what=f"eval run {run.id}")
    version = get_suite(c, run.suite_id).version(run.suite_version)
    _check_trial_tasks(version, body.trials)
    _upsert_trials(run, body.trials, c.now)
    if body.finalize:
        RUN_LIFECYCLE.act(run, "finalize", c.now, _on_enter, what=f"eval run {run.id}")
    return run


# ---- token backfill -----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Words and punctuation marks: a stand-in for tiktoken's o200k_base with the same order of magnitude."""
    return len(_TOKEN.findall(text))


def _unmeasured(run: Run) -> list[dict[str, Any]]:
    if run.trials is None or run.status != "completed":
        return []
    # only samples with answer or reasoning text are counted; a sample with no text stays unmeasured
    return [s for s in run.trials.values()
            if s["output_tokens"] is None and (s["output_text"] or s["reasoning"])]


def measure_tokens(c: Caller, suite_id: str, body: wire.MeasureTokens) -> dict[str, Any]:
    suite = get_suite(c, suite_id)
    coll = runs(c.ns)
    pending = [r for r in (sync(c, coll.by_seq(s)) for s in coll.index("suite", suite.id)) if _unmeasured(r)]
    pending.sort(key=lambda r: r.id)
    measured_samples = 0
    for run in pending[: body.limit]:
        for sample in _unmeasured(run):
            sample["input_tokens"] = count_tokens(sample["prompt"])
            sample["output_tokens"] = count_tokens(sample["output_text"] or "")
            sample["tokens_estimated"] = True
            measured_samples += 1
        run.cached = None
    return {"suite_id": suite.id, "measured_runs": min(body.limit, len(pending)),
            "measured_samples": measured_samples, "remaining_runs": max(0, len(pending) - body.limit)}


# ---- leaderboards -------------------------------------------------------------------------------------------


def _completed_runs(c: Caller, suite: Suite, suite_version: int | None) -> list[Run]:
    coll = runs(c.ns)
    found = []
    for seq in coll.index("suite", suite.id):
        run = sync(c, coll.by_seq(seq))
        if run.status == "completed" and (suite_version is None or run.suite_version == suite_version):
            found.append(run)
    return found


def _wald(p: float, n: int) -> dict[str, float]:
    margin = 1.96 * math.sqrt(p * (1 - p) / n)
    return {"low": round(max(0.0, p - margin), 4), "high": round(min(1.0, p + margin), 4), "margin": round(margin, 4)}


def _iso_seconds(timing: Any) -> float | None:
    try:
        start = datetime.fromisoformat(str(timing["started_at"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(timing["finished_at"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return None
    return (end - start).total_seconds()


def leaderboard(c: Caller, suite_id: str, q: wire.LeaderboardQuery) -> dict[str, Any]:
    suite = get_suite(c, suite_id)
    rows: dict[tuple[str, str, str | None], list[Run]] = {}
    for run in _completed_runs(c, suite, q.suite_version):
        agent = run.agent
        if agent is None or (q.agent and agent["agent_name"] != q.agent) or (q.model and run.models[0] != q.model):
            continue
        rows.setdefault((agent["agent_name"], run.models[0], agent["agent_effort"]), []).append(run)
    data = [_leaderboard_row(key, members, q.metric) for key, members in rows.items()]
    data.sort(key=lambda r: (r["accuracy"] is None, -(r["accuracy"] or 0.0), r["agent_name"], r["model"],
                             r["agent_effort"] or ""))
    return {"suite_id": suite.id, "suite_version": q.suite_version, "metric": q.metric, "data": data[: q.limit]}


def _leaderboard_row(key: tuple[str, str, str | None], members: list[Run], metric: str) -> dict[str, Any]:
    agent_name, model, effort = key
    trials = [s for run in members for s in run.trials.values()]
    values = [float(s["scores"][metric]) for s in trials if isinstance(s["scores"].get(metric), (int, float))]
    accuracy = _mean(values) if values else None

    def total(field: str) -> int | None:
        found = [s[field] for s in trials if s[field] is not None]
        return sum(found) if found else None

    trial_cost = [s["cost_usd"] for s in trials if s["cost_usd"] is not None]
    run_cost = [r.agent["cost_usd"] for r in members if r.agent["cost_usd"] is not None]
    cost = sum(trial_cost) if trial_cost else (sum(run_cost) if run_cost else None)
    steps = [t["step_count"] for r in members for t in r.trajectories.values()]
    timed = [x for x in (_iso_seconds((s["phase_timings"] or {}).get("agent_execution")) for s in trials) if x is not None]
    newest = max(members, key=lambda r: (r.created_at, r.id))
    ranked = sorted(members, key=lambda r: (-len(r.trials), -r.created_at, r.id))
    return {
        "agent_name": agent_name, "agent_version": newest.agent["agent_version"], "agent_effort": effort,
        "model": model, "accuracy": accuracy, "accuracy_ci": _wald(accuracy, len(values)) if values else None,
        "trials": len(trials), "scored_trials": len(values),
        "failed_trials": sum(1 for s in trials if s["status"] == "failed"),
        "cost_usd": None if cost is None else round(cost, 6),
        "solved_trials": sum(1 for v in values if v >= 1.0),
        "input_tokens": total("input_tokens"), "output_tokens": total("output_tokens"),
        "cached_tokens": total("cached_tokens"), "steps": sum(steps) if steps else None,
        "agent_seconds": round(sum(timed), 3) if timed else None, "timed_trials": len(timed),
        "run_count": len(members), "run_ids": [r.id for r in ranked], "last_run_at": int(newest.created_at),
    }


def _decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("o:"))
    except ValueError:
        raise invalid(f"cursor: {cursor!r} is not a cursor this endpoint issued") from None


def leaderboard_runs(c: Caller, suite_id: str, q: wire.LeaderboardRunsQuery) -> dict[str, Any]:
    suite = get_suite(c, suite_id)
    groups: dict[tuple[str, str | None], list[Run]] = {}
    for run in _completed_runs(c, suite, q.suite_version):
        for model in run.models:
            if q.model is not None and model != q.model:
                continue
            for task in (run.task_ids or [None]):
                groups.setdefault((model, task), []).append(run)
    entries = []
    for (model, task) in sorted(groups, key=lambda g: (g[0], g[1] is not None, g[1] or "")):
        # newest first by created_at: a backfilled import ranks by when the job ran, not when it was uploaded
        ranked = sorted(groups[(model, task)], key=lambda r: (-r.created_at, r.id))
        entries += [{"model": model, "task_id": task, "rank": rank, "run_id": run.id}
                    for rank, run in enumerate(ranked[: q.per_group], start=1)]
    offset = _decode_cursor(q.cursor)
    window = entries[offset: offset + LEADERBOARD_RUNS_CEILING]
    truncated = offset + LEADERBOARD_RUNS_CEILING < len(entries)
    by_id = {r.id: r for members in groups.values() for r in members}
    data = sorted({e["run_id"] for e in window}, key=lambda i: (-by_id[i].created_at, i))
    return {
        "data": [by_id[i] for i in data], "groups": window, "truncated": truncated,
        "next_cursor": (base64.urlsafe_b64encode(f"o:{offset + LEADERBOARD_RUNS_CEILING}".encode()).decode()
                        if truncated else None),
    }


# ---- historical imports -------------------------------------------------------------------------------------
# No network: the "repository" is simulated. Its files are listed by the request (`source.files`) or, if it
# lists none, discovered as one samples file per (model, task) below; each file becomes one completed run.

HISTORICAL_TASKS = ("arc_easy", "hellaswag", "mmlu", "gsm8k")
HISTORICAL_MODELS = ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct",
                     "mistralai/Mistral-7B-Instruct-v0.3", "google/gemma-2-9b-it")
HISTORICAL_DEFAULT_FILES = 3


def _discover(src: wire.HuggingFaceSource, limit: int | None) -> list[tuple[str, str, str]]:
    """(file path, model, task) of each results file the import would read."""
    if src.files:
        found = [(f, _model_of(f), _task_of(f)) for f in src.files]
    else:
        found = []
        for i in range(limit or HISTORICAL_DEFAULT_FILES):
            model, task = HISTORICAL_MODELS[i % 4], HISTORICAL_TASKS[(i + i // 4) % 4]
            found.append((f"{src.path_prefix or ''}{model.replace('/', '__')}/samples_{task}.jsonl", model, task))
    return found[: limit or len(found)]


def _model_of(path: str) -> str:
    """lm-eval writes <model with "/" as "__">/samples_<task>.jsonl: the folder names the model."""
    folder = path.rsplit("/", 2)[-2] if path.count("/") >= 1 else "unknown-model"
    return folder.replace("__", "/")


def _task_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1].removesuffix(".jsonl").removesuffix(".json")
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name.removeprefix("samples_")) or "task"


def import_historical(c: Caller, body: wire.ImportHistorical, hf_token: str | None) -> dict[str, Any]:
    if not hf_token:
        raise ApiError("unauthorized", "X-HuggingFace-Token is required to read the results repository")
    src = body.source
    files = _discover(src, body.limit_files)
    seen = _imports(c.ns)
    fresh = [f for f in files if (src.repo, src.revision, f[0]) not in seen]
    tasks = sorted({task for _, _, task in files})
    remembered = c.ns.extras.setdefault("mka1.hf_suites", {})
    suite_key = (src.repo, src.revision, body.suite_name)

    suite = get_suite(c, body.suite_id) if body.suite_id else suites(c.ns).get(remembered.get(suite_key, ""))
    missing = tasks
    if suite is not None:
        known = {t["id"] for t in suite.version(suite.active_version).manifest["tasks"]}
        missing = [t for t in tasks if t not in known]
        if missing and not body.create_missing_tasks:
            raise invalid(f"suite {suite.id!r} lacks tasks {', '.join(missing)} and create_missing_tasks is false")
    creates_suite = suite is None
    creates_version = not creates_suite and bool(missing) and bool(fresh)
    result = {
        "source": {"type": "huggingface", "repo": src.repo, "revision": src.revision},
        "created_suite": creates_suite, "created_suite_version": creates_suite or creates_version,
        "dry_run": body.dry_run, "discovered_files": len(files), "imported_runs": len(fresh),
        "skipped_runs": len(files) - len(fresh), "imported_samples": len(fresh) * DEFAULT_SAMPLES_PER_TASK,
    }
    if body.dry_run:
        planned_id = suite.id if suite else f"eval_suite_{derived_hex(c.ns.seed, src.repo, body.suite_name)}"
        planned_version = (suite.latest_version + int(creates_version)) if suite else 1
        return {**result, "suite_id": planned_id, "suite_version": planned_version}

    new_tasks = [wire.Task(id=t, type="qa", dataset=wire.Dataset(source="huggingface", path=src.repo))
                 for t in missing]
    if suite is None:
        suite = create_suite(c, wire.CreateSuite(name=body.suite_name, description=body.suite_description,
                                                 manifest=wire.Manifest(tasks=new_tasks), metadata=body.metadata))
        remembered[suite_key] = suite.id
    elif creates_version:
        tasks_now = suite.version(suite.active_version).manifest["tasks"]
        merged = tasks_now + [t.model_dump(mode="json", exclude_none=True) for t in new_tasks]
        create_suite_version(c, suite.id, wire.CreateSuiteVersion(manifest=wire.Manifest(tasks=merged)))
    version = suite.version(suite.active_version)
    for path, model, task in fresh:
        # Imported results are history: created long enough ago to be completed now, every sample scored.
        run = build_run(c, suite, version, models=[model], task_ids=[task], knobs=None,
                        metadata={"source": "huggingface", "file": path, **body.metadata},
                        created_at=c.now - 3600, hold=True)
        run.phases[0].failing = frozenset()
        sync(c, run)
        seen[(src.repo, src.revision, path)] = run.id
    return {**result, "suite_id": suite.id, "suite_version": suite.active_version}


# ---- schedules ----------------------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(f"timezone: {name!r} is not an IANA time zone") from None


def _check_cron(expr: str) -> None:
    if len(expr.split()) != 5:
        raise invalid(f"cron: {expr!r} must have 5 fields (minute hour day month weekday)")
    try:
        CronSim(expr, datetime(2026, 1, 1, tzinfo=timezone.utc))
    except CronSimError as exc:
        raise invalid(f"cron: {expr!r} is not valid: {exc}") from None


def _next_fire(s: Schedule, after: float) -> float | None:
    """The first fire time strictly after `after`."""
    if not s.enabled:
        return None
    if s.interval_seconds:
        elapsed = max(0.0, after - s.created_at)
        return s.created_at + (math.floor(elapsed / s.interval_seconds) + 1) * s.interval_seconds
    if s.cron:
        start = datetime.fromtimestamp(math.floor(after), _zone(s.timezone))
        return next(iter(CronSim(s.cron, start))).timestamp()
    return None


def _fire(c: Caller, s: Schedule, at: float, *, waits_for: str | None = None) -> Run:
    suite = get_suite(c, s.suite_id)
    version = _resolve_version(c, suite, s.suite_version)
    knobs = wire.ScheduleRunConfig.model_validate(s.run)
    run = build_run(c, suite, version, models=knobs.models, task_ids=knobs.task_ids, knobs=knobs,
                    metadata={"schedule_id": s.id, **s.metadata}, created_at=at, schedule_id=s.id,
                    hold=waits_for is not None)
    if waits_for is not None:  # held in queued until the run ahead of it finishes
        run.waits_for = waits_for
        run.durations["queued"] = None
    s.last_run_id, s.last_run_at = run.id, at
    return run


def _overlap(c: Caller, s: Schedule, at: float) -> str:
    """What an occurrence at `at` does under the overlap policy: "start", "wait" (buffered) or "drop"."""
    last = runs(c.ns).get_any(s.last_run_id) if s.last_run_id else None
    if last is None or s.overlap_policy == "allow_all":
        return "start"
    end = finished_at(sync(c, last))  # timestamps tell whether it had finished by `at`
    if end is not None and end <= at:
        return "start"
    if s.overlap_policy == "skip":
        return "drop"
    # buffer_one: one occurrence may wait behind a running run; while one is waiting, the rest are dropped.
    return "drop" if last.waits_for is not None else "wait"


def _due(s: Schedule, now: float) -> list[float]:
    """Occurrences from next_run_at up to now, oldest first; after a long clock jump only the newest
    MAX_FIRES_PER_SYNC are kept (the older ones are missed, as a scheduler's catch-up window would)."""
    if not s.enabled or s.next_run_at is None or s.next_run_at > now:
        return []
    if s.interval_seconds:
        first = round((s.next_run_at - s.created_at) / s.interval_seconds)
        last = math.floor((now - s.created_at) / s.interval_seconds)
        first = max(first, last - MAX_FIRES_PER_SYNC + 1)
        return [s.created_at + k * s.interval_seconds for k in range(first, last + 1)]
    newest_first = []
    for when in CronSim(s.cron, datetime.fromtimestamp(math.floor(now) + 1, _zone(s.timezone)), reverse=True):
        at = when.timestamp()
        if at < s.next_run_at or len(newest_first) == MAX_FIRES_PER_SYNC:
            break
        newest_first.append(at)
    return newest_first[::-1]


def sync_schedule(c: Caller, s: Schedule) -> Schedule:
    """Fire every due occurrence up to now (lazily, on read), then set next_run_at."""
    now = c.now
    for at in _due(s, now):
        decision = _overlap(c, s, at)
        if decision == "drop":
            continue
        try:
            _fire(c, s, at, waits_for=s.last_run_id if decision == "wait" else None)
        except ApiError:  # the suite was deleted since: the occurrence is skipped
            pass
    if s.enabled and s.next_run_at is not None and s.next_run_at <= now:
        s.next_run_at = _next_fire(s, now)
    return s


def get_schedule(c: Caller, schedule_id: str) -> Schedule:
    s = schedules(c.ns).get(schedule_id)
    if s is None:
        raise not_found("eval schedule", schedule_id)
    return sync_schedule(c, s)


def _check_cadence(cron: str | None, interval: int | None, tz: str) -> None:
    if (cron is None) == (interval is None):
        raise invalid("exactly one of cron and interval_seconds must be set")
    if cron is not None:
        _check_cron(cron)
    _zone(tz)


def create_schedule(c: Caller, body: wire.CreateSchedule) -> Schedule:
    _check_cadence(body.cron, body.interval_seconds, body.timezone)
    suite = get_suite(c, body.suite_id)
    if body.suite_version is not None:
        _resolve_version(c, suite, body.suite_version)
    _task_specs(suite.version(body.suite_version or suite.active_version), body.run.task_ids)
    now = c.now
    s = Schedule(
        id=c.ns.new_id("eval_sched_"), name=body.name, description=body.description, suite_id=suite.id,
        suite_version=body.suite_version, cron=body.cron, interval_seconds=body.interval_seconds,
        timezone=body.timezone, overlap_policy=body.overlap_policy, enabled=body.enabled,
        webhook_url=body.webhook_url, webhook_secret=body.webhook_secret,
        run=body.run.model_dump(mode="json", exclude_none=True), metadata=dict(body.metadata), created_at=now,
        updated_at=now, owner=c.owner,
    )
    s.next_run_at = _next_fire(s, now)
    schedules(c.ns).add(s.id, s)
    return s


def list_schedules(c: Caller, q: wire.ListSchedulesQuery) -> Page[Schedule]:
    coll = schedules(c.ns)
    index = coll.index("suite", q.suite_id) if q.suite_id is not None else coll.index()
    keep = None if q.enabled is None else (lambda s: s.enabled == (q.enabled == "true"))
    page = after_page(coll, index, after=q.after, limit=q.limit, keep=keep)
    for s in page.items:
        sync_schedule(c, s)
    return page


def update_schedule(c: Caller, schedule_id: str, body: wire.UpdateSchedule) -> Schedule:
    s = get_schedule(c, schedule_id)
    given = body.model_fields_set
    cron = body.cron if "cron" in given else (None if "interval_seconds" in given and body.interval_seconds else s.cron)
    interval = body.interval_seconds if "interval_seconds" in given else (None if "cron" in given and body.cron else s.interval_seconds)
    tz = body.timezone or s.timezone
    _check_cadence(cron, interval, tz)
    suite = get_suite(c, s.suite_id)
    suite_version = body.suite_version if "suite_version" in given else s.suite_version
    if suite_version is not None:
        _resolve_version(c, suite, suite_version)
    for name in ("name", "overlap_policy", "enabled", "metadata"):
        if name in given and getattr(body, name) is not None:
            setattr(s, name, getattr(body, name))
    for name in ("description", "webhook_url", "webhook_secret"):
        if name in given:
            setattr(s, name, getattr(body, name))
    if "run" in given and body.run is not None:
        _task_specs(suite.version(suite_version or suite.active_version), body.run.task_ids)
        s.run = body.run.model_dump(mode="json", exclude_none=True)
    s.cron, s.interval_seconds, s.timezone, s.suite_version = cron, interval, tz, suite_version
    s.updated_at = c.now
    s.next_run_at = _next_fire(s, c.now)
    return s


def delete_schedule(c: Caller, schedule_id: str) -> str:
    s = get_schedule(c, schedule_id)
    schedules(c.ns).remove(s.id)
    return s.id


def trigger_schedule(c: Caller, schedule_id: str) -> Schedule:
    s = get_schedule(c, schedule_id)
    _fire(c, s, c.now)
    s.updated_at = c.now
    return s


def last_run_status(c: Caller, s: Schedule) -> str | None:
    if s.last_run_id is None:
        return None
    run = runs(c.ns).get_any(s.last_run_id)
    return sync(c, run).status if run is not None else None


def list_schedule_runs(c: Caller, schedule_id: str, q: wire.ListScheduleRunsQuery) -> Page[Run]:
    s = get_schedule(c, schedule_id)
    if q.suite_id is not None and q.suite_id != s.suite_id:
        raise invalid(f"suite_id {q.suite_id!r} is not the suite of schedule {s.id!r}")
    coll = runs(c.ns)
    keep = _run_filter(c, owned_only=False, suite_version=q.suite_version, status=q.status)
    return _synced(c, after_page(coll, coll.index("schedule", s.id), after=q.after, limit=q.limit, keep=keep))
