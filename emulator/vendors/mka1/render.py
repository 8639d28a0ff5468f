"""MKA1 wire shapes: records to the JSON the official SDK parses (every required key, `object` literals)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from emulator.core.jsonio import dumps, dumps_kept
from emulator.vendors.mka1 import schedules, service
from emulator.vendors.mka1.records import (
    RUN_LIFECYCLE,
    Run,
    Schedule,
    Share,
    Suite,
    SuiteVersion,
)
from emulator.vendors.mka1.service import Caller


def _ts(value: float | None) -> int | None:
    return None if value is None else int(value)


def run(c: Caller, r: Run) -> dict[str, Any]:
    report = service.run_report(c, r)
    agent = r.agent or {}
    return {
        "id": r.id,
        "object": "eval.run",
        "suite_id": r.suite_id,
        "suite_version": r.suite_version,
        "suite_version_id": r.suite_version_id,
        "org_id": r.org_id,
        "team_id": r.team_id,
        "status": r.status,
        "models": r.models,
        "task_ids": r.task_ids,
        "judge_model": r.judge_model,
        "embedding_model": r.embedding_model,
        "generation": r.generation,
        "request_counts": report["request_counts"],
        "metrics": report["metrics"],
        "error": r.error,
        "artifact_file_ids": service.artifact_ids(r)["artifact_file_ids"],
        "metadata": r.metadata,
        "agent_name": agent.get("agent_name"),
        "agent_version": agent.get("agent_version"),
        "agent_effort": agent.get("agent_effort"),
        "cost_usd": report["cost_usd"],
        "tokens": report["tokens"],
        "created_at": int(r.created_at),
        "started_at": _ts(r.started_at),
        "completed_at": _ts(r.completed_at),
        "cancelled_at": _ts(r.cancelled_at),
        "failed_at": _ts(r.failed_at),
    }


# How many encoded runs a namespace keeps: the hot ones are polled and listed again and again, and the bound keeps
# a walk over a hundred thousand runs from keeping each one's bytes.
ENCODED_RUNS_KEPT = 5_000


def run_bytes(c: Caller, r: Run, now: float | None = None) -> bytes:
    """Encoded run, reused until something changes it: a run at rest (terminal) at any time, a moving one while
    the clock has not moved (a manual clock between advances, so a page of queued runs is encoded once). Every
    change to a run clears its bytes (on_enter and the other writers set `cached = None`); a namespace keeps the
    most recently encoded ENCODED_RUNS_KEPT. `now` is the clock's time when the caller already has it (a page)."""
    cached = r.cached
    if cached is not None:
        at = r.cached_at
        if at is None or at == (c.now if now is None else now):
            return cached
    if now is None:
        now = c.now
    r.cached = encoded = dumps_kept(run(c, r))
    r.cached_at = None if r.status in RUN_LIFECYCLE.terminal else now
    kept: OrderedDict[str, Run] = c.ns.cache.setdefault("mka1.encoded", OrderedDict())
    kept[r.id] = r
    kept.move_to_end(r.id)
    if len(kept) > ENCODED_RUNS_KEPT:
        kept.popitem(last=False)[1].cached = None
    return encoded


def suite(s: Suite) -> dict[str, Any]:
    return {
        "id": s.id, "object": "eval.suite", "name": s.name, "description": s.description, "org_id": s.org_id,
        "team_id": s.team_id, "access": "owner", "active_version": s.active_version,
        "latest_version": s.latest_version, "metadata": s.metadata, "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def version(v: SuiteVersion) -> dict[str, Any]:
    return {
        "id": v.id, "object": "eval.suite.version", "suite_id": v.suite_id, "version": v.version,
        "manifest": v.manifest, "dataset_file_ids": v.dataset_file_ids, "metadata": v.metadata,
        "created_at": v.created_at,
    }


def share(s: Share) -> dict[str, Any]:
    return {"id": s.id, "object": "eval.suite.share", "suite_id": s.suite_id, "org_id": s.org_id,
            "granted_by": s.granted_by, "created_at": s.created_at}


def schedule(c: Caller, s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id, "object": "eval.schedule", "name": s.name, "description": s.description,
        "suite_id": s.suite_id, "suite_version": s.suite_version, "cron": s.cron,
        "interval_seconds": s.interval_seconds, "timezone": s.timezone, "overlap_policy": s.overlap_policy,
        "enabled": s.enabled, "webhook_url": s.webhook_url, "webhook_configured": s.webhook_secret is not None,
        "run": s.run, "metadata": s.metadata, "last_run_id": s.last_run_id, "last_run_at": _ts(s.last_run_at),
        "last_run_status": schedules.last_run_status(c, s), "next_run_at": _ts(s.next_run_at),
        "created_at": int(s.created_at), "updated_at": int(s.updated_at),
    }


def deleted(kind: str, ident: str, **extra: Any) -> dict[str, Any]:
    return {"id": ident, "object": f"{kind}.deleted", "deleted": True, **extra}


def listing(items: list[bytes], has_more: bool, first_id: str | None, last_id: str | None) -> bytes:
    """The list envelope around already-encoded items, built with a single copy of the page."""
    head = b'{"object":"list","data":['
    tail = b"]," + dumps({"has_more": has_more, "first_id": first_id, "last_id": last_id})[1:]
    if not items:
        return head + tail
    if len(items) == 1:
        return head + items[0] + tail
    return b",".join([head + items[0], *items[1:-1], items[-1] + tail])


def page(items: list[Any], has_more: bool, encode) -> bytes:
    """A list envelope over records, `encode` turning each into bytes."""
    return listing([encode(i) for i in items], has_more, items[0].id if items else None,
                   items[-1].id if items else None)
