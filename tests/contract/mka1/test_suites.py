"""Contract tests of the MKA1 evals suite routes, driven through the official SDK (meetkai-mka1 0.12.128).

Covers create/get/list/delete of suites, immutable suite versions, manifest validation, suite shares, 404s on
every suite route and namespace isolation. Every successful call is also checked strictly against the SDK's
own response model by the `mka1` fixture; every error by the MKA1 error envelope.
"""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.conftest import TOKEN, make_sdk
from tests.strict import StrictEvals, api_error

SUITE_ID = re.compile(r"^eval_suite_[0-9a-f]{32}$")
VERSION_ID = re.compile(r"^eval_sver_[0-9a-f]{32}$")
MISSING_SUITE = "eval_suite_" + "0" * 32
SUITES_URL = "/api/v1/llm/evals/suites"


def qa_manifest(*task_ids: str, file_prefix: str = "file_") -> dict:
    return {"tasks": [{"id": t, "type": "qa", "dataset": {"source": "file", "file_id": f"{file_prefix}{t}"}}
                      for t in task_ids]}


def new_suite(mka1, name: str, **kwargs):
    return mka1.create_suite(name=name, manifest=qa_manifest("faq"), **kwargs)


def all_suite_ids(mka1, **kwargs) -> list[str]:
    ids, after = [], None
    while True:
        page = mka1.list_suites(after=after, limit=100, **kwargs)
        ids += [s.id for s in page.data]
        if not page.has_more:
            return ids
        after = page.last_id


@pytest.fixture
def other(app):
    """The SDK for a second API key, i.e. a second namespace, on its own test client."""
    with TestClient(app) as c2:
        yield StrictEvals(c2, make_sdk(c2, "second-token").llm.evals)


# ---- create / get -------------------------------------------------------------------------------------------


def test_create_suite_returns_every_value_the_user_sent(mka1, control):
    control.advance(1234)
    now = int(control.now())
    suite = mka1.create_suite(
        name="Support assistant", description="regression suite", metadata={"team": "support", "tier": "gold"},
        manifest=qa_manifest("faq", "intent"),
    )
    assert SUITE_ID.match(suite.id), suite.id
    assert suite.object == "eval.suite"
    assert suite.name == "Support assistant"
    assert suite.description == "regression suite"
    assert suite.metadata == {"team": "support", "tier": "gold"}
    assert suite.org_id.startswith("org_") and len(suite.org_id) > len("org_")
    assert suite.team_id.startswith("team_") and len(suite.team_id) > len("team_")
    assert suite.access == "owner"
    assert suite.active_version == 1
    assert suite.latest_version == 1
    assert suite.created_at == now
    assert suite.updated_at == now


def test_create_suite_without_optional_fields(mka1):
    suite = new_suite(mka1, "bare")
    assert suite.description is None
    assert suite.metadata == {}


def test_get_suite_returns_the_same_suite(mka1, suite, control):
    control.advance(50)
    got = mka1.get_suite(suite_id=suite.id)
    assert got.model_dump() == suite.model_dump()


def test_created_suite_has_version_one_holding_the_manifest(mka1, suite):
    v1 = mka1.get_suite_version(suite_id=suite.id, version=1)
    assert VERSION_ID.match(v1.id), v1.id
    assert v1.object == "eval.suite.version"
    assert v1.suite_id == suite.id
    assert v1.version == 1
    assert [t["id"] for t in v1.manifest.tasks] == ["faq", "intent", "calls"]
    assert v1.manifest.tasks[2]["dataset"]["audio_column"] == "clip"
    assert v1.manifest.schema_version == "2026-05-27"
    assert sorted(v1.dataset_file_ids) == ["file_calls", "file_faq", "file_intent"]
    assert v1.created_at == suite.created_at


def test_suites_created_by_different_callers_share_org_and_team(mka1):
    mine = new_suite(mka1, "mine")
    delegated = new_suite(mka1, "delegated", x_on_behalf_of="alice")
    assert delegated.org_id == mine.org_id
    assert delegated.team_id == mine.team_id
    assert delegated.access == "owner"


# ---- list ---------------------------------------------------------------------------------------------------


def test_list_suites_empty(mka1):
    page = mka1.list_suites()
    assert page.object == "list"
    assert page.data == []
    assert page.has_more is False


def test_list_suites_newest_first_paged_with_after(mka1, control):
    created = []
    for i in range(7):
        created.append(new_suite(mka1, f"suite {i}").id)
        control.advance(1)
    newest_first = created[::-1]

    seen, after, pages = [], None, []
    while True:
        page = mka1.list_suites(after=after, limit=3)
        pages.append(page)
        ids = [s.id for s in page.data]
        assert page.first_id == ids[0]
        assert page.last_id == ids[-1]
        seen += ids
        if not page.has_more:
            break
        after = page.last_id
    assert [len(p.data) for p in pages] == [3, 3, 1]
    assert [p.has_more for p in pages] == [True, True, False]
    assert seen == newest_first
    assert len(set(seen)) == len(seen) == 7
    # The default page (limit 20) holds everything, newest first, with its names.
    full = mka1.list_suites()
    assert [s.id for s in full.data] == newest_first
    assert [s.name for s in full.data] == [f"suite {i}" for i in range(6, -1, -1)]
    assert full.has_more is False


def test_list_suites_limit_exactly_the_count_has_no_more(mka1):
    ids = [new_suite(mka1, f"s{i}").id for i in range(2)]
    page = mka1.list_suites(limit=2)
    assert [s.id for s in page.data] == ids[::-1]
    assert page.has_more is False


def test_list_suites_cursor_survives_a_new_suite_between_pages(mka1):
    old = [new_suite(mka1, f"s{i}").id for i in range(4)]
    first = mka1.list_suites(limit=2)
    new_suite(mka1, "late")
    second = mka1.list_suites(after=first.last_id, limit=2)
    assert [s.id for s in first.data] + [s.id for s in second.data] == old[::-1]


def test_list_suites_after_an_unknown_id_is_400(mka1, suite):
    api_error(400, mka1.list_suites, after=MISSING_SUITE, match=r"after.*" + re.escape(MISSING_SUITE))


def test_list_suite_versions_after_another_suites_version_is_400(mka1, suite):
    other = new_suite(mka1, "other")
    foreign = mka1.get_suite_version(suite_id=other.id, version=1).id
    api_error(400, mka1.list_suite_versions, suite_id=suite.id, after=foreign, match=r"after.*" + re.escape(foreign))


@pytest.mark.parametrize("limit", [0, 101, -1])
def test_list_suites_limit_out_of_range_is_400(mka1, limit):
    api_error(400, mka1.list_suites, limit=limit, match=r"limit")


def test_list_suites_owned_only_follows_the_on_behalf_of_owner(mka1):
    mine = new_suite(mka1, "mine").id
    alice = new_suite(mka1, "alice's", x_on_behalf_of="alice").id
    bob = new_suite(mka1, "bob's", x_on_behalf_of="bob").id

    assert [s.id for s in mka1.list_suites(owned_only=True, x_on_behalf_of="alice").data] == [alice]
    assert [s.id for s in mka1.list_suites(owned_only=True, x_on_behalf_of="bob").data] == [bob]
    assert [s.id for s in mka1.list_suites(owned_only=True).data] == [mine]
    assert [s.id for s in mka1.list_suites(owned_only=True, x_on_behalf_of="carol").data] == []
    # Without owned_only every suite of the team is visible, to any caller.
    assert [s.id for s in mka1.list_suites(x_on_behalf_of="alice").data] == [bob, alice, mine]
    assert [s.id for s in mka1.list_suites().data] == [bob, alice, mine]


def test_list_suites_owned_only_pages(mka1):
    alice = [new_suite(mka1, f"a{i}", x_on_behalf_of="alice").id for i in range(3)]
    new_suite(mka1, "mine")
    first = mka1.list_suites(owned_only=True, limit=2, x_on_behalf_of="alice")
    assert [s.id for s in first.data] == alice[:0:-1]
    assert first.has_more is True
    second = mka1.list_suites(owned_only=True, limit=2, after=first.last_id, x_on_behalf_of="alice")
    assert [s.id for s in second.data] == [alice[0]]
    assert second.has_more is False


# ---- delete -------------------------------------------------------------------------------------------------


def test_delete_suite_counts_and_removes_its_runs(mka1, control):
    doomed = new_suite(mka1, "doomed")
    kept = new_suite(mka1, "kept")
    doomed_runs = [mka1.create_run(suite_id=doomed.id, models=["m1"]).id for _ in range(3)]
    kept_run = mka1.create_run(suite_id=kept.id, models=["m1"]).id
    control.advance(60)

    deleted = mka1.delete_suite(suite_id=doomed.id)
    assert deleted.id == doomed.id
    assert deleted.object == "eval.suite.deleted"
    assert deleted.deleted is True
    assert deleted.deleted_runs == 3

    api_error(404, mka1.get_suite, suite_id=doomed.id, match=re.escape(doomed.id))
    for run_id in doomed_runs:
        api_error(404, mka1.get_run, run_id=run_id, match=re.escape(run_id))
    assert all_suite_ids(mka1) == [kept.id]
    assert [r.id for r in mka1.list_runs(limit=100).data] == [kept_run]

    # The other suite's run is untouched: still readable, completed by now, listed under its suite.
    run = mka1.get_run(run_id=kept_run)
    assert run.suite_id == kept.id
    assert run.status == "completed"
    assert [r.id for r in mka1.list_runs(suite_id=kept.id).data] == [kept_run]


def test_delete_suite_without_runs_reports_zero(mka1, suite):
    deleted = mka1.delete_suite(suite_id=suite.id)
    assert deleted.deleted_runs == 0
    assert deleted.id == suite.id


def test_deleted_suite_is_gone_from_every_suite_route(mka1, suite):
    mka1.delete_suite(suite_id=suite.id)
    api_error(404, mka1.delete_suite, suite_id=suite.id, match=re.escape(suite.id))
    api_error(404, mka1.get_suite_version, suite_id=suite.id, version=1, match=re.escape(suite.id))
    api_error(404, mka1.list_suite_versions, suite_id=suite.id, match=re.escape(suite.id))
    api_error(404, mka1.create_run, suite_id=suite.id, models=["m"], match=re.escape(suite.id))
    assert mka1.list_suites().data == []


# ---- versions -----------------------------------------------------------------------------------------------


def test_create_suite_version_make_active_moves_active_version(mka1, suite, control):
    control.advance(300)
    now = int(control.now())
    v2 = mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest("faq", "extra", file_prefix="f2_"),
                                   metadata={"change": "added extra"})
    assert VERSION_ID.match(v2.id)
    assert v2.object == "eval.suite.version"
    assert v2.suite_id == suite.id
    assert v2.version == 2
    assert [t["id"] for t in v2.manifest.tasks] == ["faq", "extra"]
    assert v2.metadata == {"change": "added extra"}
    assert sorted(v2.dataset_file_ids) == ["f2_extra", "f2_faq"]
    assert v2.created_at == now

    got = mka1.get_suite(suite_id=suite.id)
    assert got.active_version == 2
    assert got.latest_version == 2
    assert got.created_at == suite.created_at
    assert got.updated_at == now


def test_create_suite_version_without_make_active_keeps_the_active_one(mka1, suite):
    v2 = mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest("new"), make_active=False)
    assert v2.version == 2
    got = mka1.get_suite(suite_id=suite.id)
    assert got.active_version == 1
    assert got.latest_version == 2
    # A run without suite_version uses the active version, not the latest.
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    assert run.suite_version == 1
    assert run.suite_version_id == mka1.get_suite_version(suite_id=suite.id, version=1).id


def test_versions_are_immutable(mka1, suite):
    before = mka1.get_suite_version(suite_id=suite.id, version=1)
    mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest("replaced"))
    mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest("again"))
    after = mka1.get_suite_version(suite_id=suite.id, version=1)
    assert after.model_dump() == before.model_dump()
    assert [t["id"] for t in after.manifest.tasks] == ["faq", "intent", "calls"]
    assert [t["id"] for t in mka1.get_suite_version(suite_id=suite.id, version=2).manifest.tasks] == ["replaced"]
    assert [t["id"] for t in mka1.get_suite_version(suite_id=suite.id, version=3).manifest.tasks] == ["again"]
    assert mka1.get_suite(suite_id=suite.id).latest_version == 3


def test_list_suite_versions_pages_newest_first(mka1, suite):
    for task in ("b", "c", "d", "e"):
        mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest(task))
    first = mka1.list_suite_versions(suite_id=suite.id, limit=2)
    assert first.object == "list"
    assert [v.version for v in first.data] == [5, 4]
    assert first.has_more is True
    assert (first.first_id, first.last_id) == (first.data[0].id, first.data[-1].id)
    second = mka1.list_suite_versions(suite_id=suite.id, limit=2, after=first.last_id)
    assert [v.version for v in second.data] == [3, 2]
    assert second.has_more is True
    third = mka1.list_suite_versions(suite_id=suite.id, limit=2, after=second.last_id)
    assert [v.version for v in third.data] == [1]
    assert third.has_more is False
    # Each listed version carries its manifest, equal to what get_suite_version answers.
    for v in first.data + second.data + third.data:
        assert v.suite_id == suite.id
        assert v.model_dump() == mka1.get_suite_version(suite_id=suite.id, version=v.version).model_dump()


def test_list_suite_versions_only_lists_that_suites_versions(mka1, suite):
    other = new_suite(mka1, "other")
    mka1.create_suite_version(suite_id=other.id, manifest=qa_manifest("x"))
    page = mka1.list_suite_versions(suite_id=suite.id)
    assert [(v.suite_id, v.version) for v in page.data] == [(suite.id, 1)]
    assert page.has_more is False


@pytest.mark.parametrize("limit", [0, 101])
def test_list_suite_versions_limit_out_of_range_is_400(mka1, suite, limit):
    api_error(400, mka1.list_suite_versions, suite_id=suite.id, limit=limit, match=r"limit")


@pytest.mark.parametrize("version", [0, 2, 99])
def test_get_suite_version_unknown_is_404(mka1, suite, version):
    api_error(404, mka1.get_suite_version, suite_id=suite.id, version=version, match=rf"\b{version}\b")


# ---- validation ---------------------------------------------------------------------------------------------


TASK = {"id": "ok", "type": "qa", "dataset": {"file_id": "file_ok"}}


@pytest.mark.parametrize(
    "manifest, match",
    [
        pytest.param({"tasks": []}, r"tasks", id="empty-tasks"),
        pytest.param({"tasks": [TASK, dict(TASK)]}, r"unique.*\bok\b|\bok\b.*unique", id="duplicate-task-ids"),
        pytest.param({"tasks": [{**TASK, "id": "bad id/with spaces"}]}, r"\bid\b", id="bad-task-id-characters"),
        pytest.param({"tasks": [{**TASK, "id": "émoji✓"}]}, r"\bid\b", id="non-ascii-task-id"),
        pytest.param({"tasks": [{"id": "calls", "type": "transcription", "dataset": {"file_id": "f"}}]},
                     r"audio_column", id="transcription-without-audio-column"),
    ],
)
def test_create_suite_rejects_bad_manifests(mka1, manifest, match):
    api_error(400, mka1.create_suite, name="bad", manifest=manifest, match=match)
    assert mka1.list_suites().data == []


@pytest.mark.parametrize(
    "manifest, match",
    [
        pytest.param({"tasks": []}, r"tasks", id="empty-tasks"),
        pytest.param({"tasks": [TASK, dict(TASK)]}, r"unique", id="duplicate-task-ids"),
        pytest.param({"tasks": [{"id": "t", "type": "transcription", "dataset": {}}]}, r"audio_column",
                     id="transcription-without-audio-column"),
    ],
)
def test_create_suite_version_rejects_bad_manifests(mka1, suite, manifest, match):
    api_error(400, mka1.create_suite_version, suite_id=suite.id, manifest=manifest, match=match)
    got = mka1.get_suite(suite_id=suite.id)
    assert (got.active_version, got.latest_version) == (1, 1)


def test_valid_task_id_characters_are_accepted(mka1):
    suite = mka1.create_suite(name="ids", manifest=qa_manifest("Task_1.v2-final"))
    assert [t["id"] for t in mka1.get_suite_version(suite_id=suite.id, version=1).manifest.tasks] == [
        "Task_1.v2-final"]


@pytest.mark.parametrize(
    "body, match",
    [
        pytest.param({"manifest": qa_manifest("faq")}, r"\bname\b", id="missing-name"),
        pytest.param({"name": "", "manifest": qa_manifest("faq")}, r"\bname\b", id="empty-name"),
        pytest.param({"name": "no manifest"}, r"\bmanifest\b", id="missing-manifest"),
    ],
)
def test_create_suite_missing_required_fields_is_400(client, mka1, body, match):
    # The SDK will not build these requests, so they are sent raw, as another client might.
    res = client.post(SUITES_URL, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert res.status_code == 400, res.text
    err = res.json()["error"]
    assert err["code"] == 400 and err["type"] == "invalid_request_error"
    assert re.search(match, err["message"]), err["message"]
    assert mka1.list_suites().data == []


# ---- shares -------------------------------------------------------------------------------------------------


def test_create_share(mka1, suite, control):
    control.advance(10)
    share = mka1.create_suite_share(suite_id=suite.id, org_id="org_partner")
    assert share.object == "eval.suite.share"
    assert share.id and share.id not in (suite.id, "org_partner")
    assert share.suite_id == suite.id
    assert share.org_id == "org_partner"
    assert share.granted_by.startswith("user_")
    assert share.created_at == int(control.now())


def test_sharing_again_with_the_same_org_returns_the_same_share(mka1, suite, control):
    first = mka1.create_suite_share(suite_id=suite.id, org_id="org_partner")
    control.advance(100)
    again = mka1.create_suite_share(suite_id=suite.id, org_id="org_partner")
    assert again.model_dump() == first.model_dump()
    listed = mka1.list_suite_shares(suite_id=suite.id)
    assert [s.id for s in listed.data] == [first.id]


def test_list_suite_shares(mka1, suite, control):
    assert mka1.list_suite_shares(suite_id=suite.id).data == []
    a = mka1.create_suite_share(suite_id=suite.id, org_id="org_a")
    control.advance(1)
    b = mka1.create_suite_share(suite_id=suite.id, org_id="org_b")
    listed = mka1.list_suite_shares(suite_id=suite.id)
    assert listed.object == "list"
    assert {s.id: s.org_id for s in listed.data} == {a.id: "org_a", b.id: "org_b"}
    assert len({a.id, b.id}) == 2
    assert [s.model_dump() for s in sorted(listed.data, key=lambda s: s.org_id)] == [a.model_dump(), b.model_dump()]
    # Shares belong to their suite only.
    other = new_suite(mka1, "other")
    assert mka1.list_suite_shares(suite_id=other.id).data == []


def test_grants_are_by_the_same_user(mka1, suite):
    a = mka1.create_suite_share(suite_id=suite.id, org_id="org_a")
    b = mka1.create_suite_share(suite_id=suite.id, org_id="org_b")
    assert a.granted_by == b.granted_by


def test_delete_share_returns_the_share_id(mka1, suite):
    share = mka1.create_suite_share(suite_id=suite.id, org_id="org_partner")
    kept = mka1.create_suite_share(suite_id=suite.id, org_id="org_kept")
    deleted = mka1.delete_suite_share(suite_id=suite.id, org_id="org_partner")
    assert deleted.object == "eval.suite.share.deleted"
    assert deleted.id == share.id
    assert deleted.deleted is True
    assert [s.id for s in mka1.list_suite_shares(suite_id=suite.id).data] == [kept.id]
    api_error(404, mka1.delete_suite_share, suite_id=suite.id, org_id="org_partner", match=r"org_partner")
    # Sharing again after a revoke makes a new grant.
    again = mka1.create_suite_share(suite_id=suite.id, org_id="org_partner")
    assert again.id != share.id


def test_delete_share_of_an_unknown_org_is_404(mka1, suite):
    api_error(404, mka1.delete_suite_share, suite_id=suite.id, org_id="org_never_shared", match=r"org_never_shared")


def test_sharing_with_the_owning_org_is_400(mka1, suite):
    api_error(400, mka1.create_suite_share, suite_id=suite.id, org_id=suite.org_id, match=r"org_id|owning org")
    assert mka1.list_suite_shares(suite_id=suite.id).data == []


@pytest.mark.parametrize(
    "route, kwargs",
    [
        ("list_suite_shares", {}),
        ("create_suite_share", {"org_id": "org_new"}),
        ("delete_suite_share", {"org_id": "org_partner"}),
    ],
)
def test_share_routes_refuse_a_delegated_context(mka1, suite, route, kwargs):
    share = mka1.create_suite_share(suite_id=suite.id, org_id="org_partner")
    api_error(403, getattr(mka1, route), suite_id=suite.id, x_on_behalf_of="alice", match=r"delegat|on.behalf",
              **kwargs)
    listed = mka1.list_suite_shares(suite_id=suite.id)
    assert [s.model_dump() for s in listed.data] == [share.model_dump()]


# ---- unknown ids --------------------------------------------------------------------------------------------


SUITE_ROUTES = [
    ("get_suite", {}),
    ("delete_suite", {}),
    ("create_suite_version", {"manifest": qa_manifest("faq")}),
    ("list_suite_versions", {}),
    ("get_suite_version", {"version": 1}),
    ("list_suite_shares", {}),
    ("create_suite_share", {"org_id": "org_partner"}),
    ("delete_suite_share", {"org_id": "org_partner"}),
    ("list_suite_leaderboard_runs", {}),
    ("get_suite_leaderboard", {}),
    ("measure_suite_tokens", {}),
]


@pytest.mark.parametrize("route, kwargs", SUITE_ROUTES, ids=[r for r, _ in SUITE_ROUTES])
def test_unknown_suite_id_is_404_on_every_suite_route(mka1, suite, route, kwargs):
    err = api_error(404, getattr(mka1, route), suite_id=MISSING_SUITE, match=re.escape(MISSING_SUITE), **kwargs)
    assert err["type"] == "not_found_error"
    # Nothing happened to the suite that does exist.
    assert [s.id for s in mka1.list_suites().data] == [suite.id]


# ---- namespaces ---------------------------------------------------------------------------------------------


def test_a_second_api_key_sees_none_of_the_first_keys_suites(mka1, other, suite):
    mka1.create_suite_version(suite_id=suite.id, manifest=qa_manifest("v2"))
    mka1.create_suite_share(suite_id=suite.id, org_id="org_partner")

    assert other.list_suites().data == []
    assert other.list_suites(owned_only=True).data == []
    for route, kwargs in SUITE_ROUTES:
        api_error(404, getattr(other, route), suite_id=suite.id, match=re.escape(suite.id), **kwargs)

    # The second key's own suite is invisible to the first, and the first's is intact.
    theirs = new_suite(other, "theirs")
    assert theirs.org_id != suite.org_id
    api_error(404, mka1.get_suite, suite_id=theirs.id, match=re.escape(theirs.id))
    assert [s.id for s in mka1.list_suites().data] == [suite.id]
    assert [s.id for s in other.list_suites().data] == [theirs.id]
    got = mka1.get_suite(suite_id=suite.id)
    assert (got.active_version, got.latest_version) == (2, 2)
    assert [s.org_id for s in mka1.list_suite_shares(suite_id=suite.id).data] == ["org_partner"]
