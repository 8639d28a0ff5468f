"""Eval schedules: cadence (cron or interval), lazy firing on the namespace clock, overlap policies."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from emulator.core.errors import ApiError, invalid, not_found
from emulator.core.namespace import Namespace
from emulator.core.pagination import Page, after_page
from emulator.core.store import Collection
from emulator.vendors.mka1 import wire
from emulator.vendors.mka1.records import Run, Schedule
from emulator.vendors.mka1.service import (
    BY_SUITE,
    Caller,
    build_run,
    finished_at,
    get_suite,
    resolve_version,
    run_filter,
    runs,
    sync,
    synced,
    task_specs,
)

MAX_FIRES_PER_SYNC = 100  # occurrences replayed at once after a long clock jump; older ones are missed


def schedules(ns: Namespace) -> Collection[Schedule]:
    return ns.store.collection("mka1.schedules", BY_SUITE)


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
    version = resolve_version(c, suite, s.suite_version)
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


def fire_due(c: Caller) -> None:
    """Fire every schedule that is due, so runs they made show up in run lists too."""
    now = c.now
    for s in schedules(c.ns).values():
        if s.enabled and s.next_run_at is not None and s.next_run_at <= now:
            sync_schedule(c, s)


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
        resolve_version(c, suite, body.suite_version)
    task_specs(suite.version(body.suite_version or suite.active_version), body.run.task_ids)
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
    """Everything is checked before anything changes; setting one cadence replaces the other."""
    s = get_schedule(c, schedule_id)
    given = body.model_fields_set
    cron, interval = s.cron, s.interval_seconds
    if "cron" in given:
        cron = body.cron
        if body.cron and "interval_seconds" not in given:
            interval = None
    if "interval_seconds" in given:
        interval = body.interval_seconds
        if body.interval_seconds and "cron" not in given:
            cron = None
    tz = body.timezone or s.timezone
    _check_cadence(cron, interval, tz)
    suite = get_suite(c, s.suite_id)
    suite_version = body.suite_version if "suite_version" in given else s.suite_version
    if suite_version is not None:
        resolve_version(c, suite, suite_version)
    if "run" in given and body.run is not None:
        task_specs(suite.version(suite_version or suite.active_version), body.run.task_ids)
        s.run = body.run.model_dump(mode="json", exclude_none=True)
    for name in ("name", "overlap_policy", "enabled", "metadata"):
        if name in given and getattr(body, name) is not None:
            setattr(s, name, getattr(body, name))
    for name in ("description", "webhook_url", "webhook_secret"):
        if name in given:
            setattr(s, name, getattr(body, name))
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
    keep = run_filter(c, owned_only=False, suite_version=q.suite_version, status=q.status)
    return synced(c, after_page(coll, coll.index("schedule", s.id), after=q.after, limit=q.limit, keep=keep))
