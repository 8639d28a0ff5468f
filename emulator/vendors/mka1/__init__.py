"""MKA1 (MeetKai) evals API: /api/v1/llm/evals, as meetkai-mka1 0.12.128 calls it.

Choices where the vendor's docs are silent (written down here, kept consistent):
- Lists are newest first; `after` is the id of the previous page's last item.
- Validation failures answer 400 `invalid_request_error`; wrong-state actions 409 `conflict_error`.
- Error body: {"error": {"message", "type", "code"}} with `code` the HTTP status.
- `list_samples` `sample_index` takes one index or a comma-separated list ("3" or "1,4,7").
- A run holds no samples while first queued; samples appear when it starts and finish one by one.
- Shares are recorded and listed, but other namespaces never see a shared suite (namespaces stay isolated).
"""

PREFIX = "/api/v1/llm/evals"
