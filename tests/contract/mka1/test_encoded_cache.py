"""Encoded runs are reused only while nothing could have changed them: not across a clock move, not across an
action, and a namespace keeps a bounded number of them."""

from __future__ import annotations

from emulator.vendors.mka1 import render


def test_a_moving_run_is_re_encoded_after_the_clock_moves_or_an_action(mka1, suite, control):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    assert mka1.list_runs().data[0].status == "queued"
    assert mka1.list_runs().data[0].status == "queued"  # the same bytes, reused
    control.advance(5)
    listed = mka1.list_runs().data[0]
    assert listed.status == "in_progress" and listed.started_at is not None
    mka1.cancel_run(run_id=run.id)
    assert mka1.list_runs().data[0].status == "cancelling"  # no clock move, but an action
    assert mka1.get_run(run_id=run.id).status == "cancelling"
    control.advance(5)
    assert [r.status for r in mka1.list_runs().data] == ["cancelled"]


def test_a_namespace_keeps_a_bounded_number_of_encoded_runs(app, mka1, suite, control, monkeypatch):
    monkeypatch.setattr(render, "ENCODED_RUNS_KEPT", 3)
    for _ in range(5):
        mka1.create_run(suite_id=suite.id, models=["m"])
    mka1.list_runs()
    ns = next(iter(app.state.world.namespaces.values()))
    kept = ns.cache["mka1.encoded"]
    assert len(kept) == 3
    from emulator.vendors.mka1 import service

    assert sum(r.cached is not None for r in service.runs(ns).values()) == 3
