"""Baidu Qianfan model evaluation: `POST /v2/eval?Action=...` and `POST /wenxinworkshop/modelrepo/eval/*`, as
qianfan 0.4.12.3 calls them (call_action, Eval.V2, Model), signed with bce-auth-v1.

Choices where the vendor's pages are silent (written down here, kept consistent):
- Both families are views of one task store. v2 states are canonical; the legacy view maps them to the values
  the SDK's EvaluationTaskStatus enum parses (RunningWithMetricsCalculating shows as Doing, Failed as Failed,
  never the doc-only DoingWithMetricsCalculating/Fail). PartlyDone is never produced.
- Progression on the namespace clock: Queued 5 s -> Running 60 s -> RunningWithMetricsCalculating 15 s ->
  Successed. A task whose evalMode includes manual ends its automatic part in RunningWithManualBegin and stays
  there (people score it; the emulator has none). Stop: Stopping 3 s -> Stopped. Table: records.TASK_LIFECYCLE.
- Stop is refused for any task with manual evaluation, and for a finished (or already stopping) task: on the
  legacy route as {"result": {"result": false, "errorMessage": ...}}, on StopEvalTask as HTTP 400
  OperationNotAllowed. Delete is allowed in every state.
- CreateEvalTask's result is the new task id string ("ame-" + 12 characters); legacy create answers
  {evalId (deprecated int), evalIdStr}. Integer ids, also as numeric strings, are accepted wherever an id is.
- DescribeEvalTasks: oldest first (pageReverse=true: newest first); the marker is the id of the first task of
  the page and nextMarker the first of the next one, so a walk survives inserts and deletes between pages (a
  deleted marker keeps its place). A marker that is not a task of that evalType list is a 400. keyFilter is a
  case-insensitive substring of the task name or id, or exactly a model version id (amv-... or its integer).
  evalType is "manual" when evalMode includes manual, else "auto".
- Times ("YYYY-MM-DD HH:MM:SS") are Beijing time (UTC+8), as the console shows them; "" for a time not reached.
- Reports list one entry per evaluated object; effectMetric is {} until the automatic metrics exist
  (Successed or RunningWithManualBegin). Metrics are computed from per-sample scores fixed by the seed, the same
  ones /eval/result/list shows: rule -> accuracy, f1Score, rouge_1, rouge_2, rouge_l, bleu4; model (judge,
  scores 1-5, -1 = unscored) -> avgJudgeScore, stdJudgeScore, medianJudgeScore, scoreDistribution. Manual scores
  never appear. /eval/result/list answers {pageNo, pageSize, totalCount, items}.
- Exports need scored results; they go Pending 2 s -> Uploading 5 s -> Done with a bcebos downloadUrl that
  cannot be fetched offline.
- v2 errors: BCE codes at their statuses; bad values InappropriateJSON 400, a body that is not JSON
  MalformedJSON 400, not an object InvalidHTTPRequest 400, a missing or unknown Action InvalidAction 400, an
  unknown id ResourceNotFound 404, a refused stop OperationNotAllowed 400, a bug InternalError 500.
  Legacy errors: {"error_code", "error_msg", "log_id"} at HTTP 200: 500001 for the client's mistakes (the doc's
  "param invalid" code), 500000 for internal errors (the SDK's ConsoleInternalError, retried when asked).
  Unknown legacy paths answer 404 and wrong methods 405 in the legacy envelope. Any query on the legacy routes is
  ignored (the docs send an empty ?Action=).
- Auth is the gateway's, before either family: no Authorization header AccessDenied 403, an unparsable one
  InvalidHTTPAuthHeader 400, an unknown access key InvalidAccessKeyId 403, a wrong signature
  SignatureDoesNotMatch 403, an expired one RequestExpired 400 (checked against the host's wall clock, since the
  SDK signs with it), with X-Bce-Error-Code/-Message headers the SDK reads to hint at the wrong key.
- requestId / log_id are derived from the namespace seed and a per-namespace request counter.
- Operation names for faults and the journal: the Action, or "eval/<route>" for the legacy family
  ("eval/cancel", "eval/result/export/info"); the SDK's method names (`describe_eval_tasks`,
  `get_evaluation_info`) are accepted too (routes.OPERATIONS). A missing or unknown Action is refused before the
  signature is checked (the operation table answers it).
"""

V2_PATH = "/v2/eval"
LEGACY_PREFIX = "/wenxinworkshop/modelrepo/eval"

# The package's declaration for the registry (core.vendor.Vendor), imported last: the modules it names import
# the paths above from here.
from emulator.vendors.qianfan.vendor import VENDOR  # noqa: E402
