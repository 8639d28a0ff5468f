"""Contract tests of the MKA1 evals schedule routes and the Hugging Face historical import, through the official
SDK (meetkai-mka1 0.12.128).

Schedules fire on the namespace's manual clock: `control.advance()` moves time, and every read of a schedule
fires the occurrences that fell due (each fired run is created at its occurrence time). A fresh run takes about
45 s of clock time to complete (queued 2 s, in progress 40 s, finalizing 3 s).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import TOKEN
from tests.strict import api_error

SCHEDULE_ID = re.compile(r"^eval_sched_[0-9a-f]{32}$")
RUN_ID = re.compile(r"^eval_run_[0-9a-f]{32}$")
MISSING_SCHEDULE = "eval_sched_" + "0" * 32
RUN_SECONDS = 45  # queued 2 + in_progress 40 + finalizing 3
HF_URL = "/api/v1/llm/evals/imports/huggingface-results"


def at(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


def move_clock_to(control, when: int) -> None:
    now = control.now()
    assert when >= now
    control.advance(when - now)


def qa_manifest(*task_ids: str) -> dict:
    return {"tasks": [{"id": t, "type": "qa", "dataset": {"file_id": f"file_{t}"}} for t in task_ids]}


def schedule(mka1, suite, **kwargs):
    kwargs.setdefault("name", "nightly")
    kwargs.setdefault("run", {"models": ["gpt-4o-mini"]})
    if "cron" not in kwargs:
        kwargs.setdefault("interval_seconds", 3600)
    return mka1.create_schedule(suite_id=suite.id, **kwargs)


def all_runs(mka1, schedule_id: str, **kwargs) -> list:
    runs, after = [], None
    while True:
        page = mka1.list_schedule_runs(schedule_id=schedule_id, after=after, limit=100, **kwargs)
        runs += page.data
        if not page.has_more:
            return runs
        after = page.last_id


# ---- create -------------------------------------------------------------------------------------------------


def test_create_interval_schedule_returns_every_value(mka1, suite, control):
    control.advance(17)
    now = int(control.now())
    sc = mka1.create_schedule(
        name="hourly regression", description="runs every 15 minutes", suite_id=suite.id, interval_seconds=900,
        run={"models": ["gpt-4o-mini", "gpt-4o"], "task_ids": ["faq", "intent"], "max_samples_per_task": 2,
             "judge_model": "judge-1", "generation": {"temperature": 0.2}},
        overlap_policy="allow_all", webhook_url="https://hooks.example.com/evals", webhook_secret="s3cr3t",
        metadata={"owner": "qa"},
    )
    assert SCHEDULE_ID.match(sc.id), sc.id
    assert sc.object == "eval.schedule"
    assert sc.name == "hourly regression"
    assert sc.description == "runs every 15 minutes"
    assert sc.suite_id == suite.id
    assert sc.suite_version is None
    assert sc.interval_seconds == 900
    assert sc.cron is None
    assert sc.timezone == "UTC"
    assert sc.overlap_policy == "allow_all"
    assert sc.enabled is True
    assert sc.webhook_url == "https://hooks.example.com/evals"
    assert sc.webhook_configured is True
    assert sc.run.models == ["gpt-4o-mini", "gpt-4o"]
    assert sc.run.task_ids == ["faq", "intent"]
    assert sc.run.max_samples_per_task == 2
    assert sc.run.judge_model == "judge-1"
    assert sc.run.generation.temperature == 0.2
    assert sc.metadata == {"owner": "qa"}
    assert sc.last_run_id is None and sc.last_run_at is None and sc.last_run_status is None
    assert sc.next_run_at == now + 900
    assert sc.created_at == now and sc.updated_at == now


def test_webhook_secret_is_never_returned(mka1, suite):
    sc = schedule(mka1, suite, webhook_url="https://hooks.example.com/x", webhook_secret="top-secret-value")
    reads = [mka1.get_schedule(schedule_id=sc.id), mka1.list_schedules().data[0],
             mka1.trigger_schedule(schedule_id=sc.id), mka1.update_schedule(schedule_id=sc.id, name="renamed")]
    for read in reads:
        assert read.webhook_configured is True
        assert "top-secret-value" not in json.dumps(read.model_dump())
    assert "top-secret-value" not in mka1.last_response.text


def test_create_schedule_defaults(mka1, suite):
    sc = schedule(mka1, suite)
    assert sc.timezone == "UTC"
    assert sc.overlap_policy == "skip"
    assert sc.enabled is True
    assert sc.webhook_url is None
    assert sc.webhook_configured is False
    assert sc.description is None
    assert sc.metadata == {}
    assert sc.run.model_dump(exclude_none=True) == {"models": ["gpt-4o-mini"]}


def test_create_schedule_paused(mka1, suite, control):
    sc = schedule(mka1, suite, enabled=False, interval_seconds=60)
    assert sc.enabled is False
    assert sc.next_run_at is None
    control.advance(600)
    assert mka1.list_schedule_runs(schedule_id=sc.id).data == []
    got = mka1.get_schedule(schedule_id=sc.id)
    assert got.last_run_id is None and got.next_run_at is None


@pytest.mark.parametrize(
    "start, cron, tz, expected",
    [
        pytest.param("2026-01-01T00:00:00+00:00", "0 9 * * *", "Europe/Paris", "2026-01-01T09:00:00+01:00",
                     id="paris-winter-today"),
        pytest.param("2026-01-01T08:30:00+00:00", "0 9 * * *", "Europe/Paris", "2026-01-02T09:00:00+01:00",
                     id="paris-winter-already-past-today"),
        pytest.param("2026-06-15T00:00:00+00:00", "0 9 * * *", "Europe/Paris", "2026-06-15T09:00:00+02:00",
                     id="paris-summer-time"),
        pytest.param("2026-01-01T00:00:00+00:00", "30 18 * * 1", "America/New_York", "2026-01-05T18:30:00-05:00",
                     id="new-york-mondays"),
        pytest.param("2026-01-01T00:00:00+00:00", "0 9 * * *", "Asia/Kolkata", "2026-01-01T09:00:00+05:30",
                     id="kolkata-half-hour-offset"),
        pytest.param("2026-01-01T00:00:00+00:00", "0 9 * * *", "UTC", "2026-01-01T09:00:00+00:00", id="utc"),
    ],
)
def test_cron_next_run_at_is_computed_in_the_schedules_timezone(mka1, suite, control, start, cron, tz, expected):
    move_clock_to(control, at(start))
    sc = schedule(mka1, suite, cron=cron, timezone=tz)
    assert sc.cron == cron
    assert sc.interval_seconds is None
    assert sc.timezone == tz
    assert sc.next_run_at == at(expected)
    assert datetime.fromtimestamp(sc.next_run_at, ZoneInfo(tz)).isoformat() == expected


@pytest.mark.parametrize(
    "cadence",
    [
        pytest.param({"cron": "0 9 * * *", "interval_seconds": 3600}, id="both"),
        pytest.param({}, id="neither"),
    ],
)
def test_create_schedule_needs_exactly_one_cadence(mka1, suite, cadence):
    api_error(400, mka1.create_schedule, name="x", suite_id=suite.id, run={"models": ["m"]},
              match=r"cron.*interval_seconds|interval_seconds.*cron", **cadence)
    assert mka1.list_schedules().data == []


@pytest.mark.parametrize("cron", ["61 * * * *", "0 9 * *", "every day", "0 9 * * * *", "* 25 * * *"])
def test_create_schedule_bad_cron_is_400(mka1, suite, cron):
    api_error(400, mka1.create_schedule, name="x", suite_id=suite.id, run={"models": ["m"]}, cron=cron,
              match=r"cron")
    assert mka1.list_schedules().data == []


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "Europe/Pariss", "not a zone"])
@pytest.mark.parametrize("cadence", [{"cron": "0 9 * * *"}, {"interval_seconds": 60}], ids=["cron", "interval"])
def test_create_schedule_unknown_timezone_is_400(mka1, suite, tz, cadence):
    api_error(400, mka1.create_schedule, name="x", suite_id=suite.id, run={"models": ["m"]}, timezone=tz,
              match=r"timezone", **cadence)
    assert mka1.list_schedules().data == []


def test_create_schedule_unknown_suite_is_404(mka1):
    missing = "eval_suite_" + "f" * 32
    err = api_error(404, mka1.create_schedule, name="x", suite_id=missing, run={"models": ["m"]},
                    interval_seconds=60, match=re.escape(missing))
    assert err["type"] == "not_found_error"


def test_create_schedule_unknown_task_is_400(mka1, suite):
    api_error(400, mka1.create_schedule, name="x", suite_id=suite.id, interval_seconds=60,
              run={"models": ["m"], "task_ids": ["nope"]}, match=r"task_ids.*nope")


# ---- get / list ---------------------------------------------------------------------------------------------


def test_get_schedule_returns_what_create_returned(mka1, suite, control):
    sc = schedule(mka1, suite, cron="0 9 * * *", timezone="Europe/Paris", metadata={"k": "v"})
    control.advance(60)
    assert mka1.get_schedule(schedule_id=sc.id).model_dump() == sc.model_dump()


def test_list_schedules_filters_by_suite(mka1, suite):
    other = mka1.create_suite(name="other", manifest=qa_manifest("faq"))
    a = schedule(mka1, suite, name="a").id
    b = schedule(mka1, other, name="b").id
    c = schedule(mka1, suite, name="c").id
    assert [s.id for s in mka1.list_schedules(suite_id=suite.id).data] == [c, a]
    assert [s.id for s in mka1.list_schedules(suite_id=other.id).data] == [b]
    assert [s.id for s in mka1.list_schedules().data] == [c, b, a]
    assert all(s.suite_id == suite.id for s in mka1.list_schedules(suite_id=suite.id).data)


def test_list_schedules_filters_by_enabled(mka1, suite):
    on1 = schedule(mka1, suite, name="on1").id
    off = schedule(mka1, suite, name="off", enabled=False).id
    on2 = schedule(mka1, suite, name="on2").id
    paused = schedule(mka1, suite, name="paused later").id
    mka1.update_schedule(schedule_id=paused, enabled=False)

    enabled = mka1.list_schedules(enabled="true").data
    assert [s.id for s in enabled] == [on2, on1]
    assert all(s.enabled is True for s in enabled)
    disabled = mka1.list_schedules(enabled="false").data
    assert [s.id for s in disabled] == [paused, off]
    assert all(s.enabled is False and s.next_run_at is None for s in disabled)
    assert len(mka1.list_schedules().data) == 4


def test_list_schedules_pages_newest_first(mka1, suite):
    ids = [schedule(mka1, suite, name=f"s{i}").id for i in range(5)]
    seen, after, has_more = [], None, []
    while True:
        page = mka1.list_schedules(after=after, limit=2)
        assert page.object == "list"
        assert (page.first_id, page.last_id) == (page.data[0].id, page.data[-1].id)
        seen += [s.id for s in page.data]
        has_more.append(page.has_more)
        if not page.has_more:
            break
        after = page.last_id
    assert seen == ids[::-1]
    assert has_more == [True, True, False]


@pytest.mark.parametrize("limit", [0, 101])
def test_list_schedules_limit_out_of_range_is_400(mka1, limit):
    api_error(400, mka1.list_schedules, limit=limit, match=r"limit")


def test_list_schedules_enabled_must_be_true_or_false(mka1):
    api_error(400, mka1.list_schedules, enabled="yes", match=r"enabled")


# ---- update -------------------------------------------------------------------------------------------------


def test_update_schedule_rename_touches_only_the_name(mka1, suite, control):
    sc = schedule(mka1, suite, description="d", metadata={"k": "v"}, webhook_url="https://h.example.com",
                  webhook_secret="s")
    control.advance(30)
    updated = mka1.update_schedule(schedule_id=sc.id, name="renamed")
    assert updated.name == "renamed"
    assert updated.updated_at == int(control.now())
    unchanged = {k: v for k, v in sc.model_dump().items() if k not in ("name", "updated_at")}
    assert {k: v for k, v in updated.model_dump().items() if k not in ("name", "updated_at")} == unchanged
    assert mka1.get_schedule(schedule_id=sc.id).name == "renamed"


def test_update_schedule_from_interval_to_cron(mka1, suite, control):
    sc = schedule(mka1, suite, interval_seconds=600)
    move_clock_to(control, at("2026-01-01T10:00:00+00:00"))  # past 09:00 Paris; the interval fired meanwhile
    updated = mka1.update_schedule(schedule_id=sc.id, cron="0 9 * * *", timezone="Europe/Paris")
    assert updated.cron == "0 9 * * *"
    assert updated.interval_seconds is None
    assert updated.timezone == "Europe/Paris"
    assert updated.next_run_at == at("2026-01-02T09:00:00+01:00")
    assert mka1.get_schedule(schedule_id=sc.id).next_run_at == at("2026-01-02T09:00:00+01:00")


def test_update_schedule_from_cron_to_interval(mka1, suite, control):
    sc = schedule(mka1, suite, cron="0 9 * * *")
    control.advance(120)
    updated = mka1.update_schedule(schedule_id=sc.id, interval_seconds=300)
    assert updated.cron is None
    assert updated.interval_seconds == 300
    now = int(control.now())
    assert now < updated.next_run_at <= now + 300


def test_update_schedule_timezone_moves_next_run_at(mka1, suite):
    sc = schedule(mka1, suite, cron="0 9 * * *")
    assert sc.next_run_at == at("2026-01-01T09:00:00+00:00")
    updated = mka1.update_schedule(schedule_id=sc.id, timezone="Asia/Tokyo")  # 09:00 JST = 00:00 UTC, now
    assert updated.next_run_at == at("2026-01-02T09:00:00+09:00")


@pytest.mark.parametrize(
    "change, match",
    [
        pytest.param({"cron": "bad cron"}, r"cron", id="bad-cron"),
        pytest.param({"timezone": "Nowhere/Land"}, r"timezone", id="bad-timezone"),
        pytest.param({"cron": None}, r"cron|interval_seconds", id="clearing-the-only-cadence"),
        pytest.param({"cron": "0 9 * * *", "interval_seconds": 60}, r"cron.*interval_seconds", id="both"),
    ],
)
def test_update_schedule_rejects_bad_cadence_and_changes_nothing(mka1, suite, change, match):
    sc = schedule(mka1, suite, cron="0 12 * * *")
    api_error(400, mka1.update_schedule, schedule_id=sc.id, match=match, **change)
    assert mka1.get_schedule(schedule_id=sc.id).model_dump() == sc.model_dump()


def test_update_schedule_with_an_unknown_task_changes_nothing(mka1, suite):
    sc = schedule(mka1, suite, cron="0 12 * * *")
    api_error(400, mka1.update_schedule, schedule_id=sc.id, match=r"nope", name="renamed",
              run={"models": ["m"], "task_ids": ["nope"]})
    assert mka1.get_schedule(schedule_id=sc.id).model_dump() == sc.model_dump()


def test_update_schedule_explicit_none_clears_description_and_webhook(mka1, suite):
    sc = schedule(mka1, suite, description="desc", webhook_url="https://h.example.com/x", webhook_secret="s")
    kept = mka1.update_schedule(schedule_id=sc.id, name="n2")
    assert kept.description == "desc" and kept.webhook_url == "https://h.example.com/x"
    assert kept.webhook_configured is True
    cleared = mka1.update_schedule(schedule_id=sc.id, description=None, webhook_url=None, webhook_secret=None)
    assert cleared.description is None
    assert cleared.webhook_url is None
    assert cleared.webhook_configured is False
    got = mka1.get_schedule(schedule_id=sc.id)
    assert (got.description, got.webhook_url, got.webhook_configured) == (None, None, False)
    assert got.name == "n2"


def test_update_schedule_run_config_overlap_and_metadata(mka1, suite):
    sc = schedule(mka1, suite)
    updated = mka1.update_schedule(schedule_id=sc.id, run={"models": ["m2"], "task_ids": ["intent"]},
                                   overlap_policy="buffer_one", metadata={"a": "b"})
    assert updated.run.models == ["m2"]
    assert updated.run.task_ids == ["intent"]
    assert updated.overlap_policy == "buffer_one"
    assert updated.metadata == {"a": "b"}
    triggered = mka1.trigger_schedule(schedule_id=sc.id)
    run = mka1.get_run(run_id=triggered.last_run_id)
    assert run.models == ["m2"]
    assert run.task_ids == ["intent"]
    assert run.metadata == {"schedule_id": sc.id, "a": "b"}


def test_disabling_clears_next_run_at_and_stops_firing(mka1, suite, control):
    sc = schedule(mka1, suite, interval_seconds=100)
    paused = mka1.update_schedule(schedule_id=sc.id, enabled=False)
    assert paused.enabled is False
    assert paused.next_run_at is None
    control.advance(1000)
    assert mka1.list_schedule_runs(schedule_id=sc.id).data == []
    assert mka1.get_schedule(schedule_id=sc.id).next_run_at is None

    resumed = mka1.update_schedule(schedule_id=sc.id, enabled=True)
    now = int(control.now())
    assert resumed.enabled is True
    assert now < resumed.next_run_at <= now + 100
    # No catch-up of the occurrences missed while paused.
    assert mka1.list_schedule_runs(schedule_id=sc.id).data == []


def test_update_unknown_schedule_is_404(mka1):
    api_error(404, mka1.update_schedule, schedule_id=MISSING_SCHEDULE, name="x", match=re.escape(MISSING_SCHEDULE))


# ---- delete -------------------------------------------------------------------------------------------------


def test_delete_schedule(mka1, suite):
    sc = schedule(mka1, suite)
    kept = schedule(mka1, suite, name="kept")
    run_id = mka1.trigger_schedule(schedule_id=sc.id).last_run_id
    deleted = mka1.delete_schedule(schedule_id=sc.id)
    assert deleted.id == sc.id
    assert deleted.object == "eval.schedule.deleted"
    assert deleted.deleted is True
    api_error(404, mka1.get_schedule, schedule_id=sc.id, match=re.escape(sc.id))
    api_error(404, mka1.delete_schedule, schedule_id=sc.id, match=re.escape(sc.id))
    assert [s.id for s in mka1.list_schedules().data] == [kept.id]
    # Historical runs are preserved.
    run = mka1.get_run(run_id=run_id)
    assert run.metadata["schedule_id"] == sc.id


SCHEDULE_ROUTES = [
    ("get_schedule", {}),
    ("update_schedule", {"name": "x"}),
    ("delete_schedule", {}),
    ("trigger_schedule", {}),
    ("list_schedule_runs", {}),
]


@pytest.mark.parametrize("route, kwargs", SCHEDULE_ROUTES, ids=[r for r, _ in SCHEDULE_ROUTES])
def test_unknown_schedule_is_404_on_every_schedule_route(mka1, route, kwargs):
    err = api_error(404, getattr(mka1, route), schedule_id=MISSING_SCHEDULE, match=re.escape(MISSING_SCHEDULE),
                    **kwargs)
    assert err["type"] == "not_found_error"


# ---- trigger ------------------------------------------------------------------------------------------------


def test_trigger_returns_the_schedule_with_a_new_run(mka1, suite, control):
    sc = schedule(mka1, suite, interval_seconds=3600, run={"models": ["m1", "m2"], "task_ids": ["faq"],
                                                            "max_samples_per_task": 2},
                  metadata={"team": "qa"})
    control.advance(5)
    now = int(control.now())
    triggered = mka1.trigger_schedule(schedule_id=sc.id)
    assert triggered.object == "eval.schedule"
    assert triggered.id == sc.id
    assert RUN_ID.match(triggered.last_run_id), triggered.last_run_id
    assert triggered.last_run_at == now
    assert triggered.last_run_status == "queued"
    assert triggered.next_run_at == sc.next_run_at  # in addition to the normal cadence

    run = mka1.get_run(run_id=triggered.last_run_id)
    assert run.suite_id == suite.id
    assert run.suite_version == 1
    assert run.models == ["m1", "m2"]
    assert run.task_ids == ["faq"]
    assert run.request_counts.total == 1 * 2 * 2
    assert run.metadata == {"schedule_id": sc.id, "team": "qa"}
    assert run.created_at == now

    listed = mka1.list_schedule_runs(schedule_id=sc.id)
    assert listed.object == "list"
    assert [r.id for r in listed.data] == [run.id]
    assert listed.has_more is False
    # It is a normal run too.
    assert run.id in [r.id for r in mka1.list_runs(suite_id=suite.id).data]


def test_each_trigger_makes_another_run(mka1, suite, control):
    sc = schedule(mka1, suite, overlap_policy="skip")
    first = mka1.trigger_schedule(schedule_id=sc.id).last_run_id
    control.advance(1)
    second = mka1.trigger_schedule(schedule_id=sc.id).last_run_id
    assert first != second
    assert [r.id for r in mka1.list_schedule_runs(schedule_id=sc.id).data] == [second, first]


def test_last_run_status_follows_the_run(mka1, suite, control):
    sc = schedule(mka1, suite)
    mka1.trigger_schedule(schedule_id=sc.id)
    control.advance(RUN_SECONDS + 1)
    got = mka1.get_schedule(schedule_id=sc.id)
    assert got.last_run_status == "completed"
    assert mka1.get_run(run_id=got.last_run_id).status == "completed"


def test_schedule_without_suite_version_uses_the_active_version_at_fire_time(mka1, suite):
    sc = schedule(mka1, suite)
    v1_run = mka1.get_run(run_id=mka1.trigger_schedule(schedule_id=sc.id).last_run_id)
    mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest("faq", "new"))
    v2_run = mka1.get_run(run_id=mka1.trigger_schedule(schedule_id=sc.id).last_run_id)
    assert (v1_run.suite_version, v2_run.suite_version) == (1, 2)


def test_schedule_pinned_to_a_suite_version(mka1, suite):
    mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest("faq"))
    sc = schedule(mka1, suite, suite_version=1)
    assert sc.suite_version == 1
    run = mka1.get_run(run_id=mka1.trigger_schedule(schedule_id=sc.id).last_run_id)
    assert run.suite_version == 1
    api_error(404, mka1.create_schedule, name="x", suite_id=suite.id, suite_version=9, interval_seconds=60,
              run={"models": ["m"]}, match=r"\b9\b")


# ---- firing on the clock ------------------------------------------------------------------------------------


def test_interval_schedule_fires_as_the_clock_passes_next_run_at(mka1, suite, control):
    t0 = int(control.now())
    sc = schedule(mka1, suite, interval_seconds=3600)
    assert sc.next_run_at == t0 + 3600

    control.advance(3599)
    assert mka1.list_schedule_runs(schedule_id=sc.id).data == []
    assert mka1.get_schedule(schedule_id=sc.id).next_run_at == t0 + 3600

    control.advance(1)
    got = mka1.get_schedule(schedule_id=sc.id)
    assert got.last_run_at == t0 + 3600
    assert got.next_run_at == t0 + 7200
    assert got.last_run_status == "queued"

    control.advance(2 * 3600 + 5)  # now t0 + 3h + 5s
    runs = all_runs(mka1, sc.id)
    assert [r.created_at for r in runs] == [t0 + 3 * 3600, t0 + 2 * 3600, t0 + 3600]
    assert [r.status for r in runs] == ["in_progress", "completed", "completed"]
    assert all(r.metadata["schedule_id"] == sc.id for r in runs)
    got = mka1.get_schedule(schedule_id=sc.id)
    assert got.last_run_id == runs[0].id
    assert got.last_run_at == t0 + 3 * 3600
    assert got.last_run_status == "in_progress"
    assert got.next_run_at == t0 + 4 * 3600


def test_cron_schedule_fires_in_its_timezone(mka1, suite, control):
    sc = schedule(mka1, suite, cron="0 9 * * *", timezone="Europe/Paris")
    first = at("2026-01-01T09:00:00+01:00")
    assert sc.next_run_at == first
    move_clock_to(control, first + 10)
    got = mka1.get_schedule(schedule_id=sc.id)
    assert got.last_run_at == first
    assert got.next_run_at == at("2026-01-02T09:00:00+01:00")
    move_clock_to(control, at("2026-01-04T12:00:00+01:00"))
    runs = all_runs(mka1, sc.id)
    assert [datetime.fromtimestamp(r.created_at, ZoneInfo("Europe/Paris")).isoformat() for r in runs] == [
        "2026-01-04T09:00:00+01:00", "2026-01-03T09:00:00+01:00", "2026-01-02T09:00:00+01:00",
        "2026-01-01T09:00:00+01:00"]
    assert mka1.get_schedule(schedule_id=sc.id).next_run_at == at("2026-01-05T09:00:00+01:00")


def test_fires_are_also_visible_through_list_schedules(mka1, suite, control):
    t0 = int(control.now())
    sc = schedule(mka1, suite, interval_seconds=600)
    control.advance(1800)
    listed = mka1.list_schedules().data[0]
    assert listed.id == sc.id
    assert listed.last_run_at == t0 + 1800
    assert listed.next_run_at == t0 + 2400
    assert len(all_runs(mka1, sc.id)) == 3


def test_fires_show_up_in_list_runs_without_reading_the_schedule(mka1, suite, control):
    t0 = int(control.now())
    sc = schedule(mka1, suite, interval_seconds=600)
    control.advance(1200)
    listed = mka1.list_runs().data
    assert [(r.created_at, r.metadata["schedule_id"]) for r in listed] == [(t0 + 1200, sc.id), (t0 + 600, sc.id)]


def advance_reading(mka1, control, schedule_id: str, seconds: int, step: int) -> None:
    """Move the clock `seconds` on, reading the schedule every `step` seconds (the outcome must not depend on it)."""
    for _ in range(seconds // step):
        control.advance(step)
        mka1.get_schedule(schedule_id=schedule_id)


READ_STEPS = pytest.mark.parametrize("step", [100, 10], ids=["read-once", "read-every-10s"])


@READ_STEPS
def test_overlap_allow_all_fires_every_occurrence(mka1, suite, control, step):
    t0 = int(control.now())
    sc = schedule(mka1, suite, interval_seconds=10, overlap_policy="allow_all")
    advance_reading(mka1, control, sc.id, 100, step)
    runs = all_runs(mka1, sc.id)
    assert [r.created_at for r in runs] == [t0 + 10 * k for k in range(10, 0, -1)]
    # Runs take ~45 s, so several are running at once.
    assert sum(r.status not in ("completed", "failed", "cancelled") for r in runs) >= 4
    got = mka1.get_schedule(schedule_id=sc.id)
    assert got.last_run_at == t0 + 100
    assert got.next_run_at == t0 + 110


@READ_STEPS
def test_overlap_skip_drops_occurrences_while_the_last_run_is_running(mka1, suite, control, step):
    t0 = int(control.now())
    sc = schedule(mka1, suite, interval_seconds=10, overlap_policy="skip")
    advance_reading(mka1, control, sc.id, 100, step)
    runs = all_runs(mka1, sc.id)
    # t0+10 fires; it runs until t0+55, so t0+20..t0+50 are skipped; t0+60 fires; t0+70..t0+100 are skipped.
    assert [r.created_at for r in runs] == [t0 + 60, t0 + 10]
    assert runs[1].status == "completed"
    assert runs[1].completed_at <= t0 + 60
    got = mka1.get_schedule(schedule_id=sc.id)
    assert got.last_run_id == runs[0].id
    assert got.last_run_at == t0 + 60
    assert got.next_run_at == t0 + 110  # skipped occurrences still move the cadence on


def test_overlap_skip_counts_a_triggered_run_as_running(mka1, suite, control):
    t0 = int(control.now())
    sc = schedule(mka1, suite, interval_seconds=20, overlap_policy="skip")
    control.advance(10)
    triggered = mka1.trigger_schedule(schedule_id=sc.id).last_run_id  # runs t0+10 .. t0+55
    control.advance(50)  # t0+60: occurrences at t0+20, +40 skipped, t0+60 fires
    runs = all_runs(mka1, sc.id)
    assert [r.created_at for r in runs] == [t0 + 60, t0 + 10]
    assert runs[1].id == triggered


def test_overlap_buffer_one_keeps_a_single_fire_waiting_behind_the_running_run(mka1, suite, control):
    """service.py: "buffer_one lets one fire wait in the queue behind a running one; skip drops it"."""
    t0 = int(control.now())
    sc = schedule(mka1, suite, interval_seconds=10, overlap_policy="buffer_one")
    control.advance(30)  # t0+10 fires and is running; t0+20 is buffered; t0+30 finds the buffer full
    runs = all_runs(mka1, sc.id)
    running = [r for r in runs if r.status in ("in_progress", "finalizing")]
    assert len(running) <= 1, [(r.created_at, r.status) for r in runs]
    assert 1 <= len(runs) <= 2, [(r.created_at, r.status) for r in runs]
    assert runs[-1].created_at == t0 + 10
    assert len([r for r in runs if r.status == "queued"]) <= 1


def test_a_long_clock_jump_brings_last_run_at_up_to_date(mka1, suite, control):
    t0 = int(control.now())
    sc = schedule(mka1, suite, interval_seconds=60, overlap_policy="allow_all", run={"models": ["m"],
                                                                                     "task_ids": ["faq"],
                                                                                     "max_samples_per_task": 1})
    control.advance(2 * 86400 + 30)
    got = mka1.get_schedule(schedule_id=sc.id)
    # The most recent due occurrence is t0 + 2 days; the next one is a minute later.
    assert got.next_run_at == t0 + 2 * 86400 + 60
    assert got.last_run_at == t0 + 2 * 86400


# ---- list_schedule_runs filters -----------------------------------------------------------------------------


def test_list_schedule_runs_rejects_another_suites_id(mka1, suite):
    other = mka1.create_suite(name="other", manifest=qa_manifest("faq"))
    sc = schedule(mka1, suite)
    mka1.trigger_schedule(schedule_id=sc.id)
    api_error(400, mka1.list_schedule_runs, schedule_id=sc.id, suite_id=other.id, match=r"suite_id")
    # Its own suite id is fine.
    assert len(mka1.list_schedule_runs(schedule_id=sc.id, suite_id=suite.id).data) == 1


def test_list_schedule_runs_suite_version_alone_is_allowed(mka1, suite):
    sc = schedule(mka1, suite)
    r1 = mka1.trigger_schedule(schedule_id=sc.id).last_run_id
    mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest("faq"))
    r2 = mka1.trigger_schedule(schedule_id=sc.id).last_run_id
    assert [r.id for r in mka1.list_schedule_runs(schedule_id=sc.id, suite_version=1).data] == [r1]
    assert [r.id for r in mka1.list_schedule_runs(schedule_id=sc.id, suite_version=2).data] == [r2]
    assert mka1.list_schedule_runs(schedule_id=sc.id, suite_version=3).data == []


def test_list_schedule_runs_status_filter(mka1, suite, control):
    sc = schedule(mka1, suite)
    old = mka1.trigger_schedule(schedule_id=sc.id).last_run_id
    control.advance(RUN_SECONDS + 5)
    new = mka1.trigger_schedule(schedule_id=sc.id).last_run_id
    assert [r.id for r in mka1.list_schedule_runs(schedule_id=sc.id, status="completed").data] == [old]
    queued = mka1.list_schedule_runs(schedule_id=sc.id, status="queued").data
    assert [r.id for r in queued] == [new]
    assert queued[0].status == "queued"
    assert mka1.list_schedule_runs(schedule_id=sc.id, status="failed").data == []


def test_list_schedule_runs_only_lists_that_schedules_runs(mka1, suite):
    a = schedule(mka1, suite, name="a")
    b = schedule(mka1, suite, name="b")
    ra = mka1.trigger_schedule(schedule_id=a.id).last_run_id
    rb = mka1.trigger_schedule(schedule_id=b.id).last_run_id
    mka1.create_run(suite_id=suite.id, models=["m"])  # not from a schedule
    assert [r.id for r in mka1.list_schedule_runs(schedule_id=a.id).data] == [ra]
    assert [r.id for r in mka1.list_schedule_runs(schedule_id=b.id).data] == [rb]


def test_list_schedule_runs_pages(mka1, suite, control):
    sc = schedule(mka1, suite, overlap_policy="allow_all")
    ids = []
    for _ in range(5):
        ids.append(mka1.trigger_schedule(schedule_id=sc.id).last_run_id)
        control.advance(1)
    first = mka1.list_schedule_runs(schedule_id=sc.id, limit=2)
    second = mka1.list_schedule_runs(schedule_id=sc.id, limit=2, after=first.last_id)
    third = mka1.list_schedule_runs(schedule_id=sc.id, limit=2, after=second.last_id)
    assert [r.id for p in (first, second, third) for r in p.data] == ids[::-1]
    assert [p.has_more for p in (first, second, third)] == [True, True, False]
    assert (first.first_id, first.last_id) == (ids[4], ids[3])


# ---- historical import from Hugging Face --------------------------------------------------------------------


HISTORICAL = "Historical lm-eval harness results"


def test_import_dry_run_counts_files_and_creates_nothing(mka1):
    result = mka1.import_historical_results(x_hugging_face_token="hf_token", dry_run=True)
    assert result.object == "eval.import"
    assert result.dry_run is True
    assert result.source.repo == "meetkai/lm-eval-harness-result"
    assert result.source.revision == "main"
    assert result.discovered_files > 0
    assert result.imported_runs == result.discovered_files
    assert result.skipped_runs == 0
    assert result.created_suite is True
    assert mka1.list_suites().data == []
    assert mka1.list_runs().data == []


def test_import_dry_run_respects_the_listed_files(mka1):
    files = ["org-a/model-x/samples_arc_easy.jsonl", "org-a/model-y/samples_gsm8k.jsonl"]
    result = mka1.import_historical_results(x_hugging_face_token="hf", dry_run=True,
                                            source={"repo": "me/results", "revision": "v1", "files": files})
    assert result.discovered_files == 2
    assert (result.source.repo, result.source.revision) == ("me/results", "v1")
    assert mka1.list_suites().data == []


def test_import_creates_a_suite_with_completed_runs(mka1):
    result = mka1.import_historical_results(x_hugging_face_token="hf_token", metadata={"batch": "q1"})
    assert result.dry_run is False
    assert result.created_suite is True
    assert result.imported_runs == result.discovered_files > 0
    assert result.skipped_runs == 0

    suite = mka1.get_suite(suite_id=result.suite_id)
    assert suite.name == HISTORICAL
    assert result.suite_version == suite.active_version == 1
    runs = mka1.list_runs(suite_id=suite.id, limit=100).data
    assert len(runs) == result.imported_runs
    assert all(r.status == "completed" and r.completed_at is not None for r in runs)
    assert sum(r.request_counts.total for r in runs) == result.imported_samples
    assert all(r.request_counts.failed == 0 for r in runs)
    assert all(r.metadata.get("batch") == "q1" and r.metadata.get("source") == "huggingface" for r in runs)
    task_ids = {t["id"] for t in mka1.get_suite_version(suite_id=suite.id, version=1).manifest.tasks}
    assert {t for r in runs for t in r.task_ids} <= task_ids


def test_import_with_explicit_files_names_tasks_after_them(mka1):
    files = ["org/model-x/samples_arc_easy.jsonl", "org/model-y/samples_gsm8k.jsonl"]
    result = mka1.import_historical_results(x_hugging_face_token="hf", source={"repo": "me/r", "files": files},
                                            suite_name="My history")
    suite = mka1.get_suite(suite_id=result.suite_id)
    assert suite.name == "My history"
    runs = mka1.list_runs(suite_id=suite.id).data
    assert sorted((r.models[0], r.task_ids[0]) for r in runs) == [("model-x", "arc_easy"), ("model-y", "gsm8k")]
    assert result.imported_runs == 2


def test_repeating_an_import_skips_what_was_imported(mka1):
    first = mka1.import_historical_results(x_hugging_face_token="hf_token")
    runs_before = mka1.list_runs(limit=100).data
    again = mka1.import_historical_results(x_hugging_face_token="hf_token")
    assert again.discovered_files == first.discovered_files
    assert again.skipped_runs == first.imported_runs
    assert again.imported_runs == 0
    assert again.imported_samples == 0
    assert [r.id for r in mka1.list_runs(limit=100).data] == [r.id for r in runs_before]
    # Nothing new at all: the repeat lands in the suite the first import created.
    assert again.created_suite is False
    assert again.suite_id == first.suite_id
    assert [s.id for s in mka1.list_suites().data] == [first.suite_id]


def test_import_into_an_existing_suite_with_new_tasks_creates_a_version(mka1, suite):
    result = mka1.import_historical_results(x_hugging_face_token="hf_token", suite_id=suite.id)
    assert result.suite_id == suite.id
    assert result.created_suite is False
    assert result.created_suite_version is True
    assert result.suite_version == 2

    got = mka1.get_suite(suite_id=suite.id)
    assert (got.active_version, got.latest_version) == (2, 2)
    v2_tasks = [t["id"] for t in mka1.get_suite_version(suite_id=suite.id, version=2).manifest.tasks]
    assert v2_tasks[:3] == ["faq", "intent", "calls"]
    assert len(v2_tasks) > 3
    # Version 1 is untouched.
    assert [t["id"] for t in mka1.get_suite_version(suite_id=suite.id, version=1).manifest.tasks] == [
        "faq", "intent", "calls"]
    runs = mka1.list_runs(suite_id=suite.id, limit=100).data
    assert len(runs) == result.imported_runs > 0
    assert all(r.suite_version == 2 and r.status == "completed" for r in runs)
    assert {t for r in runs for t in r.task_ids} <= set(v2_tasks[3:])


def test_import_into_a_suite_that_has_the_tasks_creates_no_version(mka1):
    files = ["org/model-x/samples_faq.jsonl"]
    suite = mka1.create_suite(name="has faq", manifest={"tasks": [{"id": "faq", "type": "qa", "dataset": {}}]})
    result = mka1.import_historical_results(x_hugging_face_token="hf", suite_id=suite.id, source={"files": files})
    assert result.created_suite_version is False
    assert result.suite_version == 1
    assert mka1.get_suite(suite_id=suite.id).latest_version == 1
    assert result.imported_runs == 1


def test_import_into_existing_suite_dry_run_creates_no_version(mka1, suite):
    result = mka1.import_historical_results(x_hugging_face_token="hf", suite_id=suite.id, dry_run=True)
    assert result.created_suite_version is True
    got = mka1.get_suite(suite_id=suite.id)
    assert (got.active_version, got.latest_version) == (1, 1)
    assert mka1.list_runs(suite_id=suite.id).data == []


def test_import_without_creating_missing_tasks_is_400(mka1, suite):
    api_error(400, mka1.import_historical_results, x_hugging_face_token="hf", suite_id=suite.id,
              create_missing_tasks=False, match=r"create_missing_tasks")
    assert mka1.get_suite(suite_id=suite.id).latest_version == 1


def test_import_into_unknown_suite_is_404(mka1):
    missing = "eval_suite_" + "a" * 32
    api_error(404, mka1.import_historical_results, x_hugging_face_token="hf", suite_id=missing,
              match=re.escape(missing))


def test_import_without_hugging_face_token_is_refused(client, mka1):
    res = client.post(HF_URL, json={}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert res.status_code == 401, res.text
    assert "X-HuggingFace-Token" in res.json()["error"]["message"]
    assert mka1.list_suites().data == []


def test_imported_runs_never_echo_the_callers_api_key(mka1):
    result = mka1.import_historical_results(x_hugging_face_token="hf_token")
    mka1.list_runs(suite_id=result.suite_id, limit=100)
    assert TOKEN not in mka1.last_response.text
