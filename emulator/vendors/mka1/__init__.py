"""MKA1 (MeetKai) evals API: /api/v1/llm/evals, as meetkai-mka1 0.12.128 calls it.

Choices where the vendor's docs are silent (written down here, kept consistent):
- Lists are newest first; `after` is the id of the previous page's last item (an unknown id is a 400).
- Validation failures answer 400 `invalid_request_error`; wrong-state actions 409 `conflict_error`; unknown ids
  404 `not_found_error`; a missing bearer token 401 `authentication_error`.
- Error body: {"error": {"message", "type", "code"}} with `code` the HTTP status.
- `judge_model` and `embedding_model` default to "auto", as in the vendor's example run.
- A run holds no samples while first queued; samples appear when it starts and finish one by one over 40 s;
  about 10% (at least one) fail on their first attempt. Rerun and retry passes always succeed.
- `metrics` is {"reward": mean, <task metric ids>..., "by_task": {task: {"reward", "scored"}}}, filled as
  samples are scored; run `tokens` are summed when the run completes (null before, as the SDK documents).
- `list_samples` `sample_index` takes one index or a comma-separated list ("3" or "1,4,7"); list responses
  redact inline `data:` audio as "[redacted data: URI, N bytes]"; get_sample_audio returns the clip.
- Token backfill counts words and punctuation (not tiktoken's o200k_base); it marks `tokens_estimated`.
- leaderboard-runs returns at most 200 group entries per call, then `truncated` with a `next_cursor`.
- Hugging Face imports are simulated (no network): files come from `source.files` or one file per (model,
  task) named as lm-eval names them; each becomes a completed run; a repeated file is skipped.
- Schedules fire lazily when read (schedule get/list/runs, and list_runs), at their exact cron or interval
  times; overlap
  `skip` drops an occurrence while the last run is unfinished, `buffer_one` holds one queued run until the last
  one finishes, `allow_all` always fires; after a long clock jump only the newest 100 occurrences fire.
- Shares are recorded and listed, but other namespaces never see a shared suite (namespaces stay isolated).
"""

PREFIX = "/api/v1/llm/evals"

# The package's declaration for the registry (core.vendor.Vendor), imported last: the modules it names import
# PREFIX from here.
from emulator.vendors.mka1.vendor import VENDOR  # noqa: E402
