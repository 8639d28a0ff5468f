"""Every DigitalOcean answer carries ratelimit-limit, -remaining and -reset, as the vendor's description requires
(its `unauthorized` response included)."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import ClientAuthenticationError

from tests.contract.digitalocean.openapi_check import check_exchange, spec

NAMES = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


def limits(headers) -> tuple[int, int, int]:
    assert all(headers.get(name) is not None for name in NAMES), dict(headers)
    return tuple(int(headers[name]) for name in NAMES)


def test_the_description_requires_the_three_headers_on_a_401():
    assert set(spec()["components"]["responses"]["unauthorized"]["headers"]) == set(NAMES)


def test_a_401_reports_a_full_window_starting_now_by_the_wall_clock(tls_server):
    import pydo

    anonymous = pydo.Client(token=" ", endpoint=tls_server.url, connection_verify=tls_server.ca_file,
                            retry_total=0)
    before = time.time()
    with pytest.raises(ClientAuthenticationError) as denied:
        anonymous.genai.list_evaluation_datasets()
    response = denied.value.response
    check_exchange("GET", "/v2/gen-ai/evaluation_datasets", 401, response.headers, response.body())
    limit, remaining, reset = limits(response.headers)
    assert (limit, remaining) == (5000, 5000)
    assert int(before) + 3600 <= reset <= time.time() + 3600


def test_errors_before_and_after_the_caller_is_known_carry_them(inproc, token):
    auth = {"Authorization": f"Bearer {token}"}
    ok = inproc.get("/v2/gen-ai/evaluation_metrics", headers=auth)
    assert limits(ok.headers)[1] == 4999
    missing = inproc.get("/v2/gen-ai/evaluation_runs/nope", headers=auth)  # a handler's 404: counted
    assert missing.status_code == 404 and limits(missing.headers)[1] == 4998
    bad_body = inproc.post("/v2/gen-ai/evaluation_test_cases", headers=auth, content=b"{not json")
    assert bad_body.status_code == 400 and limits(bad_body.headers)[1] == 4997
    no_route = inproc.get("/v2/gen-ai/no_such_thing", headers=auth)  # refused before any caller: not counted
    assert no_route.status_code == 404 and limits(no_route.headers)[:2] == (5000, 5000)
    wrong_method = inproc.patch("/v2/gen-ai/evaluation_metrics", headers=auth)
    assert wrong_method.status_code == 405 and limits(wrong_method.headers)[:2] == (5000, 5000)
