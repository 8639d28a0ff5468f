"""Hugging Face historical imports, simulated: no network, the repository's files are invented or listed."""

from __future__ import annotations

import re
from typing import Any

from emulator.core.errors import ApiError, invalid
from emulator.core.ids import derived_hex
from emulator.vendors.mka1 import wire
from emulator.vendors.mka1.records import DEFAULT_SAMPLES_PER_TASK
from emulator.vendors.mka1.service import (
    Caller,
    build_run,
    create_suite,
    create_suite_version,
    get_suite,
    hf_imports,
    suites,
    sync,
)

# ---- historical imports -------------------------------------------------------------------------------------
# No network: the "repository" is simulated. Its files are listed by the request (`source.files`) or, if it
# lists none, discovered as one samples file per (model, task) below; each file becomes one completed run.

HISTORICAL_TASKS = ("arc_easy", "hellaswag", "mmlu", "gsm8k")
HISTORICAL_MODELS = ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct",
                     "mistralai/Mistral-7B-Instruct-v0.3", "google/gemma-2-9b-it")
HISTORICAL_DEFAULT_FILES = 3


def _discover(src: wire.HuggingFaceSource, limit: int | None) -> list[tuple[str, str, str]]:
    """(file path, model, task) of each results file the import would read."""
    if src.files:
        found = [(f, _model_of(f), _task_of(f)) for f in src.files]
    else:
        found = []
        for i in range(limit or HISTORICAL_DEFAULT_FILES):
            model, task = HISTORICAL_MODELS[i % 4], HISTORICAL_TASKS[(i + i // 4) % 4]
            found.append((f"{src.path_prefix or ''}{model.replace('/', '__')}/samples_{task}.jsonl", model, task))
    return found[: limit or len(found)]


def _model_of(path: str) -> str:
    """lm-eval writes <model with "/" as "__">/samples_<task>.jsonl: the folder names the model."""
    folder = path.rsplit("/", 2)[-2] if path.count("/") >= 1 else "unknown-model"
    return folder.replace("__", "/")


def _task_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1].removesuffix(".jsonl").removesuffix(".json")
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name.removeprefix("samples_")) or "task"


def import_historical(c: Caller, body: wire.ImportHistorical, hf_token: str | None) -> dict[str, Any]:
    if not hf_token:
        raise ApiError("unauthorized", "X-HuggingFace-Token is required to read the results repository")
    src = body.source
    files = _discover(src, body.limit_files)
    seen = hf_imports(c.ns)
    fresh = [f for f in files if (src.repo, src.revision, f[0]) not in seen]
    tasks = sorted({task for _, _, task in files})
    remembered = c.ns.extras.setdefault("mka1.hf_suites", {})
    suite_key = (src.repo, src.revision, body.suite_name)

    suite = get_suite(c, body.suite_id) if body.suite_id else suites(c.ns).get(remembered.get(suite_key, ""))
    missing = tasks
    if suite is not None:
        known = {t["id"] for t in suite.version(suite.active_version).manifest["tasks"]}
        missing = [t for t in tasks if t not in known]
        if missing and not body.create_missing_tasks:
            raise invalid(f"suite {suite.id!r} lacks tasks {', '.join(missing)} and create_missing_tasks is false")
    creates_suite = suite is None
    creates_version = not creates_suite and bool(missing) and bool(fresh)
    result = {
        "source": {"type": "huggingface", "repo": src.repo, "revision": src.revision},
        "created_suite": creates_suite, "created_suite_version": creates_suite or creates_version,
        "dry_run": body.dry_run, "discovered_files": len(files), "imported_runs": len(fresh),
        "skipped_runs": len(files) - len(fresh), "imported_samples": len(fresh) * DEFAULT_SAMPLES_PER_TASK,
    }
    if body.dry_run:
        planned_id = suite.id if suite else f"eval_suite_{derived_hex(c.ns.seed, src.repo, body.suite_name)}"
        planned_version = (suite.latest_version + int(creates_version)) if suite else 1
        return {**result, "suite_id": planned_id, "suite_version": planned_version}

    new_tasks = [wire.Task(id=t, type="qa", dataset=wire.Dataset(source="huggingface", path=src.repo))
                 for t in missing]
    if suite is None:
        suite = create_suite(c, wire.CreateSuite(name=body.suite_name, description=body.suite_description,
                                                 manifest=wire.Manifest(tasks=new_tasks), metadata=body.metadata))
        remembered[suite_key] = suite.id
    elif creates_version:
        tasks_now = suite.version(suite.active_version).manifest["tasks"]
        merged = tasks_now + [t.model_dump(mode="json", exclude_none=True) for t in new_tasks]
        create_suite_version(c, suite.id, wire.CreateSuiteVersion(manifest=wire.Manifest(tasks=merged)))
    version = suite.version(suite.active_version)
    for path, model, task in fresh:
        # Imported results are history: created long enough ago to be completed now, every sample scored.
        run = build_run(c, suite, version, models=[model], task_ids=[task], knobs=None,
                        metadata={"source": "huggingface", "file": path, **body.metadata},
                        created_at=c.now - 3600, hold=True)
        run.phases[0].failing = frozenset()
        sync(c, run)
        seen[(src.repo, src.revision, path)] = run.id
    return {**result, "suite_id": suite.id, "suite_version": suite.active_version}


