"""bce-auth-v1 as the SDK signs it: verified for real, any signed-headers order; the gateway's refusals."""

from __future__ import annotations

import itertools
import time
from types import SimpleNamespace

import httpx
import pytest
from baidubce.auth.bce_credentials import BceCredentials
from baidubce.auth.bce_v1_signer import sign
from baidubce.utils import get_canonical_time
from qianfan.errors import RequestError
from qianfan.resources.console.eval import Eval

from tests.contract.qianfan.strict import check_v2_error


def signed_headers(qf, path, query=None, order=("content-type", "host", "x-bce-date"), ak=None, sk=None,
                   at=None, expiration=300):
    """Headers signed with the SDK's own signer (baidubce), the signed-headers list in the given order."""
    host = qf.server.url.split("://", 1)[1]
    now = time.time() if at is None else at
    headers = {"Content-Type": "application/json", "Host": host, "x-bce-date": get_canonical_time(now).decode()}
    auth = sign(BceCredentials(ak or qf.ak, sk or qf.sk), b"POST", path.encode(),
                {k.encode(): v for k, v in headers.items()},
                {k.encode(): v for k, v in (query or {}).items()}, timestamp=now,
                expiration_in_seconds=expiration, headers_to_sign=[h.encode() for h in order])
    return {**headers, "Authorization": auth.decode()}


def test_any_signed_headers_order_verifies(qf):
    task_id = qf.create()
    for order in itertools.permutations(("content-type", "host", "x-bce-date")):
        res = httpx.post(qf.server.url + "/v2/eval", params={"Action": "DescribeEvalTask"},
                         json={"taskId": task_id}, headers=signed_headers(qf, "/v2/eval", {"Action": "DescribeEvalTask"},
                                                                          order=order))
        assert res.status_code == 200, res.text
        assert res.json()["result"]["taskId"] == task_id


def test_the_query_is_signed(qf):
    headers = signed_headers(qf, "/v2/eval", {"Action": "DescribeEvalTasks"})
    res = httpx.post(qf.server.url + "/v2/eval", params={"Action": "DeleteEvalTask"}, json={}, headers=headers)
    assert res.status_code == 403 and res.json()["code"] == "SignatureDoesNotMatch"


def test_a_wrong_secret_key(qf):
    with pytest.raises(RequestError) as info:
        Eval.V2.describe_eval_tasks("auto", sk="not-the-secret")
    check_v2_error(info.value, 403, "SignatureDoesNotMatch", "signature")
    assert info.value.headers["X-Bce-Error-Code"] == "SignatureDoesNotMatch"
    assert "Secret Key" in str(info.value)  # the SDK recognised the gateway's message and named the culprit


def test_an_unknown_access_key(qf):
    with pytest.raises(RequestError) as info:
        Eval.V2.describe_eval_tasks("auto", ak="nobody-knows-me", sk="whatever")
    check_v2_error(info.value, 403, "InvalidAccessKeyId", "does not exist")
    assert "Access Key" in str(info.value)


def test_an_expired_signature(qf, monkeypatch):
    import qianfan.resources.auth.iam as iam

    real = time.time
    # the SDK signs an hour late (300 s validity); only its clock moves, the server's (same process) does not
    monkeypatch.setattr(iam, "time", SimpleNamespace(time=lambda: real() - 3600))
    with pytest.raises(RequestError) as info:
        Eval.V2.describe_eval_tasks("auto")
    check_v2_error(info.value, 400, "RequestExpired", "expired")


def test_longer_validity_from_the_sdk_setting(qf, monkeypatch):
    import qianfan
    import qianfan.resources.auth.iam as iam

    real = time.time
    monkeypatch.setattr(iam, "time", SimpleNamespace(time=lambda: real() - 3600))
    monkeypatch.setattr(qianfan.get_config(), "IAM_SIGN_EXPIRATION_SEC", 7200)
    assert Eval.V2.describe_eval_tasks("auto").body["result"]["evalTaskList"] == []


def test_missing_and_malformed_authorization(qf):
    res = httpx.post(qf.server.url + "/v2/eval?Action=DescribeEvalTasks", json={"evalType": "auto"})
    assert res.status_code == 403 and res.json()["code"] == "AccessDenied"
    for bad in ("Bearer abc", "bce-auth-v1/ak/yesterday/300/host/abc", "bce-auth-v1/a/b"):
        res = httpx.post(qf.server.url + "/v2/eval?Action=DescribeEvalTasks", json={"evalType": "auto"},
                         headers={"Authorization": bad})
        assert res.status_code == 400 and res.json()["code"] == "InvalidHTTPAuthHeader", res.text
        assert set(res.json()) == {"requestId", "code", "message"}
    res = httpx.post(qf.server.url + "/wenxinworkshop/modelrepo/eval/detail", json={"id": 1})
    assert res.status_code == 403 and res.json()["code"] == "AccessDenied"  # the gateway's answer on both families


def test_the_built_in_pair_and_namespaces_by_access_key(qf, monkeypatch):
    import qianfan

    mine = qf.create("in my namespace")
    monkeypatch.setattr(qianfan.get_config(), "ACCESS_KEY", "emulator-ak")
    monkeypatch.setattr(qianfan.get_config(), "SECRET_KEY", "emulator-sk")
    listed = qf.v2("DescribeEvalTasks", {"evalType": "auto", "keyFilter": mine})["evalTaskList"]
    assert listed == []  # emulator-ak is another namespace
    # The X-Emulator-Namespace header picks a namespace explicitly. A namespace that defines credentials accepts
    # only those: the built-in pair is refused there (issue "boringly reliable": emulator-ak used to work in
    # namespaces with keys of their own), and the namespace's own pair signs.
    def describe(ak, sk):
        return httpx.post(qf.server.url + "/v2/eval", params={"Action": "DescribeEvalTask"}, json={"taskId": mine},
                          headers={**signed_headers(qf, "/v2/eval", {"Action": "DescribeEvalTask"}, ak=ak, sk=sk),
                                   "X-Emulator-Namespace": qf.ak})

    refused = describe("emulator-ak", "emulator-sk")
    assert refused.status_code == 403 and refused.json()["code"] == "InvalidAccessKeyId"
    res = describe(qf.ak, qf.sk)
    assert res.status_code == 200 and res.json()["result"]["taskName"] == "in my namespace"


def test_a_namespace_that_does_not_know_the_key(qf):
    res = httpx.post(qf.server.url + "/v2/eval", params={"Action": "DescribeEvalTasks"}, json={"evalType": "auto"},
                     headers={**signed_headers(qf, "/v2/eval", {"Action": "DescribeEvalTasks"}),
                              "X-Emulator-Namespace": "someone-else"})
    assert res.status_code == 403 and res.json()["code"] == "InvalidAccessKeyId"


@pytest.mark.parametrize("ahead, expiration, code", [
    (365 * 86400, 300, "RequestExpired"),  # stamped a year ahead: outside the clock-skew window
    (3600, 300, "RequestExpired"),
    (0, 10**12, "InvalidHTTPAuthHeader"),  # an unreasonable lifetime
    (0, 10**400, "InvalidHTTPAuthHeader"),  # used to answer 500
    (0, 0, "InvalidHTTPAuthHeader"),
])
def test_signatures_out_of_time_are_refused(qf, ahead, expiration, code):
    res = httpx.post(qf.server.url + "/v2/eval", params={"Action": "DescribeEvalTasks"}, json={"evalType": "auto"},
                     headers=signed_headers(qf, "/v2/eval", {"Action": "DescribeEvalTasks"}, at=time.time() + ahead,
                                            expiration=expiration))
    assert res.status_code == 400 and res.json()["code"] == code, res.text


def test_a_little_clock_skew_is_accepted(qf):
    res = httpx.post(qf.server.url + "/v2/eval", params={"Action": "DescribeEvalTasks"}, json={"evalType": "auto"},
                     headers=signed_headers(qf, "/v2/eval", {"Action": "DescribeEvalTasks"}, at=time.time() + 60))
    assert res.status_code == 200, res.text


def test_a_signature_verified_once_is_still_checked_for_time_and_every_signed_part(qf, monkeypatch):
    from emulator.vendors.qianfan import auth

    task_id = qf.create()
    url, query = qf.server.url + "/v2/eval", {"Action": "DescribeEvalTask"}
    headers = signed_headers(qf, "/v2/eval", query, expiration=60)
    for _ in range(3):  # the same signed request again: accepted from what the first check proved
        res = httpx.post(url, params=query, json={"taskId": task_id}, headers=headers)
        assert res.status_code == 200 and res.json()["result"]["taskId"] == task_id
    other_date = {**headers, "x-bce-date": "2020-01-01T00:00:00Z"}
    refused = [httpx.post(url, params=query, json={"taskId": task_id}, headers=other_date),
               httpx.post(url, params={"Action": "DescribeEvalTasks"}, json={}, headers=headers),
               httpx.post(url, params=query, json={"taskId": task_id}, headers={**headers, "Host": "elsewhere:1"})]
    assert [(res.status_code, res.json()["code"]) for res in refused] == [(403, "SignatureDoesNotMatch")] * 3
    real = auth.wall_now
    monkeypatch.setattr(auth, "wall_now", lambda: real() + 120)  # the server's clock passes the 60 s validity
    res = httpx.post(url, params=query, json={"taskId": task_id}, headers=headers)
    assert res.status_code == 400 and res.json()["code"] == "RequestExpired"
