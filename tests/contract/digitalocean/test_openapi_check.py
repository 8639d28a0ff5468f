"""The strict checker itself rejects what the SDKs would let through."""

from __future__ import annotations

import pytest

from tests.contract.digitalocean.openapi_check import check_exchange, operation, response_schema, validate

HEADERS = {"content-type": "application/json", "ratelimit-limit": "5000"}


def run_schema():
    return response_schema(operation("GET", "/v2/gen-ai/evaluation_runs/x"), 200)


@pytest.mark.parametrize("body, problem", [
    ({"evaluation_run": {"status": "EVALUATION_RUN_SOMETHING_NEW"}}, "enum"),
    ({"evaluation_run": {"test_case_version": "3"}}, "integer"),
    ({"evaluation_run": {"created_by_user_id": 12}}, "string"),
    ({"evaluation_run": {"created_by_user_id": "12a"}}, "uint64"),
    ({"evaluation_run": {"queued_at": "2026-01-01 00:00"}}, "date-time"),
    ({"evaluation_run": {"surprise": 1}}, "not in the vendor's schema"),
])
def test_the_checker_rejects(body, problem):
    with pytest.raises(AssertionError, match=problem):
        validate(run_schema(), body)


def test_retry_after_outside_429_and_503_is_refused():
    with pytest.raises(AssertionError, match="Retry-After"):
        check_exchange("GET", "/v2/gen-ai/evaluation_runs/x", 404, {**HEADERS, "retry-after": "1"},
                       b'{"id": "not_found", "message": "m"}')
    check_exchange("GET", "/v2/gen-ai/evaluation_runs/x", 429, {**HEADERS, "retry-after": "1"},
                   b'{"id": "too_many_requests", "message": "m"}')


def test_non_integer_ratelimit_headers_are_refused():
    with pytest.raises(AssertionError, match="integer"):
        check_exchange("GET", "/v2/gen-ai/evaluation_metrics", 200, {**HEADERS, "ratelimit-limit": "5k"}, b"{}")
