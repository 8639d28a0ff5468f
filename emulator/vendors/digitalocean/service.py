"""DigitalOcean agent-evaluation rules: datasets, metrics, versioned test cases and evaluation runs.

Handlers call these with a `Caller` and validated wire models and get records (or plain dicts) for render.py.
Nothing here awaits, so every change is atomic on the event loop. Every check happens before the first change,
so a refused request changes nothing.

Error rules: an unknown id in the path is 404; a missing required field or a wrong type is 400; a well-formed
body that refers to nothing or breaks a rule is 422.

A dataset is built only from the file the user uploaded to its presigned URL, never from invented rows: creating
one whose `stored_object_key` holds no upload (never uploaded, the upload refused, or made after the URL expired)
is 422 unprocessable_entity, like any other well-formed body that refers to nothing (an unknown dataset_uuid):
the request is not malformed (400) and its path exists (404), but the file it names does not.
"""

from __future__ import annotations

import csv
import io
import uuid
from functools import lru_cache
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Iterable, Mapping

from emulator.core.errors import ApiError, invalid
from emulator.core.fake import faker_for
from emulator.core.ids import derived_hex
from emulator.core.namespace import Namespace
from emulator.core.store import Collection
from emulator.vendors.digitalocean import files as presigned_files
from emulator.vendors.digitalocean import results as gen
from emulator.vendors.digitalocean import wire
from emulator.vendors.digitalocean.errors import unprocessable
from emulator.vendors.digitalocean.records import (
    AGENT_METRICS,
    BUILTIN_BY_UUID,
    EVALUATING,
    FAILED,
    PARTIAL,
    RUN_LIFECYCLE,
    RUNNING,
    SECONDS_PER_ROW_EVALUATING,
    SECONDS_PER_ROW_RUNNING,
    SUCCESSFUL,
    Dataset,
    EvaluationRun,
    Metric,
    Presigned,
    TestCase,
    TestCaseVersion,
    Upload,
    stable_uuid,
)

UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024
MAX_ROWS = 1000
URL_TTL_SECONDS = 3600
DEFAULT_THRESHOLD_PCT = 80
RESULTS_KEPT = 1000  # finished runs whose derived results a namespace keeps (ns.cache)


@dataclass(slots=True, eq=False)  # not frozen: a frozen dataclass costs 1.5 us more to make, per request
class Caller:
    ns: Namespace
    token: str  # the credential; its user is recorded as creator/updater
    base_url: str = "https://api.digitalocean.com"  # where this request arrived, for links and presigned URLs
    # The ratelimit-* headers every answer to this request carries (ratelimit.py; empty for a scenario), and the
    # request's number in the namespace (its errors' request_id; None for a presigned URL or a scenario).
    rate_limit_headers: Mapping[str, str] = field(default_factory=dict)
    request_number: int | None = None
    object_key: str | None = None  # a presigned URL's object key, decoded once from the raw path

    @property
    def now(self) -> float:
        return self.ns.now()

    @property
    def request_id(self) -> str | None:
        """The id an error answer names: stable for the namespace's seed and the request's number."""
        if self.request_number is None:
            return None
        return stable_uuid(self.ns.seed, "request", self.request_number)

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.ns.rng.getrandbits(128), version=4))


def user_of(ns: Namespace, token: str) -> tuple[str, str]:
    """(user id as a uint64 string, email) of a credential, stable per namespace seed."""
    return _user(ns.seed, token)


@lru_cache(maxsize=4096)
def _user(seed: int, token: str) -> tuple[str, str]:
    # Cached: every rendered test case and run names its creator, and a Faker user name costs a millisecond.
    user_id = str(int(derived_hex(seed, "user", token, nbytes=6), 16))
    handle = faker_for(seed, "user", token).user_name()
    return user_id, f"{handle}@example.com"


def not_found(what: str, ident: Any) -> ApiError:
    return ApiError("not_found", f"The {what} {ident!r} could not be found.")


def required(value: Any, field: str) -> Any:
    if value is None or (isinstance(value, (str, list)) and not value):
        raise invalid(f"{field} is required")
    return value


# ---- collections --------------------------------------------------------------------------------------------


def datasets(ns: Namespace) -> Collection[Dataset]:
    return ns.store.collection("digitalocean.datasets")


def custom_metrics(ns: Namespace) -> Collection[Metric]:
    return ns.store.collection("digitalocean.custom_metrics")


def test_cases(ns: Namespace) -> Collection[TestCase]:
    return ns.store.collection("digitalocean.test_cases", {"workspace": attrgetter("workspace_uuid")})


def runs(ns: Namespace) -> Collection[EvaluationRun]:
    return ns.store.collection("digitalocean.runs", {
        "test_case": attrgetter("test_case_uuid"),
        "test_case_version": lambda r: f"{r.test_case_uuid}#{r.test_case_version}",
    })


def uploads(ns: Namespace) -> Collection[Upload]:
    """Files PUT to presigned URLs, by object key (a collection, not ns.extras: they hold whole files)."""
    return ns.store.collection("digitalocean.uploads")


def presigned(ns: Namespace) -> Collection[Presigned]:
    """Object keys handed out by the presign operations, by key (one per file presigned: it grows)."""
    return ns.store.collection(presigned_files.PRESIGNED, immutable=True)


def cached(ns: Namespace, name: str, key: str, make: Any) -> Any:
    """`make()` kept in ns.cache[name][key]: derived results (rebuilt on demand, never saved), the most recently
    made RESULTS_KEPT of each kind per namespace."""
    kept = ns.cache.setdefault(name, {})
    found = kept.get(key)
    if found is None:
        found = kept[key] = make()
        if len(kept) > RESULTS_KEPT:
            del kept[next(iter(kept))]
    return found


# ---- metrics ------------------------------------------------------------------------------------------------


def metric(ns: Namespace, metric_uuid: str) -> Metric | None:
    """A built-in or custom metric by uuid (deleted custom metrics too: old runs still name them)."""
    return BUILTIN_BY_UUID.get(metric_uuid) or custom_metrics(ns).get_any(metric_uuid)


def agent_metrics() -> list[Metric]:
    return sorted(AGENT_METRICS, key=attrgetter("metric_rank"))


# ---- datasets -----------------------------------------------------------------------------------------------


def presign(c: Caller, body: wire.PresignFiles, route: str) -> dict[str, Any]:
    files = required(body.files, "files")
    for number, f in enumerate(files):
        required(f.file_name, f"files.{number}.file_name")
        if f.file_size is not None and f.file_size > UPLOAD_LIMIT_BYTES:
            raise unprocessable(f"files.{number}.file_size: files are limited to {UPLOAD_LIMIT_BYTES} bytes")
        key_bytes = len(f"{route}/{'0' * 36}/{f.file_name}".encode())
        if key_bytes > presigned_files.MAX_KEY_BYTES:
            raise unprocessable(f"files.{number}.file_name: object keys are limited to"
                                f" {presigned_files.MAX_KEY_BYTES} bytes of UTF-8; this name makes one of {key_bytes}")
    expires = c.now + URL_TTL_SECONDS
    out = []
    for f in files:
        key = f"{route}/{c.new_uuid()}/{f.file_name}"
        presigned(c.ns).add(key, Presigned(key, f.file_name, expires))
        out.append({"object_key": key, "original_file_name": f.file_name, "expires_at": expires,
                    "presigned_url": file_url(c, "PUT", key, expires)})
    return {"request_id": c.new_uuid(), "uploads": out}


def file_url(c: Caller, method: str, key: str, expires: float) -> str:
    """A presigned URL on this emulator for `method` on an object key of the caller's namespace (files.py)."""
    return presigned_files.url(c.base_url, c.ns, method, key, expires)


def store_upload(ns: Namespace, key: str, data: bytes) -> None:
    """A PUT to a presigned URL: the key must have been handed out, the file is kept for create_dataset."""
    if presigned(ns).get(key) is None:
        raise ApiError("forbidden", f"no presigned upload for object key {key!r} in this namespace")
    if len(data) > UPLOAD_LIMIT_BYTES:
        raise ApiError("payload_too_large", f"uploads are limited to {UPLOAD_LIMIT_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid("the uploaded file is not UTF-8 text") from None
    found = uploads(ns).get(key)
    if found is None:
        uploads(ns).add(key, Upload(key, text, len(data)))
    else:
        found.text, found.size = text, len(data)


def rows_from_csv(text: str) -> list[dict[str, str]]:
    """Rows of an uploaded dataset: a `query` column, and `expected_response` (or `ground_truth`) if given."""
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        if "query" not in header:
            raise unprocessable("the uploaded dataset has no `query` column")
        rows = []
        for raw in reader:
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
            if not row.get("query"):
                continue
            truth = row.get("expected_response") or row.get("ground_truth") or ""
            rows.append({"query": row["query"], **({"ground_truth": truth} if truth else {})})
    except csv.Error as exc:
        raise unprocessable(f"the uploaded dataset is not valid CSV: {exc}") from None
    if not rows:
        raise unprocessable("the uploaded dataset has no rows with a query")
    if len(rows) > MAX_ROWS:
        raise unprocessable(f"a dataset holds at most {MAX_ROWS} rows")
    return rows


def create_dataset(c: Caller, body: wire.CreateDataset) -> Dataset:
    name = required(body.name, "name")
    source = required(body.file_upload_dataset, "file_upload_dataset")
    key = required(source.stored_object_key, "file_upload_dataset.stored_object_key")
    uploaded = uploads(c.ns).get(key)
    if uploaded is None:
        why = ("nothing was uploaded to its presigned URL (an upload that was refused or came after the URL"
               " expired does not count)") if presigned(c.ns).get(key) else "no presign operation handed it out"
        raise unprocessable(f"file_upload_dataset.stored_object_key: no file was uploaded at {key!r}: {why}."
                            " PUT the file to the presigned URL first.")
    rows = rows_from_csv(uploaded.text)
    dataset_uuid = c.new_uuid()
    dataset = Dataset(
        dataset_uuid=dataset_uuid, dataset_name=name,
        dataset_type=body.dataset_type or "EVALUATION_DATASET_TYPE_UNKNOWN",
        dataset_paradigm=body.dataset_paradigm or "EVALUATION_DATASET_PARADIGM_SINGLE_TURN",
        file_size=uploaded.size, stored_object_key=key, rows=rows, created_at=c.now,
        original_file_name=source.original_file_name or presigned(c.ns).get(key).file_name,
    )
    return datasets(c.ns).add(dataset_uuid, dataset)


def get_dataset(c: Caller, dataset_uuid: str) -> Dataset:
    found = datasets(c.ns).get(dataset_uuid)
    if found is None:
        raise not_found("evaluation dataset", dataset_uuid)
    return found


def list_datasets(c: Caller, q: wire.DatasetListQuery) -> list[Dataset]:
    truth = None if q.has_ground_truth is None else q.has_ground_truth.lower() in ("true", "1")
    return [d for d in datasets(c.ns).values()
            if (q.dataset_type == "EVALUATION_DATASET_TYPE_UNKNOWN" or d.dataset_type == q.dataset_type)
            and (q.dataset_paradigm is None or d.dataset_paradigm == q.dataset_paradigm)
            and (truth is None or d.has_ground_truth == truth)]


def delete_dataset(c: Caller, dataset_uuid: str) -> None:
    dataset = get_dataset(c, dataset_uuid)
    dataset.deleted_at = c.now
    datasets(c.ns).remove(dataset_uuid)


def dataset_csv(dataset: Dataset) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["query", "expected_response"] if dataset.has_ground_truth else ["query"])
    for row in dataset.rows:
        writer.writerow([row["query"], row["ground_truth"]] if dataset.has_ground_truth else [row["query"]])
    return out.getvalue()


# ---- test cases ---------------------------------------------------------------------------------------------


def _usable_dataset(c: Caller, dataset_uuid: str, field: str = "dataset_uuid") -> Dataset:
    found = datasets(c.ns).get(dataset_uuid)
    if found is None:
        raise unprocessable(f"{field}: no evaluation dataset {dataset_uuid!r}")
    return found


def _agent_metric_uuids(uuids: Iterable[str], field: str) -> list[str]:
    chosen = list(dict.fromkeys(uuids))
    if not chosen:
        raise invalid(f"{field}: at least one metric is required")
    for metric_uuid in chosen:
        found = BUILTIN_BY_UUID.get(metric_uuid)
        if found is None or found.evaluation_scope != "EVALUATION_SCOPE_AGENT":
            raise unprocessable(f"{field}: {metric_uuid!r} is not an agent evaluation metric"
                                " (see GET /v2/gen-ai/evaluation_metrics)")
    return chosen


def star_metric(star: wire.StarMetric | None, metric_uuids: list[str], previous: dict[str, Any] | None,
                resolve) -> dict[str, Any]:
    """The star metric to store: the one given, else the previous one if still chosen, else the first numeric."""
    if star is None and previous is not None and previous["metric_uuid"] in metric_uuids:
        return previous
    star = star or wire.StarMetric()
    metric_uuid = star.metric_uuid or next((u for u in metric_uuids if resolve(u).numeric), None)
    if metric_uuid is None:
        raise unprocessable("star_metric: the test case needs a numeric metric to judge success by")
    if metric_uuid not in metric_uuids:
        raise unprocessable(f"star_metric.metric_uuid: {metric_uuid!r} is not one of the test case's metrics")
    chosen = resolve(metric_uuid)
    if not chosen.numeric:
        raise unprocessable(f"star_metric.metric_uuid: {chosen.metric_name!r} is not numeric and cannot be a star")
    stored: dict[str, Any] = {"metric_uuid": metric_uuid, "name": star.name or chosen.metric_name,
                              "success_threshold_pct": DEFAULT_THRESHOLD_PCT if star.success_threshold_pct is None
                              else star.success_threshold_pct}
    if star.success_threshold is not None:
        if not chosen.range_min <= star.success_threshold <= chosen.range_max:
            raise unprocessable(f"star_metric.success_threshold: must lie in the metric's range "
                                f"[{chosen.range_min:g}, {chosen.range_max:g}]")
        stored["success_threshold"] = star.success_threshold
    return stored


def create_test_case(c: Caller, body: wire.CreateTestCase) -> TestCase:
    name = required(body.name, "name")
    dataset_uuid = required(body.dataset_uuid, "dataset_uuid")
    if not body.workspace_uuid and not body.agent_workspace_name:
        raise invalid("workspace_uuid or agent_workspace_name is required: a test case belongs to a workspace")
    metric_uuids = _agent_metric_uuids(required(body.metrics, "metrics"), "metrics")
    _usable_dataset(c, dataset_uuid)
    star = star_metric(body.star_metric, metric_uuids, None, BUILTIN_BY_UUID.__getitem__)
    workspace = body.workspace_uuid or stable_uuid(c.ns.seed, "workspace", body.agent_workspace_name)
    case = TestCase(test_case_uuid=c.new_uuid(), workspace_uuid=workspace,
                    agent_workspace_name=body.agent_workspace_name or "", created_at=c.now, created_by=c.token)
    case.versions.append(TestCaseVersion(version=1, name=name, description=body.description or "",
                                         dataset_uuid=dataset_uuid, metric_uuids=metric_uuids, star_metric=star,
                                         updated_at=c.now, updated_by=c.token))
    return test_cases(c.ns).add(case.test_case_uuid, case)


def get_test_case(c: Caller, test_case_uuid: str) -> TestCase:
    found = test_cases(c.ns).get(test_case_uuid)
    if found is None:
        raise not_found("evaluation test case", test_case_uuid)
    return found


def test_case_version(c: Caller, case: TestCase, number: int | None) -> TestCaseVersion:
    """The version asked for (0 or absent: the latest); an unknown version is a 404."""
    if not number:
        return case.latest
    found = case.version(number)
    if found is None:
        raise ApiError("not_found", f"Version {number} of evaluation test case {case.test_case_uuid!r} could not"
                                    f" be found (it has versions 1 to {len(case.versions)}).")
    return found


def update_test_case(c: Caller, test_case_uuid: str, body: wire.UpdateTestCase) -> TestCase:
    case = get_test_case(c, test_case_uuid)
    if body.test_case_uuid and body.test_case_uuid != test_case_uuid:
        raise invalid(f"test_case_uuid: the body names {body.test_case_uuid!r} but the path {test_case_uuid!r}")
    latest = case.latest
    if body.name is not None and not body.name:
        raise invalid("name cannot be empty")
    given = body.metric_uuids()
    metric_uuids = latest.metric_uuids if given is None else _agent_metric_uuids(given, "metrics")
    dataset_uuid = latest.dataset_uuid
    if body.dataset_uuid:
        dataset_uuid = _usable_dataset(c, body.dataset_uuid).dataset_uuid
    star = star_metric(body.star_metric, metric_uuids, latest.star_metric, BUILTIN_BY_UUID.__getitem__)
    case.versions.append(TestCaseVersion(
        version=latest.version + 1, name=body.name or latest.name,
        description=latest.description if body.description is None else body.description,
        dataset_uuid=dataset_uuid, metric_uuids=metric_uuids, star_metric=star, updated_at=c.now,
        updated_by=c.token))
    return case


def list_test_cases(c: Caller, q: wire.TestCaseListQuery) -> list[TestCase]:
    found = list(test_cases(c.ns).values())
    if q.workspace_uuid:
        found = [t for t in found if t.workspace_uuid == q.workspace_uuid]
    if q.agent_workspace_name:
        found = [t for t in found if t.agent_workspace_name == q.agent_workspace_name]
    return found


def list_test_cases_by_workspace(c: Caller, workspace_uuid: str) -> list[TestCase]:
    collection = test_cases(c.ns)
    return collection.many(list(collection.index("workspace", workspace_uuid)))


def run_counts(c: Caller, case: TestCase) -> tuple[int, int]:
    """(runs on any version, runs on the latest version), counted from the runs' indexes."""
    collection = runs(c.ns)
    latest = f"{case.test_case_uuid}#{case.latest.version}"
    return len(collection.index("test_case", case.test_case_uuid)), len(collection.index("test_case_version", latest))


# ---- evaluation runs ----------------------------------------------------------------------------------------


def _on_enter(run: EvaluationRun, status: str, at: float) -> None:
    if status == RUNNING:
        run.started_at = at
    elif status in RUN_LIFECYCLE.terminal:
        run.finished_at = at
        if status == FAILED and not run.error_description:
            run.error_description = "the agent did not answer the dataset's prompts"


def sync(c: Caller, run: EvaluationRun, *, polled: bool = False) -> EvaluationRun:
    """The one place a run's status catches up with the namespace clock (every read of a run passes here);
    `polled` marks a GET of this run, which a scenario timeline's `after_polls` counts."""
    RUN_LIFECYCLE.catch_up(run, c.now, _on_enter, polled=polled)
    return run


def run_dataset(c: Caller, run: EvaluationRun) -> Dataset:
    case = test_cases(c.ns).get_any(run.test_case_uuid)
    return datasets(c.ns).get_any(case.version(run.test_case_version).dataset_uuid)


def run_metrics(c: Caller, run: EvaluationRun) -> tuple[list[Metric], dict[str, Any]]:
    case = test_cases(c.ns).get_any(run.test_case_uuid)
    version = case.version(run.test_case_version)
    return [metric(c.ns, u) for u in version.metric_uuids], version.star_metric


def start_runs(c: Caller, body: wire.RunTestCase, *, created_at: float | None = None,
               outcome: str | None = None) -> list[EvaluationRun]:
    """One run per target agent or agent deployment, on the test case's latest version."""
    case_uuid = required(body.test_case_uuid, "test_case_uuid")
    agents = list(dict.fromkeys(body.agent_uuids or []))
    deployments = list(dict.fromkeys(body.agent_deployment_names or []))
    if not agents and not deployments:
        raise invalid("agent_uuids or agent_deployment_names is required: name the agents to evaluate")
    if any(not a for a in agents + deployments):
        raise invalid("agent_uuids and agent_deployment_names cannot hold empty strings")
    case = test_cases(c.ns).get(case_uuid)
    if case is None:
        raise unprocessable(f"test_case_uuid: no evaluation test case {case_uuid!r}")
    version = case.latest
    dataset = datasets(c.ns).get(version.dataset_uuid)
    if dataset is None:
        raise unprocessable(f"the test case's dataset {version.dataset_uuid!r} was deleted; update the test case")
    at = c.now if created_at is None else created_at
    made = []
    for agent_uuid, deployment in [(a, "") for a in agents] + [("", d) for d in deployments]:
        run_uuid = c.new_uuid()
        rows = len(dataset.rows)
        run = EvaluationRun(
            evaluation_run_uuid=run_uuid, run_name=body.run_name or f"{version.name} #{run_counts(c, case)[0] + 1}",
            test_case_uuid=case.test_case_uuid, test_case_version=version.version, workspace_uuid=case.workspace_uuid,
            agent_uuid=agent_uuid, agent_deployment_name=deployment,
            agent_name=deployment or f"{faker_for(c.ns.seed, 'agent', agent_uuid).word()}-agent",
            agent_workspace_uuid=case.workspace_uuid,
            agent_version_hash=derived_hex(c.ns.seed, "agent-version", agent_uuid or deployment, nbytes=20),
            created_by=c.token, queued_at=at, status_since=at,
            durations={RUNNING: rows * SECONDS_PER_ROW_RUNNING, EVALUATING: rows * SECONDS_PER_ROW_EVALUATING},
        )
        metrics = [BUILTIN_BY_UUID[u] for u in version.metric_uuids]
        if outcome is not None and outcome != SUCCESSFUL:
            run.detours[RUNNING if outcome == FAILED else EVALUATING] = outcome
        elif gen.failed_judge_call(c.ns.seed, run_uuid, rows, metrics) is not None:
            run.detours[EVALUATING] = PARTIAL
        runs(c.ns).add(run_uuid, run)
        sync(c, run)
        made.append(run)
    return made


def get_run(c: Caller, run_uuid: str, *, polled: bool = False) -> EvaluationRun:
    found = runs(c.ns).get(run_uuid)
    if found is None:
        raise not_found("evaluation run", run_uuid)
    return sync(c, found, polled=polled)


def list_runs_by_test_case(c: Caller, test_case_uuid: str, version: int | None) -> list[EvaluationRun]:
    case = get_test_case(c, test_case_uuid)
    collection = runs(c.ns)
    if version:
        test_case_version(c, case, version)
        index = collection.index("test_case_version", f"{test_case_uuid}#{version}")
    else:
        index = collection.index("test_case", test_case_uuid)
    return [sync(c, r) for r in collection.many(list(index))]


def outcome(c: Caller, run: EvaluationRun) -> dict[str, Any] | None:
    """Scores of a finished run: {"prompts", "run_level", "star", "pass_status"}; None until it has them.

    Derived from the seed, the dataset rows and the metrics; cached per run in ns.cache (rebuildable).
    """
    if run.status not in (SUCCESSFUL, PARTIAL):
        return None
    return cached(c.ns, "digitalocean.results", run.evaluation_run_uuid, lambda: _score(c, run))


def _score(c: Caller, run: EvaluationRun) -> dict[str, Any]:
    seed, key = c.ns.seed, run.evaluation_run_uuid
    dataset = run_dataset(c, run)
    metrics, star = run_metrics(c, run)
    failure = gen.failed_judge_call(seed, key, len(dataset.rows), metrics) if run.status == PARTIAL else None
    rag = any(m.metric_type == "METRIC_TYPE_RAG_AND_TOOL" for m in metrics)
    prompts, per_metric = [], {m.metric_uuid: [] for m in metrics}
    for index, row in enumerate(dataset.rows):
        output = gen.answer(seed, key, index, row)
        scored = []
        for m in metrics:
            result = gen.metric_result(seed, key, index, m, failure == (index, m.metric_uuid))
            per_metric[m.metric_uuid].append(result)
            scored.append(result)
        prompts.append({"prompt_id": index + 1, "input": row["query"], "ground_truth": row.get("ground_truth", ""),
                        "output": output, "input_tokens": str(gen.tokens(row["query"])),
                        "output_tokens": str(gen.tokens(output)),
                        "trace_id": derived_hex(seed, key, "trace", index),
                        "prompt_chunks": gen.chunks(seed, key, index, run.workspace_uuid) if rag else [],
                        "prompt_level_metric_results": scored,
                        "evaluation_trace_spans": [gen.llm_span(run.started_at + index * SECONDS_PER_ROW_RUNNING,
                                                                row["query"], output)]})
    run_level = [gen.run_level(m, per_metric[m.metric_uuid]) for m in metrics]
    star_metric_ = next(m for m in metrics if m.metric_uuid == star["metric_uuid"])
    star_result = next(r for r in run_level if r["metric_uuid"] == star["metric_uuid"])
    return {"prompts": prompts, "run_level": run_level, "star": star_result,
            "pass_status": gen.passes(star_metric_, star, star_result)}
