"""DigitalOcean model-evaluation rules (the family pydo carries beside agent evaluation): custom metrics,
presets, runs with cancel (non-terminal only) and delete (terminal only), results and their download.

Same error rules as service.py: unknown path id 404, missing field 400, bad reference or broken rule 422.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from emulator.core.errors import ApiError, invalid
from emulator.core.ids import derived_unit
from emulator.core.namespace import Namespace
from emulator.core.pagination import PageWindow, page_window
from emulator.core.store import Collection
from emulator.vendors.digitalocean import results as gen
from emulator.vendors.digitalocean import wire
from emulator.vendors.digitalocean.errors import unprocessable
from emulator.vendors.digitalocean.records import (
    BUILTIN_BY_UUID,
    KNOWN_MODELS,
    M_EVALUATING,
    M_FAILED,
    M_PARTIAL,
    M_RUNNING,
    M_SUCCESSFUL,
    MODEL_METRICS,
    MODEL_RUN_LIFECYCLE,
    SECONDS_PER_ROW_EVALUATING,
    SECONDS_PER_ROW_RUNNING,
    Metric,
    ModelRun,
    Preset,
)
from emulator.vendors.digitalocean.service import (
    Caller,
    cached,
    custom_metrics,
    datasets,
    metric,
    not_found,
    required,
    star_metric,
)

ALL_SECTIONS = ["PRESET_SAVE_SECTION_CANDIDATE", "PRESET_SAVE_SECTION_METRICS", "PRESET_SAVE_SECTION_JUDGE",
                "PRESET_SAVE_SECTION_DATASET", "PRESET_SAVE_SECTION_SYSTEM_PROMPT"]
# Which resolved-config fields each preset section owns (the vendor's own description of the sections).
SECTION_FIELDS = {
    "PRESET_SAVE_SECTION_CANDIDATE": ("candidate_model_uuid", "candidate_model_source", "candidate_model_name",
                                      "candidate_inference_config"),
    "PRESET_SAVE_SECTION_METRICS": ("metric_uuids", "star_metric"),
    "PRESET_SAVE_SECTION_JUDGE": ("judge_model_uuid",),
    "PRESET_SAVE_SECTION_DATASET": ("dataset_uuid",),
    "PRESET_SAVE_SECTION_SYSTEM_PROMPT": ("system_prompt",),
}
PASS_GOODNESS = 0.7  # a non-star metric's row passes at 70% of its range


def presets(ns: Namespace) -> Collection[Preset]:
    return ns.store.collection("digitalocean.presets")


def model_runs(ns: Namespace) -> Collection[ModelRun]:
    return ns.store.collection("digitalocean.model_runs")


# ---- custom metrics -----------------------------------------------------------------------------------------


def _live_custom(c: Caller, metric_uuid: str) -> Metric:
    found = custom_metrics(c.ns).get(metric_uuid)
    if found is None:
        raise not_found("custom evaluation metric", metric_uuid)
    return found


def _check_name_free(c: Caller, name: str, except_uuid: str = "") -> None:
    if any(m.metric_name == name and m.metric_uuid != except_uuid for m in custom_metrics(c.ns).values()):
        raise unprocessable(f"metric_name: a custom metric named {name!r} already exists")


def _new_custom(c: Caller, name: str, description: str, config: dict[str, Any], created_at: float) -> Metric:
    made = Metric(metric_uuid=c.new_uuid(), metric_name=name, description=description,
                  metric_type="METRIC_TYPE_MODEL_QUALITY", metric_value_type="METRIC_VALUE_TYPE_PERCENTAGE",
                  category="METRIC_CATEGORY_UNSPECIFIED", inverted=False, range_min=0.0, range_max=100.0,
                  evaluation_scope="EVALUATION_SCOPE_MODEL", source="EVALUATION_METRIC_SOURCE_CUSTOM",
                  custom={**config, "created_at": created_at, "updated_at": c.now}, created_at=c.now)
    return custom_metrics(c.ns).add(made.metric_uuid, made)


def create_custom_metric(c: Caller, body: wire.CreateCustomMetric) -> Metric:
    name = required(body.metric_name, "metric_name")
    config = required(body.config, "config")
    prompt = required(config.scoring_prompt, "config.scoring_prompt")
    _check_name_free(c, name)
    return _new_custom(c, name, body.description or "",
                       {"scoring_prompt": prompt, "requires_ground_truth": bool(config.requires_ground_truth)}, c.now)


def update_custom_metric(c: Caller, metric_uuid: str, body: wire.UpdateCustomMetric) -> Metric:
    """An update issues a new uuid (the vendor says so): the old metric is retired, presets follow the new one."""
    old = _live_custom(c, metric_uuid)
    if body.metric_uuid and body.metric_uuid != metric_uuid:
        raise invalid(f"metric_uuid: the body names {body.metric_uuid!r} but the path {metric_uuid!r}")
    if body.metric_name is not None and not body.metric_name:
        raise invalid("metric_name cannot be empty")
    name = body.metric_name or old.metric_name
    _check_name_free(c, name, except_uuid=metric_uuid)
    config = {"scoring_prompt": old.custom["scoring_prompt"], "requires_ground_truth": old.custom["requires_ground_truth"]}
    if body.config is not None:
        if body.config.scoring_prompt is not None and not body.config.scoring_prompt:
            raise invalid("config.scoring_prompt cannot be empty")
        config["scoring_prompt"] = body.config.scoring_prompt or config["scoring_prompt"]
        if body.config.requires_ground_truth is not None:
            config["requires_ground_truth"] = body.config.requires_ground_truth
    _retire(c, old)
    made = _new_custom(c, name, old.description if body.description is None else body.description, config,
                       old.custom["created_at"])
    for preset in presets(c.ns).values():
        uuids = preset.config.get("metric_uuids") or []
        if metric_uuid in uuids:
            preset.config["metric_uuids"] = [made.metric_uuid if u == metric_uuid else u for u in uuids]
    return made


def _retire(c: Caller, found: Metric) -> None:
    found.deleted_at = c.now
    found.custom = {**found.custom, "deleted_at": c.now}
    custom_metrics(c.ns).remove(found.metric_uuid)


def delete_custom_metric(c: Caller, metric_uuid: str) -> None:
    """Soft delete; the presets that use the metric are deleted with it (the vendor warns of exactly that)."""
    found = _live_custom(c, metric_uuid)
    _retire(c, found)
    for preset in list(presets(c.ns).values()):
        if metric_uuid in (preset.config.get("metric_uuids") or []):
            preset.deleted_at = c.now
            presets(c.ns).remove(preset.eval_preset_uuid)


def model_metrics(c: Caller) -> list[Metric]:
    return list(MODEL_METRICS) + list(custom_metrics(c.ns).values())


def associated_presets(c: Caller, metric_uuid: str) -> list[dict[str, str]]:
    return [{"eval_preset_uuid": p.eval_preset_uuid, "name": p.name} for p in presets(c.ns).values()
            if metric_uuid in (p.config.get("metric_uuids") or [])]


# ---- presets ------------------------------------------------------------------------------------------------


def get_preset(c: Caller, preset_uuid: str) -> Preset:
    found = presets(c.ns).get(preset_uuid)
    if found is None:
        raise not_found("model evaluation preset", preset_uuid)
    return found


def delete_preset(c: Caller, preset_uuid: str) -> None:
    found = get_preset(c, preset_uuid)
    found.deleted_at = c.now
    presets(c.ns).remove(preset_uuid)


# ---- runs ---------------------------------------------------------------------------------------------------


def _model_metric_uuids(c: Caller, uuids: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(uuids))
    for metric_uuid in chosen:
        found = BUILTIN_BY_UUID.get(metric_uuid) or custom_metrics(c.ns).get(metric_uuid)
        if found is None or found.evaluation_scope != "EVALUATION_SCOPE_MODEL":
            raise unprocessable(f"metric_uuids: {metric_uuid!r} is not a model evaluation metric"
                                " (see GET /v2/gen-ai/model_evaluation_metrics)")
    return chosen


def _resolved(c: Caller, body: wire.CreateModelRun) -> dict[str, Any]:
    """The run's configuration: the preset's saved sections, overridden by what the request gives."""
    config: dict[str, Any] = {}
    preset = None
    if body.eval_preset_uuid:
        preset = presets(c.ns).get(body.eval_preset_uuid)
        if preset is None:
            raise unprocessable(f"eval_preset_uuid: no model evaluation preset {body.eval_preset_uuid!r}")
        config.update(preset.config)
    given = body.model_dump(exclude_none=True, exclude={"eval_preset_uuid", "preset_name", "preset_save_sections",
                                                         "save_as_preset", "star_metric"})
    if "candidate_inference_config" in given:
        given["system_prompt"] = given["candidate_inference_config"].pop("system_prompt", config.get("system_prompt"))
    config.update(given)
    if body.star_metric is not None:
        config["star_metric_in"] = body.star_metric
    config["preset"] = preset
    return config


def create_model_run(c: Caller, body: wire.CreateModelRun, *, created_at: float | None = None,
                     outcome: str | None = None) -> ModelRun:
    config = _resolved(c, body)
    name = required(config.get("name"), "name")
    dataset_uuid = required(config.get("dataset_uuid"), "dataset_uuid")
    if not config.get("candidate_model_uuid") and not config.get("candidate_model_name"):
        raise invalid("candidate_model_uuid or candidate_model_name is required")
    judge = required(config.get("judge_model_uuid"), "judge_model_uuid")
    metric_uuids = _model_metric_uuids(c, required(config.get("metric_uuids"), "metric_uuids"))
    dataset = datasets(c.ns).get(dataset_uuid)
    if dataset is None:
        raise unprocessable(f"dataset_uuid: no evaluation dataset {dataset_uuid!r}")
    if judge not in KNOWN_MODELS:
        raise unprocessable(f"judge_model_uuid: {judge!r} is not a model that can judge")
    candidate_uuid = config.get("candidate_model_uuid") or ""
    if candidate_uuid and candidate_uuid not in KNOWN_MODELS and not config.get("candidate_model_name"):
        raise unprocessable(f"candidate_model_uuid: {candidate_uuid!r} is not a known model; name it with"
                            " candidate_model_name")
    star_in = config.get("star_metric_in") or (wire.StarMetric(**config["star_metric"])
                                               if config.get("star_metric") else None)
    star = star_metric(star_in, metric_uuids, None, lambda u: metric(c.ns, u))
    inference = dict(config.get("candidate_inference_config") or {})
    if config.get("system_prompt"):
        inference["system_prompt"] = config["system_prompt"]
    preset = config["preset"]
    sections = [s for s in (body.preset_save_sections or []) if s != "PRESET_SAVE_SECTION_UNSPECIFIED"]
    if not sections and body.save_as_preset:
        sections = list(ALL_SECTIONS)
    at = c.now if created_at is None else created_at
    rows = len(dataset.rows)
    run = ModelRun(
        eval_run_uuid=c.new_uuid(), name=name, dataset_uuid=dataset_uuid, candidate_model_uuid=candidate_uuid,
        candidate_model_name=config.get("candidate_model_name") or KNOWN_MODELS[candidate_uuid],
        candidate_model_source=config.get("candidate_model_source") or "CANDIDATE_MODEL_SOURCE_SERVERLESS",
        candidate_inference_config=inference, judge_model_uuid=judge, metric_uuids=metric_uuids, star_metric=star,
        eval_preset_uuid=preset.eval_preset_uuid if preset else "", eval_preset_name=preset.name if preset else "",
        source=config.get("source") or "", created_at=at, status_since=at,
        durations={M_RUNNING: rows * SECONDS_PER_ROW_RUNNING, M_EVALUATING: rows * SECONDS_PER_ROW_EVALUATING},
    )
    if outcome is not None and outcome != M_SUCCESSFUL:
        run.detours[M_RUNNING if outcome == M_FAILED else M_EVALUATING] = outcome
    elif gen.failed_judge_call(c.ns.seed, run.eval_run_uuid, rows, run_metrics(c, run)) is not None:
        run.detours[M_EVALUATING] = M_PARTIAL
    if sections and preset is None:
        resolved = {"candidate_model_uuid": candidate_uuid, "candidate_model_source": run.candidate_model_source,
                    "candidate_model_name": run.candidate_model_name,
                    "candidate_inference_config": {k: v for k, v in inference.items() if k != "system_prompt"},
                    "metric_uuids": metric_uuids, "star_metric": star, "judge_model_uuid": judge,
                    "dataset_uuid": dataset_uuid, "system_prompt": inference.get("system_prompt", "")}
        saved = {f: resolved[f] for s in sections for f in SECTION_FIELDS[s]}
        made = Preset(eval_preset_uuid=c.new_uuid(), name=body.preset_name or name, saved_sections=sections,
                      config=saved, created_at=at)
        presets(c.ns).add(made.eval_preset_uuid, made)
        run.eval_preset_uuid, run.eval_preset_name = made.eval_preset_uuid, made.name
    model_runs(c.ns).add(run.eval_run_uuid, run)
    return sync(c, run)


def _on_enter(run: ModelRun, status: str, at: float) -> None:
    if status == M_RUNNING:
        run.started_at = at
    elif status in MODEL_RUN_LIFECYCLE.terminal:
        run.completed_at = at
        if status == M_FAILED and not run.error_description:
            run.error_description = "the candidate model did not answer the dataset's prompts"


def sync(c: Caller, run: ModelRun, *, polled: bool = False) -> ModelRun:
    """Every read of a model run passes here: its status catches up with the namespace clock."""
    MODEL_RUN_LIFECYCLE.catch_up(run, c.now, _on_enter, polled=polled)
    return run


def get_model_run(c: Caller, run_uuid: str, *, polled: bool = False) -> ModelRun:
    found = model_runs(c.ns).get(run_uuid)
    if found is None:
        raise not_found("model evaluation run", run_uuid)
    return sync(c, found, polled=polled)


def rename_model_run(c: Caller, run_uuid: str, body: wire.RenameModelRun) -> ModelRun:
    run = get_model_run(c, run_uuid)
    if body.eval_run_uuid and body.eval_run_uuid != run_uuid:
        raise invalid(f"eval_run_uuid: the body names {body.eval_run_uuid!r} but the path {run_uuid!r}")
    run.name = required(body.name, "name")
    return run


def cancel_model_run(c: Caller, run_uuid: str, body: wire.CancelModelRun) -> ModelRun:
    run = get_model_run(c, run_uuid)
    if body.eval_run_uuid and body.eval_run_uuid != run_uuid:
        raise invalid(f"eval_run_uuid: the body names {body.eval_run_uuid!r} but the path {run_uuid!r}")
    MODEL_RUN_LIFECYCLE.act(run, "cancel", c.now, _on_enter, what="a model evaluation run")
    return run


def delete_model_run(c: Caller, run_uuid: str) -> dict[str, str]:
    """Only a run at rest can be deleted; otherwise the answer says FAIL and nothing changes (in-band, as the
    vendor's response schema carries it)."""
    run = get_model_run(c, run_uuid)
    if not MODEL_RUN_LIFECYCLE.can("delete", run.status):
        return {"status": "DELETE_MODEL_EVALUATION_RUN_STATUS_FAIL",
                "error": f"the run is {run.status}; cancel it or wait until it finishes, then delete it"}
    run.deleted_at = c.now
    model_runs(c.ns).remove(run_uuid)
    return {"status": "DELETE_MODEL_EVALUATION_RUN_STATUS_SUCCESS", "error": ""}


SORT_KEYS = {"MODEL_EVALUATION_RUN_SORT_FIELD_STATUS": lambda r: (r.status, r.created_at)}


def list_model_runs(c: Caller, q: wire.ModelRunListQuery) -> tuple[list[ModelRun], PageWindow]:
    collection = model_runs(c.ns)
    statuses = set(q.statuses) - {"MODEL_EVALUATION_RUN_STATUS_UNSPECIFIED"}
    if q.status != "MODEL_EVALUATION_RUN_STATUS_UNSPECIFIED":
        statuses.add(q.status)
    ascending = q.sort_direction == "SORT_DIRECTION_ASC"
    filtered = statuses or q.candidate_types or q.search or q.eval_preset_uuid or q.sort_by in SORT_KEYS
    if not filtered:  # creation order straight off the index: one slice
        window = page_window(len(collection.order), q.page, q.per_page)
        seqs = list(collection.order)
        if not ascending:
            total = len(seqs)
            seqs = collection.order[max(0, total - window.stop):total - window.start]
            seqs.reverse()
        else:
            seqs = collection.order[window.start:window.stop]
        return [sync(c, r) for r in collection.many(list(seqs))], window
    needle = (q.search or "").lower()
    found = []
    for run in collection.values():
        sync(c, run)
        if statuses and run.status not in statuses:
            continue
        if q.candidate_types and run.candidate_model_source not in q.candidate_types:
            continue
        if q.eval_preset_uuid and run.eval_preset_uuid != q.eval_preset_uuid:
            continue
        if needle and not any(needle in s.lower() for s in (run.name, run.candidate_model_name,
                                                             _dataset_name(c, run))):
            continue
        found.append(run)
    found.sort(key=SORT_KEYS.get(q.sort_by, lambda r: r.created_at), reverse=not ascending)
    window = page_window(len(found), q.page, q.per_page)
    return found[window.start:window.stop], window


def _dataset_name(c: Caller, run: ModelRun) -> str:
    dataset = datasets(c.ns).get_any(run.dataset_uuid)
    return dataset.dataset_name if dataset else ""


def run_metrics(c: Caller, run: ModelRun) -> list[Metric]:
    return [metric(c.ns, u) for u in run.metric_uuids]


def progress(c: Caller, run: ModelRun) -> dict[str, int]:
    """Rows the candidate answered and the judge scored so far, from the time spent in each phase."""
    rows = len(datasets(c.ns).get_any(run.dataset_uuid).rows)
    if run.status in (M_SUCCESSFUL, M_PARTIAL):
        return {"total_rows": rows, "candidate_rows_evaluated": rows, "judge_rows_evaluated": rows}
    answered = judged = 0
    if run.started_at is not None:
        until = run.completed_at if run.completed_at is not None else c.now
        answered = min(rows, int((until - run.started_at) // SECONDS_PER_ROW_RUNNING))
        if run.status == M_EVALUATING:
            judged = min(rows, int((c.now - run.status_since) // SECONDS_PER_ROW_EVALUATING))
    return {"total_rows": rows, "candidate_rows_evaluated": answered, "judge_rows_evaluated": judged}


def scored(c: Caller, run: ModelRun) -> dict[str, Any] | None:
    """Per-row results and the summary of a finished run (None before): derived, cached per run."""
    if run.status not in (M_SUCCESSFUL, M_PARTIAL):
        return None
    return cached(c.ns, "digitalocean.model_results", run.eval_run_uuid, lambda: _score(c, run))


def _score(c: Caller, run: ModelRun) -> dict[str, Any]:
    seed, key = c.ns.seed, run.eval_run_uuid
    dataset = datasets(c.ns).get_any(run.dataset_uuid)
    metrics = run_metrics(c, run)
    failure = gen.failed_judge_call(seed, key, len(dataset.rows), metrics) if run.status == M_PARTIAL else None
    rows, per_metric = [], {m.metric_uuid: [] for m in metrics}
    for index, row in enumerate(dataset.rows):
        results = []
        for m in metrics:
            result = gen.metric_result(seed, key, index, m, failure == (index, m.metric_uuid))
            per_metric[m.metric_uuid].append(result)
            results.append(result)
        rows.append({"input": row["query"], "ground_truth": row.get("ground_truth", ""),
                     "output": gen.answer(seed, key, index, row), "candidate_model_name": run.candidate_model_name,
                     "candidate_model_uuid": run.candidate_model_uuid, "candidate_routed_task": "",
                     "metric_results": results})
    summaries = [_summary(m, run.star_metric, per_metric[m.metric_uuid]) for m in metrics]
    star = next(m for m in metrics if m.metric_uuid == run.star_metric["metric_uuid"])
    star_level = gen.run_level(star, per_metric[star.metric_uuid])
    passed = sum(s["pass_count"] for s in summaries)
    judged = sum(s["pass_count"] + s["fail_count"] for s in summaries)
    in_tokens = sum(gen.tokens(r["input"]) for r in rows)
    out_tokens = sum(gen.tokens(r["output"]) for r in rows)
    latencies = sorted(round(400 + 1600 * derived_unit(seed, key, i, "latency"), 1) for i in range(len(rows)))
    pick = lambda share: latencies[min(len(latencies) - 1, int(share * len(latencies)))]  # noqa: E731
    summary = {
        "start_time": gen.iso(run.started_at), "end_time": gen.iso(run.completed_at),
        "total_duration_seconds": int(run.completed_at - run.started_at),
        "overall_score_percent": round(100 * passed / judged, 2) if judged else 0.0,
        "metric_summaries": summaries,
        "star_metric_summary": {"metric_uuid": star.metric_uuid, "metric_name": star.metric_name,
                                "threshold": float(run.star_metric.get("success_threshold",
                                                                       run.star_metric["success_threshold_pct"]))},
        "performance_metrics": {
            "candidate_latency": {"avg_e2e_latency_ms": round(sum(latencies) / len(latencies), 1),
                                  "min_e2e_latency_ms": latencies[0], "max_e2e_latency_ms": latencies[-1],
                                  "p50_latency_ms": pick(0.5), "p90_latency_ms": pick(0.9),
                                  "p95_latency_ms": pick(0.95)},
            "token_usage": {"total_candidate_input_tokens": str(in_tokens),
                            "total_candidate_output_tokens": str(out_tokens),
                            "total_candidate_tokens": str(in_tokens + out_tokens),
                            "total_judge_input_tokens": str(2 * (in_tokens + out_tokens) * len(metrics)),
                            "total_judge_output_tokens": str(40 * len(rows) * len(metrics)),
                            "total_judge_tokens": str((2 * (in_tokens + out_tokens) + 40 * len(rows))
                                                      * len(metrics))},
        },
        "star_passed": gen.passes(star, run.star_metric, star_level),
    }
    return {"results": rows, "summary": summary}


def _summary(m: Metric, star: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    passed = failed = skipped = 0
    for r in results:
        if r["status"] != "EVALUATION_METRIC_RESULT_STATUS_COMPLETED":
            skipped += 1
        elif m.numeric and (gen.passes(m, star, r) if m.metric_uuid == star["metric_uuid"]
                            else gen.goodness_of(m, r["number_value"]) >= PASS_GOODNESS):
            passed += 1
        elif not m.numeric and r["string_value"] == "NONE":
            passed += 1
        else:
            failed += 1
    seen = passed + failed + skipped
    pct = lambda n: round(100 * n / seen, 2) if seen else 0.0  # noqa: E731
    return {"metric_uuid": m.metric_uuid, "metric_name": m.metric_name, "pass_count": passed, "fail_count": failed,
            "skipped_count": skipped, "pass_percent": pct(passed), "fail_percent": pct(failed),
            "skip_percent": pct(skipped)}


def results_file(c: Caller, run: ModelRun) -> bytes:
    """The gzip-compressed JSON the results download URL serves."""
    found = scored(c, run)
    if found is None:
        raise ApiError("conflict", f"results of model evaluation run {run.eval_run_uuid!r} are available once it"
                                   f" finishes successfully (it is {run.status})")
    return gzip.compress(json.dumps({"eval_run_uuid": run.eval_run_uuid, "results": found["results"]}).encode(),
                         mtime=0)


def require_results(c: Caller, run: ModelRun) -> None:
    if scored(c, run) is None:
        raise ApiError("conflict", f"results of model evaluation run {run.eval_run_uuid!r} are available once it"
                                   f" finishes successfully (it is {run.status})")

