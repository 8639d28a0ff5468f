"""What the DigitalOcean emulator stores, the built-in metric catalogs, and the two run lifecycles as tables.

Records are plain dataclasses of JSON-compatible values so a namespace can be snapshotted generically. Prompt
results are not stored: results.py derives them from the run, its dataset rows and the namespace seed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.core.ids import derived_hex
from emulator.core.lifecycle import Lifecycle, Lifecycled

# ---- agent evaluation runs ----------------------------------------------------------------------------------

QUEUED = "EVALUATION_RUN_QUEUED"
RUNNING = "EVALUATION_RUN_RUNNING_DATASET"
EVALUATING = "EVALUATION_RUN_EVALUATING_RESULTS"
SUCCESSFUL = "EVALUATION_RUN_SUCCESSFUL"
PARTIAL = "EVALUATION_RUN_PARTIALLY_SUCCESSFUL"
FAILED = "EVALUATION_RUN_FAILED"

# Timed steps on the namespace clock. RUNNING_DATASET and EVALUATING_RESULTS last as long as the dataset takes
# (set per run from its row count); the end state is SUCCESSFUL unless the run's results say otherwise, which
# the run records as a detour (a judge call that failed -> PARTIALLY_SUCCESSFUL; a scenario's FAILED).
RUN_LIFECYCLE = Lifecycle(
    name="evaluation run",
    states=("EVALUATION_RUN_STATUS_UNSPECIFIED", QUEUED, RUNNING, EVALUATING, "EVALUATION_RUN_CANCELLING",
            "EVALUATION_RUN_CANCELLED", SUCCESSFUL, PARTIAL, FAILED),
    terminal=frozenset({SUCCESSFUL, PARTIAL, FAILED, "EVALUATION_RUN_CANCELLED"}),
    timed={QUEUED: (RUNNING, 5.0), RUNNING: (EVALUATING, 20.0), EVALUATING: (SUCCESSFUL, 10.0)},
    scripted={QUEUED: (FAILED,), RUNNING: (FAILED,), EVALUATING: (PARTIAL, FAILED)},
    step_fields=frozenset({"error_description"}),
    apply_fields=lambda run, fields, at: setattr(run, "error_description", fields["error_description"]),
    id_field="evaluation_run_uuid",
)
SECONDS_PER_ROW_RUNNING = 2.0
SECONDS_PER_ROW_EVALUATING = 1.0

# ---- model evaluation runs ----------------------------------------------------------------------------------

M_QUEUED = "MODEL_EVALUATION_RUN_QUEUED"
M_RUNNING = "MODEL_EVALUATION_RUN_RUNNING_DATASET"
M_EVALUATING = "MODEL_EVALUATION_RUN_EVALUATING_RESULTS"
M_CANCELLING = "MODEL_EVALUATION_RUN_CANCELLING"
M_CANCELLED = "MODEL_EVALUATION_RUN_CANCELLED"
M_SUCCESSFUL = "MODEL_EVALUATION_RUN_SUCCESSFUL"
M_PARTIAL = "MODEL_EVALUATION_RUN_PARTIALLY_SUCCESSFUL"
M_FAILED = "MODEL_EVALUATION_RUN_FAILED"
MODEL_RUN_STATUSES = ("MODEL_EVALUATION_RUN_STATUS_UNSPECIFIED", M_QUEUED, M_RUNNING, M_EVALUATING, M_CANCELLING,
                      M_CANCELLED, M_SUCCESSFUL, M_PARTIAL, M_FAILED)
MODEL_TERMINAL = frozenset({M_SUCCESSFUL, M_PARTIAL, M_FAILED, M_CANCELLED})

# Cancel is allowed while the run works; delete only once it is at rest (the vendor's docs say both).
MODEL_RUN_LIFECYCLE = Lifecycle(
    name="model evaluation run",
    states=MODEL_RUN_STATUSES,
    terminal=MODEL_TERMINAL,
    actions={
        "cancel": {M_QUEUED: M_CANCELLING, M_RUNNING: M_CANCELLING, M_EVALUATING: M_CANCELLING},
        "delete": {s: s for s in sorted(MODEL_TERMINAL)},
    },
    timed={M_QUEUED: (M_RUNNING, 5.0), M_RUNNING: (M_EVALUATING, 20.0), M_EVALUATING: (M_SUCCESSFUL, 10.0),
           M_CANCELLING: (M_CANCELLED, 2.0)},
    scripted={M_QUEUED: (M_FAILED,), M_RUNNING: (M_FAILED,), M_EVALUATING: (M_PARTIAL, M_FAILED)},
    id_field="eval_run_uuid",
)
# Share of runs (per run, from the seed) in which one judge call fails, so the run ends PARTIALLY_SUCCESSFUL.
JUDGE_FAILURE_RATE = 0.15

RATE_LIMIT = 5000  # requests per hour, as DigitalOcean documents


def stable_uuid(*parts: object) -> str:
    """A UUID fixed by `parts` (built-in metric ids are the same for every namespace, as on the platform)."""
    return str(uuid.UUID(derived_hex(*parts), version=4))


# ---- metrics ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Metric:
    metric_uuid: str
    metric_name: str
    description: str
    metric_type: str
    metric_value_type: str
    category: str
    inverted: bool
    range_min: float
    range_max: float
    evaluation_scope: str
    source: str = "EVALUATION_METRIC_SOURCE_BUILTIN"
    is_metric_goal: bool = False
    metric_rank: int = 0
    # Custom (LLM-as-judge) metrics only: {created_at, updated_at, deleted_at, requires_ground_truth, scoring_prompt}
    custom: dict[str, Any] | None = None
    created_at: float = 0.0
    deleted_at: float | None = None

    @property
    def numeric(self) -> bool:
        return self.metric_value_type != "METRIC_VALUE_TYPE_STRING"


def _builtin(rank: int, name: str, description: str, metric_type: str, value_type: str, category: str, scope: str,
             *, inverted: bool = False, goal: bool = False, low: float = 0.0, high: float = 100.0) -> Metric:
    return Metric(metric_uuid=stable_uuid("digitalocean", "builtin-metric", name), metric_name=name,
                  description=description, metric_type=metric_type, metric_value_type=value_type, category=category,
                  inverted=inverted, range_min=low, range_max=high, evaluation_scope=scope, is_metric_goal=goal,
                  metric_rank=rank)


_AGENT, _MODEL = "EVALUATION_SCOPE_AGENT", "EVALUATION_SCOPE_MODEL"
_PCT, _NUM, _STR = "METRIC_VALUE_TYPE_PERCENTAGE", "METRIC_VALUE_TYPE_NUMBER", "METRIC_VALUE_TYPE_STRING"

# Agent-evaluation metrics (what GET /evaluation_metrics lists). Only the metric types gradient 3.12.2 knows.
AGENT_METRICS: tuple[Metric, ...] = (
    _builtin(1, "Correctness (general hallucinations)", "Checks the response for claims the agent cannot support.",
             "METRIC_TYPE_GENERAL_QUALITY", _PCT, "METRIC_CATEGORY_CORRECTNESS", _AGENT, goal=True),
    _builtin(2, "Instruction adherence", "How closely the response follows the agent's instructions.",
             "METRIC_TYPE_GENERAL_QUALITY", _PCT, "METRIC_CATEGORY_USER_OUTCOMES", _AGENT, goal=True),
    _builtin(3, "Tone", "Whether the tone suits the agent's audience, on a 1-5 scale.",
             "METRIC_TYPE_GENERAL_QUALITY", _NUM, "METRIC_CATEGORY_USER_OUTCOMES", _AGENT, low=1.0, high=5.0),
    _builtin(4, "Toxicity", "Share of the response judged toxic; lower is better.",
             "METRIC_TYPE_GENERAL_QUALITY", _PCT, "METRIC_CATEGORY_SAFETY_AND_SECURITY", _AGENT, inverted=True),
    _builtin(5, "PII leak", "Whether the response exposes personal data (DETECTED or NONE).",
             "METRIC_TYPE_GENERAL_QUALITY", _STR, "METRIC_CATEGORY_SAFETY_AND_SECURITY", _AGENT),
    _builtin(6, "Retrieved chunk usage", "Share of retrieved knowledge-base chunks the response used.",
             "METRIC_TYPE_RAG_AND_TOOL", _PCT, "METRIC_CATEGORY_CONTEXT_QUALITY", _AGENT),
    _builtin(7, "Context adherence", "Whether the response stays within the retrieved context.",
             "METRIC_TYPE_RAG_AND_TOOL", _PCT, "METRIC_CATEGORY_CONTEXT_QUALITY", _AGENT, goal=True),
    _builtin(8, "Tool call correctness", "Share of tool calls made with the right tool and arguments.",
             "METRIC_TYPE_RAG_AND_TOOL", _PCT, "METRIC_CATEGORY_CORRECTNESS", _AGENT),
)

# Model-evaluation built-ins (GET /model_evaluation_metrics lists these and the namespace's custom metrics).
MODEL_METRICS: tuple[Metric, ...] = (
    _builtin(1, "Answer correctness", "Agreement of the answer with the ground truth.",
             "METRIC_TYPE_MODEL_QUALITY", _PCT, "METRIC_CATEGORY_CORRECTNESS", _MODEL, goal=True),
    _builtin(2, "Answer relevance", "Whether the answer addresses the prompt.",
             "METRIC_TYPE_MODEL_QUALITY", _PCT, "METRIC_CATEGORY_USER_OUTCOMES", _MODEL, goal=True),
    _builtin(3, "Conciseness", "How free of padding the answer is, on a 1-5 scale.",
             "METRIC_TYPE_MODEL_QUALITY", _NUM, "METRIC_CATEGORY_MODEL_FIT", _MODEL, low=1.0, high=5.0),
    _builtin(4, "Harmful content", "Share of the answer judged harmful; lower is better.",
             "METRIC_TYPE_MODEL_SAFETY", _PCT, "METRIC_CATEGORY_SAFETY_AND_SECURITY", _MODEL, inverted=True),
)
BUILTIN_BY_UUID = {m.metric_uuid: m for m in AGENT_METRICS + MODEL_METRICS}

# Models the model-evaluation family knows by uuid (candidate and judge), so runs can name them.
KNOWN_MODELS = {stable_uuid("digitalocean", "model", name): name for name in (
    "Llama 3.3 Instruct (70B)", "Llama 3.1 Instruct (8B)", "Mistral NeMo", "DeepSeek R1 Distill Llama 70B",
    "OpenAI GPT-4o", "OpenAI GPT-4o mini", "Anthropic Claude 3.5 Sonnet")}


# ---- datasets -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Dataset:
    dataset_uuid: str
    dataset_name: str
    dataset_type: str
    dataset_paradigm: str
    file_size: int
    original_file_name: str
    stored_object_key: str
    rows: list[dict[str, str]]  # {"query", "ground_truth"?}
    created_at: float
    deleted_at: float | None = None

    @property
    def has_ground_truth(self) -> bool:
        return bool(self.rows) and all(row.get("ground_truth") for row in self.rows)


@dataclass(slots=True)
class Presigned:
    """An object key a presign operation handed out, by key: what the file was called and when its URL expires."""

    object_key: str
    file_name: str
    expires_at: float


@dataclass(slots=True, eq=False)
class Upload:
    """A file PUT to a presigned URL, by object key (a later PUT to the same URL replaces it)."""

    object_key: str
    text: str
    size: int


# ---- test cases ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class TestCaseVersion:
    version: int
    name: str
    description: str
    dataset_uuid: str
    metric_uuids: list[str]
    star_metric: dict[str, Any]  # {metric_uuid, name, success_threshold_pct, success_threshold?}
    updated_at: float
    updated_by: str  # the credential that wrote this version


@dataclass(slots=True, eq=False)
class TestCase:
    test_case_uuid: str
    workspace_uuid: str
    agent_workspace_name: str
    created_at: float
    created_by: str
    versions: list[TestCaseVersion] = field(default_factory=list)

    @property
    def latest(self) -> TestCaseVersion:
        return self.versions[-1]

    def version(self, number: int) -> TestCaseVersion | None:
        return self.versions[number - 1] if 1 <= number <= len(self.versions) else None


# ---- runs ---------------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class EvaluationRun(Lifecycled):
    evaluation_run_uuid: str
    run_name: str
    test_case_uuid: str
    test_case_version: int
    workspace_uuid: str
    agent_uuid: str
    agent_name: str
    agent_deployment_name: str
    agent_workspace_uuid: str
    agent_version_hash: str
    created_by: str
    queued_at: float
    status: str = QUEUED
    started_at: float | None = None
    finished_at: float | None = None
    error_description: str = ""


@dataclass(slots=True, eq=False)
class Preset:
    eval_preset_uuid: str
    name: str
    saved_sections: list[str]
    config: dict[str, Any]  # the saved fields of the run's resolved configuration
    created_at: float
    deleted_at: float | None = None


@dataclass(slots=True, eq=False)
class ModelRun(Lifecycled):
    eval_run_uuid: str
    name: str
    dataset_uuid: str
    candidate_model_uuid: str
    candidate_model_name: str
    candidate_model_source: str
    candidate_inference_config: dict[str, Any]
    judge_model_uuid: str
    metric_uuids: list[str]
    star_metric: dict[str, Any]
    eval_preset_uuid: str
    eval_preset_name: str
    source: str
    created_at: float
    status: str = M_QUEUED
    started_at: float | None = None
    completed_at: float | None = None
    error_description: str = ""
    deleted_at: float | None = None
