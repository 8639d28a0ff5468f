"""Property tests with each vendor's official SDK over emulator.strategies: a patient poller reaches a terminal
state within a bounded number of polls and never polls after it, whatever timelines, transient errors, slow
answers and dropped connections the vendor throws at it."""

from __future__ import annotations

from functools import cache
from typing import Any, Callable

import httpx
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import strategies as es

MAX_POLLS = 60  # enough for the slowest drawn schedule: 4 steps of <= 3 polls, 120 s at 5 s a poll, 9 faults
EXAMPLES = settings(max_examples=12, deadline=None)


def poll(read: Callable[[], Any], *, done: Callable[[Any], bool], transient: Callable[[Exception], bool],
         sleep: Callable[[float], Any], max_polls: int = MAX_POLLS, interval: float = 5.0) -> Any:
    """Read until `done`; a transient failure is retried a second later (and counts as a poll)."""
    for _ in range(max_polls):
        try:
            answer = read()
        except Exception as exc:
            if not transient(exc):
                raise
            sleep(1.0)
            continue
        if done(answer):
            return answer
        sleep(interval)
    raise AssertionError(f"not done after {max_polls} polls")


def retryable_status(status: int | None) -> bool:
    return status is not None and (status in (408, 429) or status >= 500)


def dropped(exc: Exception) -> bool:
    return isinstance(exc, (ConnectionError, httpx.TransportError, requests.ConnectionError,
                            requests.exceptions.ChunkedEncodingError))


def once(read: Callable[[], Any], transient: Callable[[Exception], bool], sleep: Callable[[float], Any]) -> Any:
    return poll(read, done=lambda _: True, transient=transient, sleep=sleep)


# ---- MKA1: meetkai-mka1 in process ----------------------------------------------------------------------------
# In process the search's client sends each scenario's namespace header, so one SDK serves every example (an SDK
# costs tens of milliseconds to make: each builds an SSL context for the async client it is not given).


@cache
def mka1_evals(client: httpx.Client) -> Any:
    from meetkai_mka1 import SDK
    from meetkai_mka1.utils import RetryConfig

    return SDK(bearer_auth="search", server_url="http://testserver", client=client,
               retry_config=RetryConfig("none", None, False)).llm.evals


@EXAMPLES
@given(scenario=es.scenarios("mka1"))
def test_mka1_poller_finishes_and_stops(emulator_search, scenario):
    from meetkai_mka1.errors import SDKError

    def transient(exc: Exception) -> bool:
        return dropped(exc) or isinstance(exc, SDKError) and retryable_status(exc.status_code)

    with emulator_search.load(scenario) as em:
        evals = mka1_evals(em.client)
        run_id = once(evals.list_runs, transient, em.advance).data[0].id
        run = poll(lambda: evals.get_run(run_id=run_id), done=lambda r: r.status in ("completed", "failed",
                                                                                       "cancelled"),
                   transient=transient, sleep=em.advance)
        assert run.id == run_id
        em.assert_stopped_polling_at_terminal(run_id)


# A refused cancel (MKA1's 409: the run had already ended, or the vendor says it cannot) is an answer, not a
# failure: the client waits for the end either way, and a cancel that was accepted ends `cancelled`.
cancels = st.tuples(es.faults("mka1", operations=["cancelEvalRun"], errors=["conflict_error",
                                                                            *es.transient_codes("mka1")]),
                    es.faults("mka1", operations=["getEvalRun"])).map(lambda pair: pair[0] + pair[1])


@EXAMPLES
@given(scenario=es.scenarios("mka1", faults=cancels))
def test_mka1_cancel_then_wait_ends_cancelled_or_where_it_had_got(emulator_search, scenario):
    from meetkai_mka1.errors import SDKError

    def transient(exc: Exception) -> bool:
        return dropped(exc) or isinstance(exc, SDKError) and retryable_status(exc.status_code)

    with emulator_search.load(scenario) as em:
        evals = mka1_evals(em.client)
        run_id = evals.list_runs().data[0].id
        em.advance(1)
        try:
            once(lambda: evals.cancel_run(run_id=run_id), transient, em.advance)
            accepted = True
        except SDKError as exc:
            assert exc.status_code == 409, exc
            accepted = False
        run = poll(lambda: evals.get_run(run_id=run_id), done=lambda r: r.status in ("completed", "failed",
                                                                                       "cancelled"),
                   transient=transient, sleep=em.advance)
        assert run.status == "cancelled" or not accepted
        em.assert_stopped_polling_at_terminal(run_id)


# ---- Mistral: mistralai 2.9.4 in process ----------------------------------------------------------------------


@cache
def mistral_campaigns(client: httpx.Client) -> Any:
    from mistralai.client import Mistral

    return Mistral(api_key="search", server_url="http://testserver", client=client).beta.observability.campaigns


@EXAMPLES
@given(scenario=es.scenarios("mistral"))
def test_mistral_campaign_watcher_finishes_and_stops(emulator_search, scenario):
    from mistralai.client.errors import MistralError

    def transient(exc: Exception) -> bool:
        return dropped(exc) or isinstance(exc, MistralError) and retryable_status(exc.status_code)

    with emulator_search.load(scenario) as em:
        campaigns = mistral_campaigns(em.client)
        campaign_id = once(campaigns.list, transient, em.advance).campaigns.results[0].id
        poll(lambda: campaigns.fetch_status(campaign_id=campaign_id),
             done=lambda s: s.status in ("COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"),
             transient=transient, sleep=em.advance)
        em.assert_stopped_polling_at_terminal(campaign_id)


# ---- DigitalOcean: gradient in process ------------------------------------------------------------------------


@cache
def gradient_agents(client: httpx.Client) -> Any:
    from gradient import Gradient

    return Gradient(access_token="search", base_url="http://testserver", http_client=client, max_retries=0).agents


def test_digitalocean_run_watcher_finishes_and_stops(emulator_search):
    from gradient import APIConnectionError, APIStatusError

    def transient(exc: Exception) -> bool:
        return isinstance(exc, APIConnectionError) or isinstance(exc, APIStatusError) and \
            retryable_status(exc.status_code)

    def watch(em) -> None:
        agents = gradient_agents(em.client)
        case = agents.evaluation_test_cases.list().evaluation_test_cases[0].test_case_uuid
        run_id = once(lambda: agents.evaluation_test_cases.list_evaluation_runs(case), transient,
                      em.advance).evaluation_runs[0].evaluation_run_uuid
        run = poll(lambda: agents.evaluation_runs.retrieve(run_id).evaluation_run,
                   done=lambda r: r.status in ("EVALUATION_RUN_SUCCESSFUL", "EVALUATION_RUN_PARTIALLY_SUCCESSFUL",
                                               "EVALUATION_RUN_FAILED", "EVALUATION_RUN_CANCELLED"),
                   transient=transient, sleep=em.advance)
        assert run.evaluation_run_uuid == run_id
        em.assert_stopped_polling_at_terminal(run_id)

    emulator_search(es.scenarios("digitalocean"), watch, max_examples=12)


# ---- Qianfan: qianfan over a socket (it speaks `requests`), on the shared server ------------------------------


def test_qianfan_task_watcher_finishes_and_stops(emulator_search_server, monkeypatch):
    import logging

    import qianfan
    from qianfan.errors import RequestError
    from qianfan.resources.console.eval import Eval

    logging.getLogger("qianfan").setLevel(logging.CRITICAL)  # the SDK logs every refused call at ERROR

    def transient(exc: Exception) -> bool:
        return dropped(exc) or isinstance(exc, RequestError) and retryable_status(exc.status_code)

    def watch(em) -> None:
        monkeypatch.setattr(qianfan.get_config(), "CONSOLE_API_BASE_URL", em.base_url)
        signed = {"ak": em.token, "sk": em.secret_key, "retry_count": 1}
        listed = once(lambda: Eval.V2.describe_eval_tasks("auto", **signed).body, transient, em.advance)
        task_id = listed["result"]["evalTaskList"][0]["taskId"]
        poll(lambda: Eval.V2.describe_eval_task(task_id, **signed).body["result"],
             done=lambda task: task["state"] in ("Successed", "Stopped", "Failed"),
             transient=transient, sleep=em.advance)
        em.assert_stopped_polling_at_terminal(task_id)

    emulator_search_server(es.scenarios("qianfan"), watch, max_examples=8)
