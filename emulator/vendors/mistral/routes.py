"""Mistral observability routes: one row per SDK method (HTTP method, path, SDK method name, handler, query
model, body model, success status).

Handlers are thin: the row's models parse the request, service.py / datasets.py apply the rules, render.py
shapes the answer. A handler answering None gives the SDK's 204 with an empty body.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qs

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.core import faults
from emulator.core.errors import ApiError
from emulator.core.http import bearer_token, headers_of
from emulator.core.jsonio import dumps, loads
from emulator.core.namespace import resolve_name
from emulator.core.validation import parse
from emulator.vendors.mistral import PREFIX, datasets, otel, render, service, wire
from emulator.vendors.mistral.errors import render_error
from emulator.vendors.mistral.service import Caller

Handler = Callable[[Caller, dict[str, str], Any, Any], Any]
# Query keys the SDK repeats (`type_filter=A&type_filter=B`); every other key takes its last value.
REPEATED = frozenset({"type_filter", "model_filter"})


def caller(request: Request) -> Caller:
    headers = headers_of(request)
    token = bearer_token(headers)
    if token is None:
        raise ApiError("unauthorized", "No API key: send Authorization: Bearer <MISTRAL_API_KEY>")
    ns = request.app.state.world.get(resolve_name(headers, token))
    return Caller(ns=ns, token=token, base_url=str(request.base_url).rstrip("/"))


def query_of(request: Request) -> dict[str, list[str]]:
    return parse_qs(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)


def parse_query(model: type[BaseModel], query: dict[str, list[str]]) -> BaseModel:
    return parse(model, {k: v if k in REPEATED else v[-1] for k, v in query.items()}, "query")


def endpoint(operation: str, handler: Handler, query: type[BaseModel] | None, body: type[BaseModel] | None,
             status: int):
    async def call(request: Request) -> Response:
        try:
            c = caller(request)
            scripted = await faults.before_operation(request, c.ns, "mistral", operation)
            if scripted is not None:
                return scripted
            q = parse_query(query, query_of(request)) if query else None
            b = None
            if body is not None:
                raw = await request.body()
                b = parse(body, loads(raw) if raw else None, "body")
            params = dict(request.path_params)
            if query is not None and issubclass(query, wire.PageQuery):
                params["_query"], params["_link"] = query_of(request), c.base_url + request.url.path
            result = handler(c, params, q, b)
        except ApiError as err:
            return render_error(err)
        if result is None:
            return Response(status_code=204)
        if isinstance(result, Response):
            return result
        return Response(dumps(result), status_code=status, media_type="application/json")

    return call


def _page(p: dict, q: wire.PageQuery, items: list, count: int, shape) -> dict[str, Any]:
    return render.numbered(items, count, shape, link=p["_link"], query=p["_query"], page=q.page,
                           page_size=q.page_size)


# ---- chat completion events and fields --------------------------------------------------------------------------


def search_events(c, p, q, b):
    page = service.search(c, b, q)
    return {"completion_events": render.feed([render.preview(e, page.extra_fields) for e in page.events],
                                             page.next_cursor)}


def search_event_ids(c, p, q, b):
    return {"completion_event_ids": service.search_ids(c, b)}


def fetch_event(c, p, q, b):
    return render.event(service.get_event(c, p["event_id"]))


def similar_events(c, p, q, b):
    return {"completion_events": render.feed([render.preview(e) for e in service.similar_events(c, p["event_id"])],
                                             None)}


def judge_event(c, p, q, b):
    return service.judge_event(c, p["event_id"], b)


def list_fields(c, p, q, b):
    from emulator.vendors.mistral.fields import FIELDS, GROUPS

    return {"field_definitions": [{"name": f.name, "label": f.label, "type": f.type,
                                   "supported_operators": list(f.operators), "group": f.group} for f in FIELDS],
            "field_groups": [{"name": name, "label": label} for name, label in GROUPS]}


def field_options(c, p, q, b):
    return {"options": service.field_options(c, p["field_name"], q.operator)}


def field_option_counts(c, p, q, b):
    return {"counts": service.option_counts(c, p["field_name"], b)}


# ---- judges -----------------------------------------------------------------------------------------------------


def create_judge(c, p, q, b):
    return render.judge(service.create_judge(c, b))


def list_judges(c, p, q, b):
    return {"judges": _page(p, q, *service.list_judges(c, q), render.judge)}


def fetch_judge(c, p, q, b):
    return render.judge(service.get_judge(c, p["judge_id"]))


def update_judge(c, p, q, b):
    service.update_judge(c, p["judge_id"], b)


def delete_judge(c, p, q, b):
    service.delete_judge(c, p["judge_id"])


def judge_conversation(c, p, q, b):
    return service.judge_conversation(c, p["judge_id"], b)


# ---- campaigns --------------------------------------------------------------------------------------------------


def _campaign(c, k):
    return render.campaign(k, service.judges(c.ns).get_any(k.judge_id))


def create_campaign(c, p, q, b):
    return _campaign(c, service.create_campaign(c, b))


def list_campaigns(c, p, q, b):
    return {"campaigns": _page(p, q, *service.list_campaigns(c, q), lambda k: _campaign(c, k))}


def fetch_campaign(c, p, q, b):
    return _campaign(c, service.get_campaign(c, p["campaign_id"], polled=True))


def delete_campaign(c, p, q, b):
    service.delete_campaign(c, p["campaign_id"])


def campaign_status(c, p, q, b):
    return {"status": service.get_campaign(c, p["campaign_id"], polled=True).status}


def campaign_events(c, p, q, b):
    return {"completion_events": _page(p, q, *service.campaign_events(c, p["campaign_id"], q), render.preview)}


# ---- datasets, records, imports ---------------------------------------------------------------------------------


def create_dataset(c, p, q, b):
    return render.dataset(datasets.create_dataset(c, b))


def list_datasets(c, p, q, b):
    return {"datasets": _page(p, q, *datasets.list_datasets(c, q), render.dataset)}


def fetch_dataset(c, p, q, b):
    return render.dataset(datasets.get_dataset(c, p["dataset_id"]))


def update_dataset(c, p, q, b):
    return render.dataset(datasets.update_dataset(c, p["dataset_id"], b))


def delete_dataset(c, p, q, b):
    datasets.delete_dataset(c, p["dataset_id"])


def list_records(c, p, q, b):
    return {"records": _page(p, q, *datasets.list_records(c, p["dataset_id"], q), render.record)}


def create_record(c, p, q, b):
    return render.record(datasets.create_record(c, p["dataset_id"], b))


def _task(c, t):
    return render.task(t, datasets.progress(c, t))


def importer(start):
    return lambda c, p, q, b: _task(c, start(c, p["dataset_id"], b))


def export_jsonl(c, p, q, b):
    return {"file_url": datasets.export_jsonl(c, p["dataset_id"])}


def download_export(c, p, q, b):
    found = datasets.get_export(c, p["export_id"])
    return Response(found.content.encode(), media_type="application/x-ndjson")


def fetch_task(c, p, q, b):
    return _task(c, datasets.get_task(c, p["dataset_id"], p["task_id"]))


def list_tasks(c, p, q, b):
    return {"tasks": _page(p, q, *datasets.list_tasks(c, p["dataset_id"], q), lambda t: _task(c, t))}


def fetch_record(c, p, q, b):
    return render.record(datasets.get_record(c, p["record_id"]))


def delete_record(c, p, q, b):
    datasets.delete_record(c, p["record_id"])


def bulk_delete_records(c, p, q, b):
    datasets.bulk_delete(c, b)


def judge_record(c, p, q, b):
    return datasets.judge_record(c, p["record_id"], b)


def update_record_payload(c, p, q, b):
    datasets.update_payload(c, p["record_id"], b)


def update_record_properties(c, p, q, b):
    datasets.update_properties(c, p["record_id"], b)


# ---- logs, traces, spans (otel) ---------------------------------------------------------------------------------


def searcher(kind, key, index=None):
    def handler(c, p, q, b):
        narrowed = None if index is None else index(c)
        return {key: otel.search(c, kind, b.search_expression, q.from_, q.to, page_size=q.page_size,
                                 cursor=q.cursor, order=getattr(b, "order", "desc"), index=narrowed)}
    return handler


def aggregator(kind):
    return lambda c, p, q, b: otel.aggregate(c, kind, b, q.from_, q.to)


def field_lister(kind):
    return lambda c, p, q, b: {"field_definitions": otel.field_definitions(kind)}


def option_lister(kind):
    return lambda c, p, q, b: {"options": otel.options(c, kind, p["field_name"], q.from_, q.to)}


def fetch_trace(c, p, q, b):
    trace, _ = otel.trace_rows(c, p["trace_id"])
    return otel.render(trace)


def trace_spans(c, p, q, b):
    _, spans = otel.trace_rows(c, p["trace_id"])
    return {"spans": otel.search(c, otel.SPANS, None, q.from_, q.to, page_size=q.page_size, cursor=q.cursor,
                                 order="asc", index=otel.Index.of(otel.SPANS, spans))}


def fetch_span(c, p, q, b):
    return otel.render(otel.span_row(c, p["trace_id"], p["span_id"]))


CCE, FIELDS, J, K = "/chat-completion-events", "/chat-completion-fields", "/judges", "/campaigns"
D, R = "/datasets/{dataset_id}", "/dataset-records/{record_id}"

# HTTP method, path, SDK method (the fault/journal operation name), handler, query model, body model, status.
OPERATIONS: list[tuple[str, str, str, Handler, type[BaseModel] | None, type[BaseModel] | None, int]] = [
    ("POST", CCE + "/search", "chat_completion_events.search", search_events, wire.SearchQuery,
     wire.SearchEvents, 200),
    ("POST", CCE + "/search-ids", "chat_completion_events.search_ids", search_event_ids, None, wire.SearchEvents,
     200),
    ("GET", CCE + "/{event_id}", "chat_completion_events.fetch", fetch_event, None, None, 200),
    ("GET", CCE + "/{event_id}/similar-events", "chat_completion_events.fetch_similar_events", similar_events,
     None, None, 200),
    ("POST", CCE + "/{event_id}/live-judging", "chat_completion_events.judge", judge_event, None,
     wire.JudgeWithDefinition, 200),
    ("GET", FIELDS, "chat_completion_events.fields.list", list_fields, None, None, 200),
    ("GET", FIELDS + "/{field_name}/options", "chat_completion_events.fields.fetch_options", field_options,
     wire.OptionsQuery, None, 200),
    ("POST", FIELDS + "/{field_name}/options-counts", "chat_completion_events.fields.fetch_option_counts",
     field_option_counts, None, wire.OptionCounts, 200),
    ("POST", J, "judges.create", create_judge, None, wire.JudgeDefinition, 201),
    ("GET", J, "judges.list", list_judges, wire.JudgesQuery, None, 200),
    ("GET", J + "/{judge_id}", "judges.fetch", fetch_judge, None, None, 200),
    ("PUT", J + "/{judge_id}", "judges.update", update_judge, None, wire.JudgeDefinition, 204),
    ("DELETE", J + "/{judge_id}", "judges.delete", delete_judge, None, None, 204),
    ("POST", J + "/{judge_id}/live-judging", "judges.judge_conversation", judge_conversation, None,
     wire.JudgeConversation, 200),
    ("POST", K, "campaigns.create", create_campaign, None, wire.CreateCampaign, 201),
    ("GET", K, "campaigns.list", list_campaigns, wire.PageQuery, None, 200),
    ("GET", K + "/{campaign_id}", "campaigns.fetch", fetch_campaign, None, None, 200),
    ("DELETE", K + "/{campaign_id}", "campaigns.delete", delete_campaign, None, None, 204),
    ("GET", K + "/{campaign_id}/status", "campaigns.fetch_status", campaign_status, None, None, 200),
    ("GET", K + "/{campaign_id}/selected-events", "campaigns.list_events", campaign_events, wire.PageQuery, None,
     200),
    ("POST", "/datasets", "datasets.create", create_dataset, None, wire.CreateDataset, 201),
    ("GET", "/datasets", "datasets.list", list_datasets, wire.PageQuery, None, 200),
    ("GET", D, "datasets.fetch", fetch_dataset, None, None, 200),
    ("PATCH", D, "datasets.update", update_dataset, None, wire.UpdateDataset, 200),
    ("DELETE", D, "datasets.delete", delete_dataset, None, None, 204),
    ("GET", D + "/records", "datasets.list_records", list_records, wire.PageQuery, None, 200),
    ("POST", D + "/records", "datasets.create_record", create_record, None, wire.CreateRecord, 201),
    ("POST", D + "/imports/from-campaign", "datasets.import_from_campaign", importer(datasets.import_from_campaign),
     None, wire.FromCampaign, 202),
    ("POST", D + "/imports/from-explorer", "datasets.import_from_explorer", importer(datasets.import_from_explorer),
     None, wire.FromExplorer, 202),
    ("POST", D + "/imports/from-file", "datasets.import_from_file", importer(datasets.import_from_file), None,
     wire.FromFile, 202),
    ("POST", D + "/imports/from-playground", "datasets.import_from_playground",
     importer(datasets.import_from_playground), None, wire.FromPlayground, 202),
    ("POST", D + "/imports/from-dataset", "datasets.import_from_dataset_records",
     importer(datasets.import_from_dataset), None, wire.FromDataset, 202),
    ("GET", D + "/exports/to-jsonl", "datasets.export_to_jsonl", export_jsonl, None, None, 200),
    ("GET", D + "/tasks/{task_id}", "datasets.fetch_task", fetch_task, None, None, 200),
    ("GET", D + "/tasks", "datasets.list_tasks", list_tasks, wire.PageQuery, None, 200),
    ("POST", "/dataset-records/bulk-delete", "datasets.records.bulk_delete", bulk_delete_records, None,
     wire.RecordIds, 204),
    ("GET", R, "datasets.records.fetch", fetch_record, None, None, 200),
    ("DELETE", R, "datasets.records.delete", delete_record, None, None, 204),
    ("POST", R + "/live-judging", "datasets.records.judge", judge_record, None, wire.JudgeWithDefinition, 200),
    ("PUT", R + "/payload", "datasets.records.update_payload", update_record_payload, None, wire.Payload, 204),
    ("PUT", R + "/properties", "datasets.records.update_properties", update_record_properties, None,
     wire.Properties, 204),
    ("POST", "/logs/search", "logs.search", searcher(otel.LOGS, "logs"), wire.FeedQuery, wire.LogsBody, 200),
    ("GET", "/logs/fields", "logs.list", field_lister(otel.LOGS), None, None, 200),
    ("GET", "/logs/fields/{field_name}/options", "logs.fetch_options", option_lister(otel.LOGS), wire.WindowQuery,
     None, 200),
    ("POST", "/traces/search", "traces.search", searcher(otel.TRACES, "traces"), wire.FeedQuery,
     wire.ExpressionBody, 200),
    ("POST", "/traces/aggregate", "traces.aggregate", aggregator(otel.TRACES), wire.WindowQuery,
     wire.AggregationBody, 200),
    ("GET", "/traces/fields", "traces.get_trace_fields", field_lister(otel.TRACES), None, None, 200),
    ("GET", "/traces/fields/{field_name}/options", "traces.fetch_options", option_lister(otel.TRACES),
     wire.WindowQuery, None, 200),
    ("GET", "/traces/{trace_id}", "traces.get_trace_by_id", fetch_trace, None, None, 200),
    ("GET", "/traces/{trace_id}/spans", "traces.get_trace_spans", trace_spans, wire.FeedQuery, None, 200),
    ("GET", "/traces/{trace_id}/spans/{span_id}", "traces.get_span_by_id", fetch_span, None, None, 200),
    ("POST", "/spans/search", "spans.search_spans", searcher(otel.SPANS, "spans"), wire.FeedQuery,
     wire.ExpressionBody, 200),
    ("POST", "/spans/aggregate", "spans.aggregate", aggregator(otel.SPANS), wire.WindowQuery, wire.AggregationBody,
     200),
    ("POST", "/spans/evaluations/search", "spans.search_span_evaluations",
     searcher(otel.EVALUATIONS, "span_evaluations"), wire.FeedQuery, wire.ExpressionBody, 200),
    ("POST", "/spans/evaluations/search/latest", "spans.search_latest_span_evaluations",
     searcher(otel.EVALUATIONS, "span_evaluations", otel.latest_evaluations), wire.FeedQuery, wire.ExpressionBody, 200),
    ("GET", "/spans/fields", "spans.list_span_fields", field_lister(otel.SPANS), None, None, 200),
    ("GET", "/spans/evaluations/fields", "spans.list_span_eval_fields", field_lister(otel.EVALUATIONS), None, None,
     200),
    ("GET", "/spans/fields/{field_name}/options", "spans.fetch_span_field_options", option_lister(otel.SPANS),
     wire.WindowQuery, None, 200),
    ("GET", "/spans/evaluations/fields/{field_name}/options", "spans.fetch_span_eval_field_options",
     option_lister(otel.EVALUATIONS), wire.WindowQuery, None, 200),
    # Not an SDK method: where export_to_jsonl's file_url points (read with the same API key).
    ("GET", "/dataset-exports/{export_id}.jsonl", "datasets.download_export", download_export, None, None, 200),
]


def routes() -> list[Route]:
    return [Route(PREFIX + path, endpoint(op, handler, query, body, status), methods=[method], name=op)
            for method, path, op, handler, query, body, status in OPERATIONS]
