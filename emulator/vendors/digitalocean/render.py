"""Wire shapes of DigitalOcean's responses, built from records.

Every field the vendor's schema names is present once it has a value; timestamps that have not happened yet
(`started_at` of a queued run, `archived_at`) are left out rather than sent as null, since the schema gives them
no null. 64-bit integers the schema types as strings (user ids, sizes, token counts) are strings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from emulator.core.pagination import PageWindow
from emulator.vendors.digitalocean import model_eval, service
from emulator.vendors.digitalocean.records import (
    Dataset,
    KNOWN_MODELS,
    EvaluationRun,
    Metric,
    ModelRun,
    Preset,
    TestCase,
)
from emulator.vendors.digitalocean.results import iso
from emulator.vendors.digitalocean.service import Caller


def dataset(d: Dataset) -> dict[str, Any]:
    return {"dataset_uuid": d.dataset_uuid, "dataset_name": d.dataset_name, "dataset_type": d.dataset_type,
            "dataset_paradigm": d.dataset_paradigm, "file_size": str(d.file_size),
            "has_ground_truth": d.has_ground_truth, "row_count": len(d.rows), "created_at": iso(d.created_at)}


def metric(c: Caller, m: Metric) -> dict[str, Any]:
    out = {"metric_uuid": m.metric_uuid, "metric_name": m.metric_name, "description": m.description,
           "metric_type": m.metric_type, "metric_value_type": m.metric_value_type, "category": m.category,
           "inverted": m.inverted, "is_metric_goal": m.is_metric_goal, "metric_rank": m.metric_rank,
           "range_min": m.range_min, "range_max": m.range_max, "evaluation_scope": m.evaluation_scope,
           "source": m.source, "associated_presets": []}
    if m.custom is not None:
        out["associated_presets"] = model_eval.associated_presets(c, m.metric_uuid)
        config = {"scoring_prompt": m.custom["scoring_prompt"],
                  "requires_ground_truth": m.custom["requires_ground_truth"],
                  "created_at": iso(m.custom["created_at"]), "updated_at": iso(m.custom["updated_at"])}
        if m.custom.get("deleted_at") is not None:
            config["deleted_at"] = iso(m.custom["deleted_at"])
        out["custom_eval_config"] = config
    return out


def star(stored: dict[str, Any]) -> dict[str, Any]:
    out = {"metric_uuid": stored["metric_uuid"], "name": stored["name"],
           "success_threshold_pct": stored["success_threshold_pct"]}
    if "success_threshold" in stored:
        out["success_threshold"] = stored["success_threshold"]
    return out


def test_case(c: Caller, case: TestCase, version_number: int | None = None) -> dict[str, Any]:
    version = service.test_case_version(c, case, version_number)
    total, on_latest = service.run_counts(c, case)
    created_id, created_email = service.user_of(c.ns, case.created_by)
    updated_id, updated_email = service.user_of(c.ns, version.updated_by)
    ds = service.datasets(c.ns).get_any(version.dataset_uuid)
    return {
        "test_case_uuid": case.test_case_uuid, "name": version.name, "description": version.description,
        "version": version.version, "dataset_uuid": version.dataset_uuid, "dataset_name": ds.dataset_name,
        "dataset": dataset(ds), "metrics": [metric(c, service.metric(c.ns, u)) for u in version.metric_uuids],
        "star_metric": star(version.star_metric), "total_runs": total, "latest_version_number_of_runs": on_latest,
        "created_at": iso(case.created_at), "created_by_user_id": created_id, "created_by_user_email": created_email,
        "updated_at": iso(version.updated_at), "updated_by_user_id": updated_id,
        "updated_by_user_email": updated_email,
    }


def evaluation_run(c: Caller, run: EvaluationRun) -> dict[str, Any]:
    case = service.test_cases(c.ns).get_any(run.test_case_uuid)
    version = case.version(run.test_case_version)
    user_id, email = service.user_of(c.ns, run.created_by)
    out: dict[str, Any] = {
        "evaluation_run_uuid": run.evaluation_run_uuid, "run_name": run.run_name, "status": run.status,
        "test_case_uuid": run.test_case_uuid, "test_case_name": version.name,
        "test_case_description": version.description, "test_case_version": run.test_case_version,
        "evaluation_test_case_workspace_uuid": run.workspace_uuid, "agent_uuid": run.agent_uuid,
        "agent_name": run.agent_name, "agent_deleted": False, "agent_version_hash": run.agent_version_hash,
        "agent_workspace_uuid": run.agent_workspace_uuid, "agent_deployment_name": run.agent_deployment_name,
        "created_by_user_id": user_id, "created_by_user_email": email, "queued_at": iso(run.queued_at),
        "error_description": run.error_description, "pass_status": False, "run_level_metric_results": [],
    }
    if run.started_at is not None:
        out["started_at"] = iso(run.started_at)
    if run.finished_at is not None:
        out["finished_at"] = iso(run.finished_at)
    scored = service.outcome(c, run)
    if scored is not None:
        out.update(pass_status=scored["pass_status"], star_metric_result=scored["star"],
                   run_level_metric_results=scored["run_level"])
    return out


def links(c: Caller, path: str, window: PageWindow, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """DigitalOcean's `links.pages`: first/previous only past page 1, next/last only before the last page."""
    def url(page: int) -> str:
        return f"{c.base_url}{path}?{urlencode({**(extra or {}), 'page': page, 'per_page': window.per_page}, doseq=True)}"

    pages: dict[str, str] = {}
    if window.has_previous:
        pages.update(first=url(1), previous=url(min(window.page - 1, window.pages)))
    if window.has_next:
        pages.update(next=url(window.page + 1), last=url(window.pages))
    return {"pages": pages}


def meta(window: PageWindow) -> dict[str, int]:
    return {"page": window.page, "pages": window.pages, "total": window.total}


def preset(c: Caller, p: Preset) -> dict[str, Any]:
    saved = p.config
    inference = saved.get("candidate_inference_config") or {}
    ds = service.datasets(c.ns).get(saved.get("dataset_uuid", ""))
    judge = saved.get("judge_model_uuid", "")
    out = {
        "eval_preset_uuid": p.eval_preset_uuid, "name": p.name, "saved_sections": list(p.saved_sections),
        "created_at": iso(p.created_at), "dataset_uuid": saved.get("dataset_uuid", ""),
        "dataset_name": ds.dataset_name if ds else "", "judge_model_uuid": judge,
        "judge_model_name": model_name(judge), "candidate_model_uuid": saved.get("candidate_model_uuid", ""),
        "candidate_model_name": saved.get("candidate_model_name", ""),
        "candidate_model_source": saved.get("candidate_model_source", "CANDIDATE_MODEL_SOURCE_SERVERLESS"),
        "candidate_system_prompt": saved.get("system_prompt", ""),
        "candidate_inference_config": dict(inference),
        "metrics": [metric(c, service.metric(c.ns, u)) for u in saved.get("metric_uuids") or []],
    }
    if saved.get("star_metric"):
        out["star_metric"] = star(saved["star_metric"])
    return out


def model_name(model_uuid: str) -> str:
    return KNOWN_MODELS.get(model_uuid, "")


def model_run_summary(c: Caller, run: ModelRun) -> dict[str, Any]:
    ds = service.datasets(c.ns).get_any(run.dataset_uuid)
    return {
        "eval_run_uuid": run.eval_run_uuid, "name": run.name, "status": run.status,
        "created_at": iso(run.created_at), "dataset_uuid": run.dataset_uuid, "dataset_name": ds.dataset_name,
        "candidate_model_uuid": run.candidate_model_uuid, "candidate_model_name": run.candidate_model_name,
        "candidate_model_source": run.candidate_model_source, "judge_model_uuid": run.judge_model_uuid,
        "judge_model_name": model_name(run.judge_model_uuid), "progress": model_eval.progress(c, run),
    }


def model_run_detail(c: Caller, run: ModelRun) -> dict[str, Any]:
    out = model_run_summary(c, run)
    out.update(
        candidate_inference_config=dict(run.candidate_inference_config), error_description=run.error_description,
        eval_preset_uuid=run.eval_preset_uuid, eval_preset_name=run.eval_preset_name,
        metrics=[metric(c, service.metric(c.ns, u)) for u in run.metric_uuids], star_metric=star(run.star_metric),
    )
    if run.started_at is not None:
        out["started_at"] = iso(run.started_at)
    if run.completed_at is not None:
        out["completed_at"] = iso(run.completed_at)
    scored = model_eval.scored(c, run)
    if scored is not None:
        out["result_summary"] = {k: v for k, v in scored["summary"].items() if k != "star_passed"}
    return out
