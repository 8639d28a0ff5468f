"""DigitalOcean GenAI evaluation API: /v2/gen-ai/..., as pydo 0.44.0 (and gradient 3.12.2) call it.

Agent evaluation (test cases, runs, results, metrics, datasets) and the model-evaluation family pydo carries
(custom metrics, presets, model runs). Choices where the vendor is silent (written down here, kept consistent):

- Every success is 200 with a JSON body (deletes answer `{}`); every error is `{"id", "message", "request_id"}`
  with the status: 400 `bad_request` (missing field, wrong type, malformed JSON), 401 `unauthorized` (no bearer
  token), 404 `not_found` (unknown id in the path, unknown test-case version, unknown prompt), 422
  `unprocessable_entity` (a body that refers to nothing, like an unknown dataset or metric, or breaks a rule, or a
  wrong-state action such as cancelling a finished model run). 409 is not used: gradient would retry it.
- Every response carries ratelimit-limit (5000), ratelimit-remaining and ratelimit-reset (epoch seconds) as
  integers, counted per namespace per hour of its clock; the limit is never enforced (script a 429 fault
  instead). An answer to a request no namespace accepted (no token, no such route, a refused presigned URL) is
  not counted and reports a full window starting now by the wall clock, the only clock there is without a
  namespace; presigned-file answers report their namespace's window without counting (ratelimit.py). Only 429
  and 503 carry Retry-After (pydo retries any error that has one).
- Test cases: create is version 1; every PUT appends the next version (also one that changes nothing) and
  answers `{test_case_uuid, version}`; GET without `evaluation_test_case_version` (or with 0) is the latest, with
  one it is that version as written. `total_runs` counts runs on every version, `latest_version_number_of_runs`
  runs on the latest. A test case needs a name, a dataset, at least one agent metric, and a workspace
  (`workspace_uuid`, or `agent_workspace_name`, from which a stable workspace uuid is derived). The star metric
  defaults to the first numeric metric at success_threshold_pct 80; it must be one of the test case's numeric
  metrics. An update that drops the star metric's metric moves the star to the first numeric metric.
  `metrics` on PUT is accepted both as `{"metric_uuids": [...]}` and as a plain list.
- Runs: one run per agent uuid and per deployment name, on the test case's latest version. A run moves on the
  namespace clock QUEUED (5 s) -> RUNNING_DATASET (2 s per row) -> EVALUATING_RESULTS (1 s per row) ->
  SUCCESSFUL, or PARTIALLY_SUCCESSFUL when one judge call failed (about 15% of runs, fixed by the seed);
  FAILED only when a scenario scripts it. Results (prompts, run-level results, star result, pass_status)
  appear when the run succeeds; before that `prompts` is empty and a prompt lookup is 404.
- pass_status: the star metric's run-level value (the mean over prompts) reaches `success_threshold` when that
  is set, else its position in the metric's range reaches success_threshold_pct percent (inverted metrics:
  lower is better).
- Results pages: `page` from 1, `per_page` 1-200 (default 20); `links.pages` has first/previous only past page
  1 and next/last only before the last page; a page past the end is empty. Model runs: default per_page 50 on
  a run's results, 20 on the run list; the list is newest first unless sort_direction is ASC.
- Lists without pagination return everything in creation order. GET /evaluation_test_cases also takes the
  undocumented `workspace_uuid` / `agent_workspace_name` filters DigitalOcean's MCP server sends.
- Datasets: `dataset_type` UNKNOWN (pydo's default) does not filter; `dataset_paradigm` filters when sent (pydo
  always sends SINGLE_TURN by default, so multi-turn datasets need the parameter). Deletes are soft: test cases
  keep naming a deleted dataset, but a new run on it is refused (422).
- Presigned URLs point at this emulator: `PUT .../_emulator/files/<key>?handle=..&expires=..&signature=..`
  (operation `files.upload`, at most 10 MiB, else 413) for uploads, `GET` on the same path (`files.download`)
  for a dataset as CSV and a model run's results as gzip JSON. They need no token and are not rate-counted.
  Object keys are opaque (any file name round-trips; the URL holds the key as one segment, `/` as `%2F`,
  decoded once from the raw path) and at most 1024 bytes of UTF-8, as S3's (a longer file name is a 422 at
  presign). The grant is an opaque handle of the namespace (never its name, which is often the token) and an
  HMAC over (method, key, expiry) with a key derived from the namespace's seed and name, so URLs are
  reproducible (files.py). A missing, forged or altered grant, a grant used with the other method, or one for a
  namespace that no longer exists is 403 `forbidden` (S3's SignatureDoesNotMatch) and never creates a
  namespace; a URL past its `expires_at` by its namespace's clock (the clock it is reported in) is 403
  "Request has expired" (S3's AccessDenied).
- A CSV uploaded there (a `query` column, optional `expected_response` or `ground_truth`) becomes the dataset's
  rows; its file_size is the upload's size (`size_in_bytes` is not trusted). A dataset is never built from rows
  the user did not send: create_evaluation_dataset naming an object key that holds no upload (never uploaded,
  refused, expired) is 422 unprocessable_entity and creates nothing. (A scenario's datasets are the
  scenario's: its rows, or the `row_count` rows it asks the seed for.)
- Operations are named as pydo names them (`get_evaluation_test_case`); the OpenAPI operationId
  (`genai_get_evaluation_test_case`) and gradient's method path (`agents.evaluation_test_cases.retrieve`) name
  them too (routes.py lists them).
- Metrics: GET /evaluation_metrics lists the built-in agent metrics (their uuids are the same in every
  namespace); custom metrics are model-evaluation metrics and are listed by /model_evaluation_metrics. Updating a
  custom metric issues a new uuid and retires the old one (as the vendor documents); deleting one is soft and
  also deletes the presets that use it (the vendor's `associated_presets` warns of exactly that).
- Model runs: cancel only from QUEUED/RUNNING_DATASET/EVALUATING_RESULTS (-> CANCELLING, 2 s -> CANCELLED),
  else 422. Delete of a run that is not finished answers 200 `{"status": "..._FAIL", "error"}` and changes
  nothing (the vendor's response schema carries the failure in band); a finished run's delete answers SUCCESS.
  Presets are made by runs with `preset_save_sections` (or the deprecated `save_as_preset`: all sections).
"""

PREFIX = "/v2/gen-ai"

# The package's declaration for the registry (core.vendor.Vendor), imported last: the modules it names import
# PREFIX from here.
from emulator.vendors.digitalocean.vendor import VENDOR  # noqa: E402
