"""Mistral observability's operation table: one row per SDK method, handlers of one argument (core.operations.Call).

Handlers are thin: the row's models parse the request, service.py / datasets.py / otel apply the rules, render.py
shapes the answer. A handler answering None gives the row's status (204) with an empty body. A row's name is the
SDK method path (`chat_completion_events.search`, `datasets.records.bulk_delete`), which faults and the journal
use; its alias is the operationId mistralai 2.9.4 sends the request under
(`get_chat_completion_events_v1_observability_chat_completion_events_search_post`).
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.responses import Response

from emulator.core.errors import ApiError
from emulator.core.http import bearer_token
from emulator.core.namespace import resolve_name
from emulator.core.operations import Call, Operation
from emulator.vendors.mistral import datasets, otel, render, service, wire
from emulator.vendors.mistral.fields import FIELDS as EVENT_FIELDS
from emulator.vendors.mistral.fields import GROUPS as EVENT_FIELD_GROUPS
from emulator.vendors.mistral.service import Caller


def authenticate(call: Call) -> Caller:
    """The bearer token is the caller; it names the namespace unless X-Emulator-Namespace does."""
    token = bearer_token(call.headers)
    if token is None:
        raise ApiError("unauthorized", "No API key: send Authorization: Bearer <MISTRAL_API_KEY>")
    ns = call.world.get(resolve_name(call.headers, token))
    return Caller(ns=ns, token=token, base_url=call.base_url)


def _page(call: Call, items: list, count: int, shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """A numbered page whose next/previous links repeat the request's own query with another page number."""
    return render.numbered(items, count, shape, link=call.caller.base_url + call.path, query=call.query_lists,
                           page=call.query.page, page_size=call.query.page_size)


# ---- chat completion events and fields --------------------------------------------------------------------------


def search_events(call: Call):
    page = service.search(call.caller, call.body, call.query)
    return {"completion_events": render.feed([render.preview(e, page.extra_fields) for e in page.events],
                                             page.next_cursor)}


def search_event_ids(call: Call):
    return {"completion_event_ids": service.search_ids(call.caller, call.body)}


def fetch_event(call: Call):
    return render.event(service.get_event(call.caller, call.params["event_id"]))


def similar_events(call: Call):
    similar = service.similar_events(call.caller, call.params["event_id"])
    return {"completion_events": render.feed([render.preview(e) for e in similar], None)}


def judge_event(call: Call):
    return service.judge_event(call.caller, call.params["event_id"], call.body)


def list_fields(call: Call):
    return {"field_definitions": [{"name": f.name, "label": f.label, "type": f.type,
                                   "supported_operators": list(f.operators), "group": f.group} for f in EVENT_FIELDS],
            "field_groups": [{"name": name, "label": label} for name, label in EVENT_FIELD_GROUPS]}


def field_options(call: Call):
    return {"options": service.field_options(call.caller, call.params["field_name"], call.query.operator)}


def field_option_counts(call: Call):
    return {"counts": service.option_counts(call.caller, call.params["field_name"], call.body)}


# ---- judges -----------------------------------------------------------------------------------------------------


def create_judge(call: Call):
    return render.judge(service.create_judge(call.caller, call.body))


def list_judges(call: Call):
    return {"judges": _page(call, *service.list_judges(call.caller, call.query), render.judge)}


def fetch_judge(call: Call):
    return render.judge(service.get_judge(call.caller, call.params["judge_id"]))


def update_judge(call: Call):
    service.update_judge(call.caller, call.params["judge_id"], call.body)


def delete_judge(call: Call):
    service.delete_judge(call.caller, call.params["judge_id"])


def judge_conversation(call: Call):
    return service.judge_conversation(call.caller, call.params["judge_id"], call.body)


# ---- campaigns --------------------------------------------------------------------------------------------------


def _campaign(c: Caller, campaign) -> dict[str, Any]:
    return render.campaign(campaign, service.judges(c.ns).get_any(campaign.judge_id))


def create_campaign(call: Call):
    return _campaign(call.caller, service.create_campaign(call.caller, call.body))


def list_campaigns(call: Call):
    c = call.caller
    return {"campaigns": _page(call, *service.list_campaigns(c, call.query), lambda k: _campaign(c, k))}


def fetch_campaign(call: Call):
    return _campaign(call.caller, service.get_campaign(call.caller, call.params["campaign_id"], polled=True))


def delete_campaign(call: Call):
    service.delete_campaign(call.caller, call.params["campaign_id"])


def campaign_status(call: Call):
    return {"status": service.get_campaign(call.caller, call.params["campaign_id"], polled=True).status}


def campaign_events(call: Call):
    selected = service.campaign_events(call.caller, call.params["campaign_id"], call.query)
    return {"completion_events": _page(call, *selected, render.preview)}


# ---- datasets, records, imports ---------------------------------------------------------------------------------


def create_dataset(call: Call):
    return render.dataset(datasets.create_dataset(call.caller, call.body))


def list_datasets(call: Call):
    return {"datasets": _page(call, *datasets.list_datasets(call.caller, call.query), render.dataset)}


def fetch_dataset(call: Call):
    return render.dataset(datasets.get_dataset(call.caller, call.params["dataset_id"]))


def update_dataset(call: Call):
    return render.dataset(datasets.update_dataset(call.caller, call.params["dataset_id"], call.body))


def delete_dataset(call: Call):
    datasets.delete_dataset(call.caller, call.params["dataset_id"])


def list_records(call: Call):
    found = datasets.list_records(call.caller, call.params["dataset_id"], call.query)
    return {"records": _page(call, *found, render.record)}


def create_record(call: Call):
    return render.record(datasets.create_record(call.caller, call.params["dataset_id"], call.body))


def _task(c: Caller, task) -> dict[str, Any]:
    return render.task(task, datasets.progress(c, task))


def importer(start: Callable[[Caller, str, Any], Any]) -> Callable[[Call], dict[str, Any]]:
    """The handler of one import: start the task, answer it (202)."""
    def handler(call: Call):
        return _task(call.caller, start(call.caller, call.params["dataset_id"], call.body))
    handler.__name__ = start.__name__
    return handler


def export_jsonl(call: Call):
    return {"file_url": datasets.export_jsonl(call.caller, call.params["dataset_id"])}


def download_export(call: Call):
    found = datasets.get_export(call.caller, call.params["export_id"])
    return Response(found.content.encode(), media_type="application/x-ndjson")


def fetch_task(call: Call):
    return _task(call.caller, datasets.get_task(call.caller, call.params["dataset_id"], call.params["task_id"]))


def list_tasks(call: Call):
    c = call.caller
    return {"tasks": _page(call, *datasets.list_tasks(c, call.params["dataset_id"], call.query),
                           lambda t: _task(c, t))}


def fetch_record(call: Call):
    return render.record(datasets.get_record(call.caller, call.params["record_id"]))


def delete_record(call: Call):
    datasets.delete_record(call.caller, call.params["record_id"])


def bulk_delete_records(call: Call):
    datasets.bulk_delete(call.caller, call.body)


def judge_record(call: Call):
    return datasets.judge_record(call.caller, call.params["record_id"], call.body)


def update_record_payload(call: Call):
    datasets.update_payload(call.caller, call.params["record_id"], call.body)


def update_record_properties(call: Call):
    datasets.update_properties(call.caller, call.params["record_id"], call.body)


# ---- logs, traces, spans (otel) ---------------------------------------------------------------------------------


def searcher(kind: otel.Kind, key: str, index: Callable[[Caller], otel.Index] | None = None):
    """The handler of a feed of `kind`, answered under `key`; `index` narrows the rows (the latest evaluations)."""
    def search(call: Call):
        body, query = call.body, call.query
        narrowed = None if index is None else index(call.caller)
        return {key: otel.search(call.caller, kind, body.search_expression, query.from_, query.to,
                                 page_size=query.page_size, cursor=query.cursor,
                                 order=getattr(body, "order", "desc"), index=narrowed)}
    return search


def aggregator(kind: otel.Kind):
    return lambda call: otel.aggregate(call.caller, kind, call.body, call.query.from_, call.query.to)


def field_lister(kind: otel.Kind):
    return lambda call: {"field_definitions": otel.field_definitions(kind)}


def option_lister(kind: otel.Kind):
    return lambda call: {"options": otel.options(call.caller, kind, call.params["field_name"], call.query.from_,
                                                 call.query.to)}


def fetch_trace(call: Call):
    trace, _ = otel.trace_rows(call.caller, call.params["trace_id"])
    return otel.render(trace)


def trace_spans(call: Call):
    _, spans = otel.trace_rows(call.caller, call.params["trace_id"])
    query = call.query
    return {"spans": otel.search(call.caller, otel.SPANS, None, query.from_, query.to, page_size=query.page_size,
                                 cursor=query.cursor, order="asc", index=otel.Index.of(otel.SPANS, spans))}


def fetch_span(call: Call):
    return otel.render(otel.span_row(call.caller, call.params["trace_id"], call.params["span_id"]))


# ---- the table --------------------------------------------------------------------------------------------------

EVENTS, EVENT = "/chat-completion-events", "/chat-completion-events/{event_id}"
FIELDS = "/chat-completion-fields"
JUDGES, JUDGE = "/judges", "/judges/{judge_id}"
CAMPAIGNS, CAMPAIGN = "/campaigns", "/campaigns/{campaign_id}"
DATASET, RECORD = "/datasets/{dataset_id}", "/dataset-records/{record_id}"
TRACE = "/traces/{trace_id}"


def op(method: str, path: str, name: str, operation_id: str | None, handler, query=None, body=None, *,
       status: int = 200, documented: bool = True, response=None, prepare=None, repeatable: bool = False
       ) -> Operation:
    """A row: the SDK method path is its name, the operationId mistralai 2.9.4 knows it by is its alias.
    `prepare` builds the derived data the handler reads off the event loop (otel rows, event words)."""
    aliases = () if operation_id is None else (operation_id,)
    return Operation(method, path, name, handler, query, body, status, aliases, documented=documented,
                     response=response, prepare=prepare, repeatable=repeatable)


# What the otel handlers read: logs and spans need the event rows; traces (their evaluation_count) and span
# evaluations need the completed campaigns' evaluations too.
EVENT_ROWS, EVALUATED = otel.prepare_events, otel.prepare_evaluations


OPERATIONS: tuple[Operation, ...] = (
    op("POST", EVENTS + "/search", "chat_completion_events.search",
       "get_chat_completion_events_v1_observability_chat_completion_events_search_post",
       search_events, wire.SearchQuery, wire.SearchEvents, response=wire.EventSearch),
    op("POST", EVENTS + "/search-ids", "chat_completion_events.search_ids",
       "get_chat_completion_event_ids_v1_observability_chat_completion_events_search_ids_post",
       search_event_ids, None, wire.SearchEvents),
    op("GET", EVENT, "chat_completion_events.fetch",
       "get_chat_completion_event_v1_observability_chat_completion_events__event_id__get",
       fetch_event, response=wire.Event, repeatable=True),
    op("GET", EVENT + "/similar-events", "chat_completion_events.fetch_similar_events",
       "get_similar_chat_completion_events_v1_observability_chat_completion_events__event_id__similar_events_get",
       similar_events, response=wire.EventSearch, prepare=service.prepare_similar),
    op("POST", EVENT + "/live-judging", "chat_completion_events.judge",
       "judge_chat_completion_event_v1_observability_chat_completion_events__event_id__live_judging_post",
       judge_event, None, wire.JudgeWithDefinition),
    op("GET", FIELDS, "chat_completion_events.fields.list",
       "get_chat_completion_fields_v1_observability_chat_completion_fields_get",
       list_fields),
    op("GET", FIELDS + "/{field_name}/options", "chat_completion_events.fields.fetch_options",
       "get_chat_completion_field_options_v1_observability_chat_completion_fields__field_name__options_get",
       field_options, wire.OptionsQuery),
    op("POST", FIELDS + "/{field_name}/options-counts", "chat_completion_events.fields.fetch_option_counts",
       "get_chat_completion_field_options_counts_v1_observability_chat_completion_fields__field_name__options_counts_post",
       field_option_counts, None, wire.OptionCounts),
    op("POST", JUDGES, "judges.create", "create_judge_v1_observability_judges_post",
       create_judge, None, wire.JudgeDefinition, status=201),
    op("GET", JUDGES, "judges.list", "get_judges_v1_observability_judges_get",
       list_judges, wire.JudgesQuery),
    op("GET", JUDGE, "judges.fetch", "get_judge_by_id_v1_observability_judges__judge_id__get",
       fetch_judge),
    op("PUT", JUDGE, "judges.update", "update_judge_v1_observability_judges__judge_id__put",
       update_judge, None, wire.JudgeDefinition, status=204),
    op("DELETE", JUDGE, "judges.delete", "delete_judge_v1_observability_judges__judge_id__delete",
       delete_judge, status=204),
    op("POST", JUDGE + "/live-judging", "judges.judge_conversation",
       "judge_conversation_v1_observability_judges__judge_id__live_judging_post",
       judge_conversation, None, wire.JudgeConversation),
    op("POST", CAMPAIGNS, "campaigns.create", "create_campaign_v1_observability_campaigns_post",
       create_campaign, None, wire.CreateCampaign, status=201),
    op("GET", CAMPAIGNS, "campaigns.list", "get_campaigns_v1_observability_campaigns_get",
       list_campaigns, wire.PageQuery),
    op("GET", CAMPAIGN, "campaigns.fetch", "get_campaign_by_id_v1_observability_campaigns__campaign_id__get",
       fetch_campaign),
    op("DELETE", CAMPAIGN, "campaigns.delete", "delete_campaign_v1_observability_campaigns__campaign_id__delete",
       delete_campaign, status=204),
    op("GET", CAMPAIGN + "/status", "campaigns.fetch_status",
       "get_campaign_status_by_id_v1_observability_campaigns__campaign_id__status_get",
       campaign_status),
    op("GET", CAMPAIGN + "/selected-events", "campaigns.list_events",
       "get_campaign_selected_events_v1_observability_campaigns__campaign_id__selected_events_get",
       campaign_events, wire.PageQuery),
    op("POST", "/datasets", "datasets.create", "create_dataset_v1_observability_datasets_post",
       create_dataset, None, wire.CreateDataset, status=201),
    op("GET", "/datasets", "datasets.list", "get_datasets_v1_observability_datasets_get",
       list_datasets, wire.PageQuery),
    op("GET", DATASET, "datasets.fetch", "get_dataset_by_id_v1_observability_datasets__dataset_id__get",
       fetch_dataset),
    op("PATCH", DATASET, "datasets.update", "update_dataset_v1_observability_datasets__dataset_id__patch",
       update_dataset, None, wire.UpdateDataset),
    op("DELETE", DATASET, "datasets.delete", "delete_dataset_v1_observability_datasets__dataset_id__delete",
       delete_dataset, status=204),
    op("GET", DATASET + "/records", "datasets.list_records",
       "get_dataset_records_v1_observability_datasets__dataset_id__records_get",
       list_records, wire.PageQuery),
    op("POST", DATASET + "/records", "datasets.create_record",
       "create_dataset_record_v1_observability_datasets__dataset_id__records_post",
       create_record, None, wire.CreateRecord, status=201),
    op("POST", DATASET + "/imports/from-campaign", "datasets.import_from_campaign",
       "post_dataset_records_from_campaign_v1_observability_datasets__dataset_id__imports_from_campaign_post",
       importer(datasets.import_from_campaign), None, wire.FromCampaign, status=202),
    op("POST", DATASET + "/imports/from-explorer", "datasets.import_from_explorer",
       "post_dataset_records_from_explorer_v1_observability_datasets__dataset_id__imports_from_explorer_post",
       importer(datasets.import_from_explorer), None, wire.FromExplorer, status=202),
    op("POST", DATASET + "/imports/from-file", "datasets.import_from_file",
       "post_dataset_records_from_file_v1_observability_datasets__dataset_id__imports_from_file_post",
       importer(datasets.import_from_file), None, wire.FromFile, status=202),
    op("POST", DATASET + "/imports/from-playground", "datasets.import_from_playground",
       "post_dataset_records_from_playground_v1_observability_datasets__dataset_id__imports_from_playground_post",
       importer(datasets.import_from_playground), None, wire.FromPlayground, status=202),
    op("POST", DATASET + "/imports/from-dataset", "datasets.import_from_dataset_records",
       "post_dataset_records_from_dataset_v1_observability_datasets__dataset_id__imports_from_dataset_post",
       importer(datasets.import_from_dataset), None, wire.FromDataset, status=202),
    op("GET", DATASET + "/exports/to-jsonl", "datasets.export_to_jsonl",
       "export_dataset_to_jsonl_v1_observability_datasets__dataset_id__exports_to_jsonl_get",
       export_jsonl),
    op("GET", DATASET + "/tasks/{task_id}", "datasets.fetch_task",
       "get_dataset_import_task_v1_observability_datasets__dataset_id__tasks__task_id__get",
       fetch_task),
    op("GET", DATASET + "/tasks", "datasets.list_tasks",
       "get_dataset_import_tasks_v1_observability_datasets__dataset_id__tasks_get",
       list_tasks, wire.PageQuery),
    op("POST", "/dataset-records/bulk-delete", "datasets.records.bulk_delete",
       "delete_dataset_records_v1_observability_dataset_records_bulk_delete_post",
       bulk_delete_records, None, wire.RecordIds, status=204),
    op("GET", RECORD, "datasets.records.fetch",
       "get_dataset_record_v1_observability_dataset_records__dataset_record_id__get",
       fetch_record),
    op("DELETE", RECORD, "datasets.records.delete",
       "delete_dataset_record_v1_observability_dataset_records__dataset_record_id__delete",
       delete_record, status=204),
    op("POST", RECORD + "/live-judging", "datasets.records.judge",
       "judge_dataset_record_v1_observability_dataset_records__dataset_record_id__live_judging_post",
       judge_record, None, wire.JudgeWithDefinition),
    op("PUT", RECORD + "/payload", "datasets.records.update_payload",
       "update_dataset_record_payload_v1_observability_dataset_records__dataset_record_id__payload_put",
       update_record_payload, None, wire.Payload, status=204),
    op("PUT", RECORD + "/properties", "datasets.records.update_properties",
       "update_dataset_record_properties_v1_observability_dataset_records__dataset_record_id__properties_put",
       update_record_properties, None, wire.Properties, status=204),
    op("POST", "/logs/search", "logs.search", "search_logs_v1_observability_logs_search_post",
       searcher(otel.LOGS, "logs"), wire.FeedQuery, wire.LogsBody, prepare=EVENT_ROWS),
    op("GET", "/logs/fields", "logs.list", "get_log_fields_v1_observability_logs_fields_get",
       field_lister(otel.LOGS)),
    op("GET", "/logs/fields/{field_name}/options", "logs.fetch_options",
       "get_log_field_options_v1_observability_logs_fields__field_name__options_get",
       option_lister(otel.LOGS), wire.WindowQuery, prepare=EVENT_ROWS),
    op("POST", "/traces/search", "traces.search", "search_traces_v1_observability_traces_search_post",
       searcher(otel.TRACES, "traces"), wire.FeedQuery, wire.ExpressionBody, prepare=EVALUATED),
    op("POST", "/traces/aggregate", "traces.aggregate", "aggregate_traces_v1_observability_traces_aggregate_post",
       aggregator(otel.TRACES), wire.WindowQuery, wire.AggregationBody, prepare=EVALUATED),
    op("GET", "/traces/fields", "traces.get_trace_fields", "get_trace_fields_v1_observability_traces_fields_get",
       field_lister(otel.TRACES)),
    op("GET", "/traces/fields/{field_name}/options", "traces.fetch_options",
       "get_trace_field_options_v1_observability_traces_fields__field_name__options_get",
       option_lister(otel.TRACES), wire.WindowQuery, prepare=EVALUATED),
    op("GET", TRACE, "traces.get_trace_by_id", "get_trace_by_id_v1_observability_traces__trace_id__get",
       fetch_trace, prepare=EVALUATED),
    op("GET", TRACE + "/spans", "traces.get_trace_spans",
       "get_trace_spans_v1_observability_traces__trace_id__spans_get",
       trace_spans, wire.FeedQuery, prepare=EVALUATED),
    op("GET", TRACE + "/spans/{span_id}", "traces.get_span_by_id",
       "get_span_by_id_v1_observability_traces__trace_id__spans__span_id__get",
       fetch_span, prepare=EVALUATED),
    op("POST", "/spans/search", "spans.search_spans", "search_spans_v1_observability_spans_search_post",
       searcher(otel.SPANS, "spans"), wire.FeedQuery, wire.ExpressionBody, prepare=EVENT_ROWS),
    op("POST", "/spans/aggregate", "spans.aggregate", "aggregate_spans_v1_observability_spans_aggregate_post",
       aggregator(otel.SPANS), wire.WindowQuery, wire.AggregationBody, prepare=EVENT_ROWS),
    op("POST", "/spans/evaluations/search", "spans.search_span_evaluations",
       "search_span_evaluations_v1_observability_spans_evaluations_search_post",
       searcher(otel.EVALUATIONS, "span_evaluations"), wire.FeedQuery, wire.ExpressionBody, prepare=EVALUATED),
    op("POST", "/spans/evaluations/search/latest", "spans.search_latest_span_evaluations",
       "search_latest_span_evaluations_v1_observability_spans_evaluations_search_latest_post",
       searcher(otel.EVALUATIONS, "span_evaluations", otel.latest_evaluations), wire.FeedQuery, wire.ExpressionBody,
       prepare=EVALUATED),
    op("GET", "/spans/fields", "spans.list_span_fields", "get_span_fields_v1_observability_spans_fields_get",
       field_lister(otel.SPANS)),
    op("GET", "/spans/evaluations/fields", "spans.list_span_eval_fields",
       "get_span_evaluation_fields_v1_observability_spans_evaluations_fields_get",
       field_lister(otel.EVALUATIONS)),
    op("GET", "/spans/fields/{field_name}/options", "spans.fetch_span_field_options",
       "get_span_field_options_v1_observability_spans_fields__field_name__options_get",
       option_lister(otel.SPANS), wire.WindowQuery, prepare=EVENT_ROWS),
    op("GET", "/spans/evaluations/fields/{field_name}/options", "spans.fetch_span_eval_field_options",
       "get_span_evaluation_field_options_v1_observability_spans_evaluations_fields__field_name__options_get",
       option_lister(otel.EVALUATIONS), wire.WindowQuery, prepare=EVALUATED),
    # Not an SDK method: where export_to_jsonl's file_url points (read with the same API key).
    op("GET", "/dataset-exports/{export_id}.jsonl", "datasets.download_export", None, download_export,
       documented=False),
)
