"""Judges and campaigns through mistralai 2.9.4: CRUD with the SDK's status codes, page/page_size lists with
count/next/previous, live judging of a conversation, and a campaign running RUNNING -> COMPLETED on the clock."""

from __future__ import annotations

import pytest

from tests.contract.mistral.strict import api_error
from tests.contract.mistral.test_events import CLASSIFICATION, EVENTS, REGRESSION, cond


@pytest.fixture
def four(load):
    load({"events": EVENTS})


def test_judge_create_fetch_update_delete(obs, advance):
    judges = obs.judges
    made = judges.create(**CLASSIFICATION)
    assert made.name == "tone" and made.model_name == "mistral-large-latest"
    assert made.output.type == "CLASSIFICATION" and [o.value for o in made.output.options] == ["POLITE", "RUDE"]
    assert made.created_at == made.updated_at and made.deleted_at is None
    assert made.tools == [] and made.instructions.startswith("Classify")
    assert made.owner_id and made.workspace_id and made.up_revision is None
    assert judges.fetch(judge_id=made.id) == made

    advance(30)
    changed = {**CLASSIFICATION, "description": "Tone of voice", "tools": ["web_search"]}
    assert judges.update(judge_id=made.id, **changed) is None
    got = judges.fetch(judge_id=made.id)
    assert got.description == "Tone of voice" and got.tools == ["web_search"]
    assert (got.updated_at - got.created_at).total_seconds() == 30

    api_error(400, "JUDGE_DID_NOT_CHANGE", judges.update, judge_id=made.id, match="changes nothing", **changed)
    assert judges.delete(judge_id=made.id) is None
    api_error(404, "JUDGE_NOT_FOUND", judges.fetch, judge_id=made.id, match="not found")
    api_error(404, "JUDGE_NOT_FOUND", judges.delete, judge_id=made.id, match="not found")
    api_error(404, "JUDGE_NOT_FOUND", judges.update, judge_id=made.id, match="not found", **CLASSIFICATION)


def test_judge_names_are_unique(obs):
    first = obs.judges.create(**CLASSIFICATION)
    api_error(409, "JUDGE_NAME_ALREADY_EXISTS", obs.judges.create, match="tone", **CLASSIFICATION)
    other = obs.judges.create(**REGRESSION)
    api_error(409, "JUDGE_NAME_ALREADY_EXISTS", obs.judges.update, judge_id=other.id, match="tone",
              **{**REGRESSION, "name": "tone"})
    obs.judges.delete(judge_id=first.id)
    assert obs.judges.create(**CLASSIFICATION).name == "tone"  # a deleted judge frees its name


def test_regression_judge_round_trips_min_and_max(obs):
    made = obs.judges.create(**REGRESSION)
    assert made.output.type == "REGRESSION"
    assert (made.output.min, made.output.max) == (1.0, 5.0)
    assert made.output.max_description == "solves the problem"


def test_judges_list_pages_and_filters(obs, advance):
    for i in range(5):
        obs.judges.create(**{**CLASSIFICATION, "name": f"class-{i}"})
        advance(1)
    for i in range(3):
        obs.judges.create(**{**REGRESSION, "name": f"reg-{i}", "model_name": "ministral-8b-latest" if i else
                             "mistral-small-latest"})
    page = obs.judges.list(page_size=3).judges
    assert page.count == 8 and [j.name for j in page.results] == ["reg-2", "reg-1", "reg-0"]
    assert page.previous is None and "page=2" in page.next and "page_size=3" in page.next
    last = obs.judges.list(page_size=3, page=3).judges
    assert [j.name for j in last.results] == ["class-1", "class-0"] and last.next is None
    assert "page=2" in last.previous
    assert obs.judges.list(page_size=3, page=9).judges.results == []
    names = lambda **kw: [j.name for j in obs.judges.list(**kw).judges.results]  # noqa: E731
    assert names(type_filter=["REGRESSION"]) == ["reg-2", "reg-1", "reg-0"]
    assert names(type_filter=["REGRESSION", "CLASSIFICATION"], model_filter=["mistral-small-latest"]) == ["reg-0"]
    assert names(q="CLASS-3") == ["class-3"]
    filtered = obs.judges.list(type_filter=["CLASSIFICATION"], page_size=2, page=2).judges
    assert filtered.count == 5 and [j.name for j in filtered.results] == ["class-2", "class-1"]
    assert "type_filter=CLASSIFICATION" in filtered.next


def test_judge_conversation(obs):
    judge = obs.judges.create(**CLASSIFICATION)
    messages = [{"role": "user", "content": "Cancel my plan."},
                {"role": "assistant", "content": "Sorry to see you go, please confirm and thank you."}]
    verdict = obs.judges.judge_conversation(judge_id=judge.id, messages=messages, properties={"ticket": 7})
    assert verdict.answer == "POLITE"
    assert verdict.analysis.startswith("Judged by mistral-large-latest on 2 message(s)") and "POLITE" in verdict.analysis
    again = obs.judges.judge_conversation(judge_id=judge.id, messages=messages)
    assert again == verdict
    api_error(422, "JUDGE_CONVERSATION_FORMAT_ERROR", obs.judges.judge_conversation, judge_id=judge.id,
              messages=[{"content": "no role"}], match=r"messages\[0\].*role")
    api_error(422, "JUDGE_CONVERSATION_FORMAT_ERROR", obs.judges.judge_conversation, judge_id=judge.id,
              messages=[], match="non-empty")
    api_error(404, "JUDGE_NOT_FOUND", obs.judges.judge_conversation, judge_id="missing", messages=messages,
              match="not found")


def test_campaign_selects_judges_and_completes_on_the_clock(obs, four, advance):
    judge = obs.judges.create(**CLASSIFICATION)
    search = {"filters": {"OR": [cond("tags", "includes", "prod"), cond("model", "eq", "codestral-latest")]}}
    campaign = obs.campaigns.create(search_params=search, judge_id=judge.id, name="weekly tone",
                                    description="prod traffic", max_nb_events=2)
    assert campaign.name == "weekly tone" and campaign.max_nb_events == 2 and campaign.deleted_at is None
    assert campaign.judge.id == judge.id and campaign.judge.name == "tone"
    assert campaign.search_params.model_dump(by_alias=True)["filters"]["OR"][0]["field"] == "tags"
    assert obs.campaigns.fetch_status(campaign_id=campaign.id).status == "RUNNING"
    selected = obs.campaigns.list_events(campaign_id=campaign.id).completion_events
    assert selected.count == 2 and [e.event_id for e in selected.results] == ["ev-1", "ev-3"]  # newest matches
    advance(2.9)  # 2 s + 0.5 s per selected event
    assert obs.campaigns.fetch_status(campaign_id=campaign.id).status == "RUNNING"
    advance(0.1)
    assert obs.campaigns.fetch_status(campaign_id=campaign.id).status == "COMPLETED"
    assert obs.campaigns.fetch(campaign_id=campaign.id).updated_at.timestamp() == \
        campaign.created_at.timestamp() + 3
    page = obs.campaigns.list_events(campaign_id=campaign.id, page_size=1, page=2).completion_events
    assert [e.event_id for e in page.results] == ["ev-3"] and page.next is None and "page=1" in page.previous
    api_error(409, "JUDGE_USED_IN_CAMPAIGN_CANNOT_BE_UPDATED", obs.judges.update, judge_id=judge.id,
              match="used in a campaign", **{**CLASSIFICATION, "description": "changed"})


def test_campaign_errors_and_lists(obs, four, advance):
    judge = obs.judges.create(**REGRESSION)
    everything = {"filters": None}
    api_error(404, "JUDGE_NOT_FOUND", obs.campaigns.create, search_params=everything, judge_id="nope", name="x",
              description="", max_nb_events=3, match="not found")
    api_error(400, "CAMPAIGN_NO_MATCHING_EVENTS", obs.campaigns.create,
              search_params={"filters": cond("model", "eq", "gpt-4")}, judge_id=judge.id, name="x",
              description="", max_nb_events=3, match="No chat completion event matches")
    api_error(422, "SEARCH_BAD_REQUEST", obs.campaigns.create, search_params={"filters": cond("x", "eq", 1)},
              judge_id=judge.id, name="x", description="", max_nb_events=3, match="unknown field")
    api_error(422, "VALIDATION_ERROR", obs.campaigns.create, search_params=everything, judge_id=judge.id,
              name="x", description="", max_nb_events=0, match="max_nb_events")
    made = [obs.campaigns.create(search_params=everything, judge_id=judge.id, name=f"run {i}",
                                 description="nightly" if i % 2 else "adhoc", max_nb_events=10) for i in range(3)]
    assert obs.campaigns.list_events(campaign_id=made[0].id).completion_events.count == 4
    listing = obs.campaigns.list(page_size=2).campaigns
    assert listing.count == 3 and [k.name for k in listing.results] == ["run 2", "run 1"]
    assert [k.name for k in obs.campaigns.list(q="NIGHT").campaigns.results] == ["run 1"]
    assert obs.campaigns.delete(campaign_id=made[1].id) is None
    api_error(404, "CAMPAIGN_NOT_FOUND", obs.campaigns.fetch, campaign_id=made[1].id, match="not found")
    api_error(404, "CAMPAIGN_NOT_FOUND", obs.campaigns.fetch_status, campaign_id=made[1].id, match="not found")
    api_error(404, "CAMPAIGN_NOT_FOUND", obs.campaigns.list_events, campaign_id=made[1].id, match="not found")
    assert obs.campaigns.list().campaigns.count == 2
    obs.judges.delete(judge_id=judge.id)  # campaigns keep showing the judge they ran with
    shown = obs.campaigns.fetch(campaign_id=made[0].id).judge
    assert shown.id == judge.id and shown.deleted_at is not None
