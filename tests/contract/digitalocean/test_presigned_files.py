"""Presigned URLs (`files.upload`, `files.download`): any file name round-trips, a URL carries an opaque grant
(never the token or the namespace's name), forged, altered, expired and foreign URLs are refused without creating
a namespace, and a dataset is only ever built from a file the user uploaded."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from tests.contract.digitalocean.openapi_check import check_exchange

CSV = "query,expected_response\nHow do I reset?,Use the reset link\nWho are you?,A support agent\n"
# File names a user can hand pydo or gradient (any JSON string): each must come back as it was sent.
NASTY = [
    "q1%20results.csv", "a/../b.csv", "../../etc/passwd", "with space.csv", "ünïcødé 数据.csv", "what?x=1.csv",
    "hash#frag.csv", "a&b=c;d.csv", "%2F%00%zz.csv", "100%.csv", "/leading/slash.csv", "trailing/", "a//b.csv",
    ".", "..", "./.", "plus+sign.csv", "tab\tand\nnewline\r.csv", "emoji 🚀.csv", "back\\slash.csv",
    "quotes\"'<>`.csv", "\x00nul.csv", "~tilde*star(1)!$@=:,.csv", "x" * 900,
]
IDS = [f"{n}-{name[:12]!r}" for n, name in enumerate(NASTY)]


def limits(headers) -> tuple[int, int, int]:
    return tuple(int(headers[name]) for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"))


# ---- the round trip -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NASTY, ids=IDS)
def test_any_file_name_round_trips_through_pydo(do, tls_http, name):
    upload = do.create_evaluation_dataset_file_upload_presigned_urls(
        {"files": [{"file_name": name, "file_size": str(len(CSV))}]})["uploads"][0]
    assert upload["original_file_name"] == name and upload["object_key"].endswith("/" + name)
    assert do.token not in upload["presigned_url"]
    put = tls_http.put(upload["presigned_url"], content=CSV.encode())
    assert put.status_code == 200, put.text
    made = do.create_evaluation_dataset({"name": name, "file_upload_dataset": {
        "original_file_name": name, "stored_object_key": upload["object_key"], "size_in_bytes": str(len(CSV))}})
    [listed] = do.list_evaluation_datasets()["evaluation_datasets"]
    assert (listed["dataset_uuid"], listed["dataset_name"], listed["row_count"], listed["file_size"]) == (
        made["evaluation_dataset_uuid"], name, 2, str(len(CSV)))
    link = do.get_evaluation_dataset_download_url(made["evaluation_dataset_uuid"])
    got = tls_http.get(link["download_url"])
    assert got.status_code == 200 and got.text == CSV


@pytest.mark.parametrize("name", NASTY, ids=IDS)
def test_any_file_name_round_trips_through_gradient(gradient, inproc, token, name):
    """gradient has the presign and create methods; the download goes through the API with a plain client.
    In process, where Starlette's TestClient decodes scope["path"] twice (the key is read from raw_path)."""
    made = gradient.agents.evaluation_datasets.create_file_upload_presigned_urls(
        files=[{"file_name": name, "file_size": str(len(CSV))}]).uploads[0]
    assert made.original_file_name == name and made.object_key.endswith("/" + name)
    assert inproc.put(made.presigned_url, content=CSV.encode()).status_code == 200
    dataset = gradient.agents.evaluation_datasets.create(
        name="n", file_upload_dataset={"stored_object_key": made.object_key}).evaluation_dataset_uuid
    auth = {"Authorization": f"Bearer {token}"}
    link = inproc.get(f"/v2/gen-ai/evaluation_datasets/{dataset}/download_url", headers=auth).json()
    assert inproc.get(link["download_url"]).text == CSV


def test_a_file_name_longer_than_an_object_key_may_be_is_refused(do):
    with pytest.raises(HttpResponseError) as info:
        do.create_evaluation_dataset_file_upload_presigned_urls({"files": [{"file_name": "x" * 1000}]})
    assert info.value.status_code == 422 and "1024 bytes" in info.value.response.json()["message"]


# ---- grants ---------------------------------------------------------------------------------------------------


@pytest.fixture
def app():
    return build_app(Settings(seed=3, clock_mode="manual"))


@pytest.fixture
def http(app):
    with TestClient(app) as client:
        yield client


def api(http, token: str, method: str, path: str, **kwargs):
    res = http.request(method, "/v2/gen-ai" + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    check_exchange(method, "/v2/gen-ai" + path, res.status_code, res.headers, res.content)
    return res


def presign(http, token: str, name: str = "faq.csv") -> dict:
    res = api(http, token, "POST", "/evaluation_datasets/file_upload_presigned_urls",
              json={"files": [{"file_name": name}]})
    return res.json()["uploads"][0]


def create(http, token: str, key: str):
    return api(http, token, "POST", "/evaluation_datasets",
               json={"name": "d", "file_upload_dataset": {"stored_object_key": key}})


def dataset_with_download(http, token: str) -> tuple[str, str]:
    upload = presign(http, token)
    assert http.put(upload["presigned_url"], content=CSV.encode()).status_code == 200
    uuid = create(http, token, upload["object_key"]).json()["evaluation_dataset_uuid"]
    return uuid, api(http, token, "GET", f"/evaluation_datasets/{uuid}/download_url").json()["download_url"]


def parts(url: str) -> tuple[str, dict[str, str]]:
    split = urlsplit(url)
    return split.path, dict(parse_qsl(split.query))


def with_query(path: str, query: dict[str, str]) -> str:
    return path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())


def refused(res, words: str = "") -> None:
    assert res.status_code == 403, (res.status_code, res.text)
    body = res.json()
    assert body["id"] == "forbidden" and words in body["message"], body
    assert set(body) == {"id", "message", "request_id"}
    assert limits(res.headers)[:2] == (5000, 5000)


def test_forged_altered_and_foreign_urls_are_refused_and_create_no_namespace(app, http):
    upload = presign(http, "alice")
    path, query = parts(upload["presigned_url"])
    other = presign(http, "alice", "other.csv")
    _, other_query = parts(other["presigned_url"])
    bobs = presign(http, "bob")
    _, bobs_query = parts(bobs["presigned_url"])
    before = set(app.state.world.namespaces)
    attempts = {
        "no grant": path,
        "no expires": with_query(path, {"handle": query["handle"], "signature": query["signature"]}),
        "no handle": with_query(path, {"expires": query["expires"], "signature": query["signature"]}),
        "garbage signature": with_query(path, {**query, "signature": "!!not hex, é!!"}),
        "random signature": with_query(path, {**query, "signature": os.urandom(16).hex()}),
        "short signature": with_query(path, {**query, "signature": query["signature"][:8]}),
        "unknown handle": with_query(path, {**query, "handle": os.urandom(12).hex()}),
        "expires not a number": with_query(path, {**query, "expires": "²"}),
        "altered key": with_query(path + "x", query),
        "altered expires": with_query(path, {**query, "expires": str(int(query["expires"]) + 3600)}),
        "grant of another key": with_query(path, other_query),
        "grant of another namespace": with_query(path, bobs_query),
        "another namespace's handle": with_query(path, {**query, "handle": bobs_query["handle"]}),
    }
    for what, url in attempts.items():
        refused(http.put(url, content=b"query\nforged\n"))
        assert set(app.state.world.namespaces) == before, what
    # A grant for a namespace that no longer exists is refused and does not bring it back.
    carol = presign(http, "carol")
    assert http.post("/_emulator/reset", headers={"Authorization": "Bearer carol"}).status_code == 200
    refused(http.put(carol["presigned_url"], content=CSV.encode()), "signature")
    assert "carol" not in app.state.world.namespaces
    # The genuine URL still works (also with the key's slashes unescaped: the same key decoded once), and
    # nothing forged was stored.
    assert http.put(upload["presigned_url"], content=CSV.encode()).status_code == 200
    assert http.put(with_query(path.replace("%2F", "/"), query), content=CSV.encode()).status_code == 200
    for token, key in (("alice", other["object_key"]), ("bob", bobs["object_key"])):
        assert create(http, token, key).status_code == 422


def test_an_upload_url_does_not_download_and_a_download_url_does_not_upload(http):
    upload = presign(http, "alice")
    refused(http.get(upload["presigned_url"]), "signature")
    _, download = dataset_with_download(http, "alice")
    refused(http.put(download, content=b"query\nx\n"), "signature")


def test_a_url_of_one_namespace_never_reads_another_namespaces_file(http):
    alices, alice_url = dataset_with_download(http, "alice")
    bobs, bob_url = dataset_with_download(http, "bob")
    assert alices != bobs  # the namespaces' seeds differ
    path, query = parts(alice_url)
    refused(http.get(with_query(path.replace(alices, bobs), query)), "signature")
    _, bob_query = parts(bob_url)
    refused(http.get(with_query(path, bob_query)), "signature")
    assert http.get(alice_url).text == CSV and http.get(bob_url).text == CSV


def test_urls_show_neither_the_token_nor_the_namespace(http):
    token, namespace = "secret-token-123", "team-namespace-456"
    upload = presign(http, token)
    assert token not in upload["presigned_url"] and quote(token) not in upload["presigned_url"]
    res = http.post("/v2/gen-ai/evaluation_datasets/file_upload_presigned_urls",
                    headers={"Authorization": f"Bearer {token}", "X-Emulator-Namespace": namespace},
                    json={"files": [{"file_name": "a.csv"}]})
    url = res.json()["uploads"][0]["presigned_url"]
    assert token not in url and namespace not in url
    assert http.put(url, content=CSV.encode()).status_code == 200


def test_urls_are_the_same_bytes_for_the_same_seed():
    made = []
    for _ in range(2):
        with TestClient(build_app(Settings(seed=3, clock_mode="manual"))) as client:
            upload = presign(client, "alice")
            _, download = dataset_with_download(client, "alice")
            made.append((upload, download))
    assert made[0] == made[1]


def advance(http, token: str, seconds: float) -> None:
    res = http.post("/_emulator/clock/advance", json={"seconds": seconds}, headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text


def test_urls_expire_by_the_namespace_clock(http):
    upload = presign(http, "alice")
    late = presign(http, "alice", "late.csv")
    _, download = dataset_with_download(http, "alice")
    advance(http, "alice", 3600)  # valid up to and including the second it expires at
    assert http.put(upload["presigned_url"], content=CSV.encode()).status_code == 200
    assert http.get(download).text == CSV
    advance(http, "alice", 1)
    refused(http.put(late["presigned_url"], content=CSV.encode()), "Request has expired")
    refused(http.get(download), "Request has expired")
    # Another namespace's clock does not matter: bob's URL made now is fresh.
    assert http.put(presign(http, "bob")["presigned_url"], content=CSV.encode()).status_code == 200


# ---- datasets only from uploads ---------------------------------------------------------------------------------


def test_create_dataset_without_an_upload_is_refused_through_pydo(do):
    key = do.create_evaluation_dataset_file_upload_presigned_urls(
        {"files": [{"file_name": "faq.csv"}]})["uploads"][0]["object_key"]
    for stored in (key, "k/faq.csv"):
        with pytest.raises(HttpResponseError) as info:
            do.create_evaluation_dataset({"name": "faq", "file_upload_dataset": {
                "stored_object_key": stored, "size_in_bytes": "400"}})
        body = info.value.response.json()
        assert (info.value.status_code, body["id"]) == (422, "unprocessable_entity") and stored in body["message"]
    assert do.list_evaluation_datasets()["evaluation_datasets"] == []


def test_create_dataset_after_a_refused_or_expired_upload_is_refused(http):
    never = presign(http, "alice", "never.csv")
    forged = presign(http, "alice", "forged.csv")
    path, query = parts(forged["presigned_url"])
    refused(http.put(with_query(path, {**query, "expires": str(int(query["expires"]) + 1)}), content=CSV.encode()))
    too_large = presign(http, "alice", "big.csv")
    assert http.put(too_large["presigned_url"], content=b"q" * (10 * 1024 * 1024 + 1)).status_code == 413
    expired = presign(http, "alice", "expired.csv")
    advance(http, "alice", 3601)
    refused(http.put(expired["presigned_url"], content=CSV.encode()), "expired")
    for upload in (never, forged, too_large, expired):
        res = create(http, "alice", upload["object_key"])
        assert res.status_code == 422 and res.json()["id"] == "unprocessable_entity", res.text
        assert "upload" in res.json()["message"]
    assert api(http, "alice", "GET", "/evaluation_datasets").json() == {"evaluation_datasets": []}
