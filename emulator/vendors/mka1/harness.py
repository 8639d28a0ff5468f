"""Coding-agent (harness) runs: imported trials, appended trials, token backfill and the leaderboards.

These runs carry their trials as given instead of generated samples; their lifecycle is the same table
(records.RUN_LIFECYCLE): an import is `completed` at once, or held `in_progress` until trials are finalized.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import datetime
from typing import Any

from emulator.core.errors import conflict, invalid
from emulator.vendors.mka1 import samples as sample_gen
from emulator.vendors.mka1 import wire
from emulator.vendors.mka1.records import RUN_LIFECYCLE, Run, Suite, SuiteVersion
from emulator.vendors.mka1.service import (
    Caller,
    get_run,
    get_suite,
    mean,
    on_enter,
    resolve_version,
    runs,
    sync,
    task_specs,
)

LEADERBOARD_RUNS_CEILING = 200  # group entries per leaderboard-runs response before it truncates


# ---- agent runs (harness imports) ---------------------------------------------------------------------------


def _trial_sample(run: Run, sample_id: str, trial: wire.Trial, index: int, created_at: float) -> dict[str, Any]:
    at = int(created_at)
    return {
        "id": sample_id,
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
        existing = run.trials.get(key)
        # an upsert keeps the sample's id (and its place in lists); a new trial takes the next position
        sample_id = existing["id"] if existing else sample_gen.sample_id(run, len(run.trials))
        run.trials[key] = _trial_sample(run, sample_id, trial, index, created_at)
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
    version = resolve_version(c, suite, body.suite_version)
    _check_trial_tasks(version, body.trials)
    created = float(body.created_at) if body.created_at is not None else c.now
    run = Run(
        id=c.ns.new_id("eval_run_"), suite_id=suite.id, suite_version=version.version,
        suite_version_id=version.id, org_id=c.org_id, team_id=c.team_id, owner=c.owner, models=[body.model],
        task_ids=None, tasks=task_specs(version, None), per_task=0, judge_model=None, embedding_model=None,
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
        RUN_LIFECYCLE.act(run, "finalize", c.now, on_enter, what=f"eval run {run.id}")
    return run


def append_trials(c: Caller, run_id: str, body: wire.AppendTrials) -> Run:
    run = get_run(c, run_id)
    if run.trials is None:
        raise conflict(f"eval run {run.id} is not an agent run opened with finalize:false; it takes no trials")
    RUN_LIFECYCLE.require(run, "append_trials", what=f"eval run {run.id}")
    version = get_suite(c, run.suite_id).version(run.suite_version)
    _check_trial_tasks(version, body.trials)
    _upsert_trials(run, body.trials, c.now)
    if body.finalize:
        RUN_LIFECYCLE.act(run, "finalize", c.now, on_enter, what=f"eval run {run.id}")
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
    accuracy = mean(values) if values else None

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


