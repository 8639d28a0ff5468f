"""Mistral observability (beta) API: /v1/observability, as mistralai 2.9.4 calls it (`client.beta.observability`).

Served: every method of beta.observability in 2.9.4: chat_completion_events (search, search_ids, fetch,
fetch_similar_events, judge) and its fields group, judges, campaigns, datasets with records, imports, import tasks
and a JSONL export, and logs, traces and spans (the otel package).

Where things are: routes.py is the operation table (`OPERATIONS`, one core.operations.Operation row per SDK
method, handlers of one argument) and the `authenticate` hook; vendor.py declares the package to the registry
(`VENDOR`); service.py (events, judges, campaigns) and datasets.py hold the rules; render.py the wire shapes;
errors.py the envelope and codes; scenario.py the `mistral:` section of a scenario file; otel/ the logs, traces,
spans and evaluations derived from the events.

Choices where the vendor is silent (written down here, kept consistent):
- Auth: a bearer token is required (401 AUTH_UNAUTHORIZED otherwise); it names the namespace unless
  X-Emulator-Namespace is sent. Fault/journal operation names are the SDK's method paths, e.g.
  `chat_completion_events.search`, `datasets.records.bulk_delete` (the rows of routes.OPERATIONS); a fault rule
  may also name an operation by the operationId mistralai 2.9.4 knows it by
  (`get_judges_v1_observability_judges_get`). A missing body, or one that is not a JSON object, is 422.
- Errors: {"detail": {"message", "error_code"}}. Request-shape problems are 422 VALIDATION_ERROR; a bad filter
  (unknown field or operator, an operator the field's type lacks, a value of the wrong type, a regex RE2 refuses
  or one over 1,000 characters, more than 16 levels, 64 conditions, 4 `matches` conditions or 1,000 groups and
  conditions in all) is 422 SEARCH_BAD_REQUEST naming the node (`search_params.filters.AND[1].op`). Groups that
  constrain nothing are dropped before any event is read.
  Unknown ids: 404 SEARCH_NOT_FOUND (events), JUDGE_NOT_FOUND, CAMPAIGN_NOT_FOUND, DATASET_NOT_FOUND,
  DATASET_RECORD_NOT_FOUND, DATASET_TASK_NOT_FOUND, FIELDS_NOT_FOUND. Each code's status is errors.CODE_STATUS.
- Events come from scenarios only (the API has no create). Filterable fields are fields.FIELDS: created_at,
  correlation_id, model, temperature, streamed, tools, request_text, response_text, finish_reason, latency_ms,
  nb_input_tokens, nb_output_tokens, nb_messages, user_id, tags, metadata; each type takes the operators of
  fields.TYPE_OPERATORS (text ops on TEXT/ENUM, `matches` is an RE2 regex search on TEXT, order ops on
  INT/FLOAT/TIMESTAMP, includes/excludes/len_eq on ARRAY items and MAP keys, isnull everywhere). Null semantics
  are in filters.py. A group needs all of its AND members and, when OR members are given, one of them; a null or
  empty list adds nothing, so `{}` matches every event.
- search is newest first (created_at, then event_id). `next` and `cursor` both carry the opaque token of the
  following page (null on the last page), so either can be passed back as `cursor`; a token is the last
  event's sort key, so pages stay stable while events arrive. search_ids returns every match (up to 100,000).
  Preview `extra_fields` holds exactly the fields named in the request's `extra_fields` (empty when none);
  fetch shows all extra fields (model, temperature, streamed, finish_reason, latency_ms, user_id, tags, metadata).
- similar-events: the 20 events with the highest word overlap (Jaccard over message words, stop words left out)
  with the given one; events sharing no word are not similar. No paging.
- fields.fetch_options lists the values seen in the data for ENUM/BOOL fields, ARRAY items and MAP keys (null is
  listed for isnull); free-form fields (TEXT, numbers, times) and len_eq answer `options: null`. options-counts
  works on those categorical fields only (422 FIELDS_BAD_REQUEST otherwise), most frequent first.
- Judging is deterministic (judging.py): the same seed, definition and conversation give the same answer.
  CLASSIFICATION answers an option value, REGRESSION a number in [min, max] rounded to 2 decimals.
- Judges: names unique among live judges (409 JUDGE_NAME_ALREADY_EXISTS); an update that changes nothing is
  400 JUDGE_DID_NOT_CHANGE; a judge used by a live campaign cannot be updated (409); revisions are not modelled
  (up/down/base_revision null). Deleting a judge keeps it visible inside its campaigns, with deleted_at set.
- Campaigns select, when created, up to max_nb_events matching events (newest first; none is
  400 CAMPAIGN_NO_MATCHING_EVENTS) and stay RUNNING for 2 s + 0.5 s per event on the namespace clock, then
  COMPLETED. import-from-campaign needs a COMPLETED campaign (409 otherwise); its records carry the verdicts.
- Lists with pages (judges, campaigns, datasets, tasks: newest first; records, selected events: in order) answer
  count, results, and next/previous as absolute links with page/page_size (null at the ends); page_size is
  1..1000. `q` matches name or description, case-insensitively.
- Datasets: PATCH with a null field leaves it unchanged; a record payload must hold `messages` (a non-empty list
  of {role, content}) or it is 422 DATASET_RECORD_FORMAT_ERROR; bulk delete is all or nothing.
- Imports are tasks RUNNING for 1 s + 0.2 s per record, with progress 0..99 then 100, and add their records when
  they complete. The emulator holds no files or playground conversations: a file id stands for 3-8 plausible
  conversations and a conversation id for one, both fixed by the seed.
- Campaigns in scenarios may carry a `timeline:` (core.timeline steps setting `status`, checked against the
  campaign lifecycle: RUNNING -> COMPLETED by time, FAILED/TIMED_OUT/TERMINATED scripted). fetch and
  fetch_status of that campaign count as polls; lists, selected-events and reads by other routes do not. While
  steps are left the timed move holds; after the last one, RUNNING lasts its usual duration from that step.
  Import tasks take no timeline (scenarios create no import tasks).
- Logs, traces and spans are derived from the stored events (otel/rows.py), not stored: each event is one trace
  (trace id and span ids derived from the seed and event id) of a SERVER span `POST /v1/chat/completions`
  (starting at created_at, lasting latency_ms, or 150 ms + 12 ms per output token when unknown) and a CLIENT
  child span `chat <model>` (operation chat, provider mistral_ai, messages as JSON text, usage, temperature,
  finish reasons; span_attributes hold gen_ai.*, metadata.<key> and tags), and two logs on the child span:
  `gen_ai.user.message` (body: the request text, INFO) and `gen_ai.choice` (body: the answer; WARN when the
  finish reason is `length`, ERROR when it is `error`). finish_reason `error` makes the trace and its spans
  status Error (else trace Unset, server span Unset, chat span Ok). Empty strings stand for absent text values,
  as OpenTelemetry stores do; there are no retrievals, agents, workflows or cache tokens (zeros and "").
- Span evaluations are the verdicts of COMPLETED campaigns, one per selected event, on its chat span, stamped
  when the campaign completed: evaluation_name is the judge's name, score_label the answer (a REGRESSION number
  as %g), score_value the number or the chosen option's index, explanation the analysis, metadata campaign_id,
  campaign_name, judge_id, judge_type. search/latest keeps the newest per (span, evaluation_name).
- search_expression grammar (case-insensitive keywords): `a AND b`, `a OR b` (AND binds tighter), `NOT a`,
  parentheses; `field = v` (also ==), `!=` (also <>), `<`, `<=`, `>`, `>=`, `field [NOT] BETWEEN v AND v`,
  `field [NOT] IN (v, ...)`, `field [NOT] LIKE 'p%_'`, `[NOT] ILIKE`, `=~ 're'` / `!~ 're'` (RE2 regex search,
  `.` matching newlines too, as ClickHouse's match()), `field [NOT] CONTAINS 's'`, `field [NOT] EXISTS`,
  `has(field, v)`, `hasAny(field, [v, ...])`,
  `hasAll(field, [...])`, `hasToken(field, 'word')`; `map['key']` reads a MAP entry as TEXT. Values: 'single' or
  "double" quoted strings (backslash escapes), numbers, true/false; times as ISO-8601 strings (UTC when no
  offset). Each field type takes exactly the operators its fields list advertises (otel/fields.py TYPE_OPERATORS); a
  condition on an absent (null) value is false, NOT negates it; EXISTS means not null and not empty. Any
  mistake (syntax, unknown field, operator the type lacks, value of the wrong type, a regex RE2 refuses) is 422
  TRACES_FILTER_QUERY_PARSE_ERROR naming the character position, as is going over a limit: an expression over
  10,000 characters, nesting deeper than 32 levels of parentheses and NOT, more than 64 conditions or 4 regex
  and LIKE conditions, a regex or LIKE pattern over 1,000 characters. A null or blank expression matches all.
- Patterns run in time linear in the text, so none can hold the server (patterns.py): regexes (`=~`, `!~`,
  `matches`) are RE2's syntax (ClickHouse's, whose operators the search language uses), and RE2 refuses what it
  cannot match without backtracking (backreferences, lookaround); LIKE/ILIKE are translated to RE2: `%` any run
  of characters (newlines too), `_` one character, no escape character (a backslash is literal), ILIKE ignoring
  case as RE2 folds it. hasToken's words are runs of [A-Za-z0-9_].
- from/to bound the kind's time (log timestamp, trace/span start_time, evaluation timestamp), inclusive; either
  may be absent (no bound); from after to is 422 VALIDATION_ERROR. Feeds are newest first (traces, spans,
  evaluations; logs follow `order`, default desc) and spans of one trace oldest first; `next` and `cursor`
  both carry the opaque token of the following page (null on the last); the token holds the order and the
  last row's (time, id), so pages are stable while events arrive and a cursor keeps its first page's order.
- Aggregations: measure is a field name or `*` (count only); count counts non-empty values, count_distinct
  distinct ones; sum/avg/min/max/p50..p99 work on INT and FLOAT fields (percentiles interpolate linearly),
  metric_name is `aggregation(measure)`. Dimensions are ENUM/TEXT/BOOL/INT fields; time_dimension buckets the
  kind's time (auto: minute up to 2 h of range, hour up to 2 days, day up to 62 days, else week; weeks start on
  Monday, months on the 1st with granularity_seconds null). Rows are ordered by order_by (metric_value,
  time_bucket or a dimension) and then by time bucket and dimensions ascending, nulls last; limit 1..10000. With
  no rows and no grouping there is one row (count 0, other metrics null). meta is the from/to asked for, or the
  earliest row time and max(now, latest row time). Unknown measure/dimension, an aggregation the type lacks or
  a bad order_by field is 422 FIELDS_BAD_REQUEST.
- Field options (logs/traces/spans/evaluations): the distinct values in the window, sorted, for ENUM and BOOL
  fields, ARRAY items and MAP keys; other types answer `options: null`; an unknown field is 404 FIELDS_NOT_FOUND.
  Unknown trace ids are 404 TRACE_NOT_FOUND, unknown span ids in a trace 404 SPAN_NOT_FOUND.
- export_to_jsonl freezes the records ({"payload", "properties"} per line) and answers a file_url under
  /v1/observability/dataset-exports/<id>.jsonl, read with the same API key.
"""

PREFIX = "/v1/observability"

# The package's declaration for the registry (core.vendor.Vendor), imported last: the modules it names import
# PREFIX from here.
from emulator.vendors.mistral.vendor import VENDOR  # noqa: E402
