"""Request shapes of the MKA1 evals API (bodies and query strings), with the vendor's own field names.

Response shapes are built in render.py; the tests check them against the official SDK's models. The answer
models at the end describe the main ones (a run, a page of runs) for the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

RUN_STATUSES = ("queued", "in_progress", "finalizing", "completed", "failed", "cancelling", "cancelled")
SAMPLE_STATUSES = ("queued", "generating", "ready_to_score", "scoring", "running", "completed", "failed")
TASK_TYPES = (
    "classification", "multiple_choice", "qa", "summarization", "semantic_similarity", "llm_judge",
    "numeric", "math", "custom", "transcription", "embedding",
)

# A suite version: 1 and up, and within what the API's integers hold (an echoed 10**30 could not be encoded).
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]

RunStatus = Literal["queued", "in_progress", "finalizing", "completed", "failed", "cancelling", "cancelled"]
SampleStatus = Literal["queued", "generating", "ready_to_score", "scoring", "running", "completed", "failed"]


class Wire(BaseModel):
    # Validators are built when a model is first used, not at import: the server starts in half the time.
    model_config = ConfigDict(extra="ignore", defer_build=True)


class Open(BaseModel):
    """Objects the vendor stores verbatim (extra keys kept)."""

    model_config = ConfigDict(extra="allow")


# ---- suites -------------------------------------------------------------------------------------------------


class Dataset(Open):
    source: Optional[Literal["file", "huggingface"]] = None
    file_id: Optional[str] = None
    format: Optional[Literal["jsonl", "csv"]] = None
    path: Optional[str] = None
    max_rows: Optional[int] = Field(None, ge=1, le=1_000_000)
    audio_column: Optional[str] = None


class Metric(Open):
    id: str = Field(min_length=1)


class Task(Open):
    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    type: Literal[TASK_TYPES]  # type: ignore[valid-type]
    dataset: Dataset
    name: Optional[str] = None
    choices: Optional[list[str]] = None
    metrics: Optional[list[Metric]] = None

    @model_validator(mode="after")
    def _transcription_needs_audio(self) -> "Task":
        if self.type == "transcription" and not self.dataset.audio_column:
            raise ValueError("a transcription task needs dataset.audio_column")
        return self


class Manifest(Open):
    tasks: list[Task] = Field(min_length=1, max_length=100)
    schema_version: str = "2026-05-27"
    metadata: Optional[dict[str, Any]] = None

    @model_validator(mode="after")
    def _unique_task_ids(self) -> "Manifest":
        ids = [t.id for t in self.tasks]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"task ids must be unique, repeated: {', '.join(dupes)}")
        return self


class CreateSuite(Wire):
    name: str = Field(min_length=1, max_length=255)
    manifest: Manifest
    description: Optional[str] = None
    metadata: dict[str, str] = Field(default_factory=dict)


class CreateSuiteVersion(Wire):
    manifest: Manifest
    metadata: dict[str, str] = Field(default_factory=dict)
    make_active: bool = True


class CreateShare(Wire):
    org_id: str = Field(min_length=1)


class MeasureTokens(Wire):
    limit: int = Field(5, ge=1, le=100)


# ---- runs ---------------------------------------------------------------------------------------------------


class Generation(Open):
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    max_output_tokens: Optional[int] = None
    truncation: Optional[Literal["auto", "disabled"]] = None
    service_tier: Optional[Literal["auto", "default", "flex", "priority"]] = None


class RunKnobs(Wire):
    task_ids: Optional[list[str]] = Field(None, min_length=1)
    judge_model: Optional[str] = None
    embedding_model: Optional[str] = None
    generation: Optional[Generation] = None
    generation_concurrency: Optional[int] = Field(None, ge=1)
    concurrency: Optional[int] = Field(None, ge=1, le=25)
    grader_concurrency: Optional[int] = Field(None, ge=1)
    max_samples_per_task: Optional[int] = Field(None, ge=1)
    max_workflow_sample_activities: Optional[int] = Field(None, ge=1)


class CreateRun(RunKnobs):
    suite_id: str = Field(min_length=1)
    models: list[str] = Field(min_length=1, max_length=20)
    suite_version: Optional[Version] = None
    metadata: dict[str, str] = Field(default_factory=dict)


class UploadTrajectory(Wire):
    steps: list[Any]
    schema_version: str = "ATIF-v1.7"
    logs: Optional[dict[str, str]] = None


class Trial(Wire):
    task_id: str = Field(min_length=1)
    sample_index: Optional[int] = Field(None, ge=0)
    status: Literal["completed", "failed"] = "completed"
    prompt: str = ""
    target: Optional[str] = None
    output_text: Optional[str] = None
    scores: dict[str, float] = Field(default_factory=dict)
    error: Optional[dict[str, Any]] = None
    cost_usd: Optional[float] = None
    input_tokens: Optional[int] = Field(None, ge=0)
    output_tokens: Optional[int] = Field(None, ge=0)
    cached_tokens: Optional[int] = Field(None, ge=0)
    reasoning_tokens: Optional[int] = Field(None, ge=0)
    phase_timings: Optional[dict[str, Any]] = None


class IndexedTrial(Trial):
    sample_index: int = Field(ge=0)


class ImportAgentRun(Wire):
    suite_id: str = Field(min_length=1)
    agent_name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    suite_version: Optional[Version] = None
    agent_version: Optional[str] = None
    agent_effort: Optional[str] = None
    cost_usd: Optional[float] = None
    created_at: Optional[int] = None
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: Optional[str] = None
    trials: list[Trial] = Field(default_factory=list)
    expected_trials: Optional[int] = Field(None, ge=0)
    finalize: bool = True


class AppendTrials(Wire):
    trials: list[IndexedTrial] = Field(default_factory=list)
    finalize: bool = False


class HuggingFaceSource(Wire):
    type: Literal["huggingface"] = "huggingface"
    repo: str = "meetkai/lm-eval-harness-result"
    revision: str = "main"
    path_prefix: Optional[str] = None
    files: Optional[list[str]] = None


class ImportHistorical(Wire):
    source: HuggingFaceSource = Field(default_factory=HuggingFaceSource)
    suite_id: Optional[str] = None
    suite_name: str = "Historical lm-eval harness results"
    suite_description: Optional[str] = None
    create_missing_tasks: bool = True
    dry_run: bool = False
    limit_files: Optional[int] = Field(None, ge=1, le=100)
    metadata: dict[str, str] = Field(default_factory=dict)


# ---- schedules ----------------------------------------------------------------------------------------------


class ScheduleRunConfig(RunKnobs):
    model_config = ConfigDict(extra="allow")
    models: list[str] = Field(min_length=1, max_length=20)


OverlapPolicy = Literal["skip", "buffer_one", "allow_all"]


class CreateSchedule(Wire):
    name: str = Field(min_length=1, max_length=255)
    suite_id: str = Field(min_length=1)
    run: ScheduleRunConfig
    description: Optional[str] = Field(None, max_length=10_000)
    suite_version: Optional[Version] = None
    cron: Optional[str] = None
    interval_seconds: Optional[int] = Field(None, ge=1)
    timezone: str = "UTC"
    overlap_policy: OverlapPolicy = "skip"
    enabled: bool = True
    webhook_url: Optional[str] = Field(None, pattern=r"^https://")
    webhook_secret: Optional[str] = None
    metadata: dict[str, str] = Field(default_factory=dict)


class UpdateSchedule(Wire):
    """Every field optional; an explicit null on the nullable ones means "clear" (model_fields_set tells)."""

    name: Optional[str] = Field(None, min_length=1, max_length=255)
    description: Optional[str] = Field(None, max_length=10_000)
    suite_version: Optional[Version] = None
    cron: Optional[str] = None
    interval_seconds: Optional[int] = Field(None, ge=1)
    timezone: Optional[str] = None
    overlap_policy: Optional[OverlapPolicy] = None
    enabled: Optional[bool] = None
    webhook_url: Optional[str] = Field(None, pattern=r"^https://")
    webhook_secret: Optional[str] = None
    run: Optional[ScheduleRunConfig] = None
    metadata: Optional[dict[str, str]] = None


# ---- query strings ------------------------------------------------------------------------------------------


class ListQuery(Wire):
    after: Optional[str] = None
    limit: int = Field(20, ge=1, le=100)


class ListSuitesQuery(ListQuery):
    owned_only: bool = False


class ListRunsQuery(ListQuery):
    owned_only: bool = False
    suite_id: Optional[str] = None
    suite_version: Optional[Version] = None
    status: Optional[RunStatus] = None


class ListScheduleRunsQuery(ListQuery):
    suite_id: Optional[str] = None
    suite_version: Optional[Version] = None
    status: Optional[RunStatus] = None


class ListSchedulesQuery(ListQuery):
    suite_id: Optional[str] = None
    enabled: Optional[Literal["true", "false"]] = None


class ListSamplesQuery(Wire):
    after: Optional[str] = None
    limit: int = Field(100, ge=1, le=500)
    task_id: Optional[str] = None
    model: Optional[str] = None
    status: Optional[SampleStatus] = None
    score_metric: Optional[str] = None
    score_min: Optional[float] = None
    score_max: Optional[float] = None
    include_dataset_row: bool = True
    include_reasoning: bool = False
    sample_index: Optional[str] = Field(None, pattern=r"^\s*\d+\s*(,\s*\d+\s*)*$")


class LeaderboardRunsQuery(Wire):
    suite_version: Optional[Version] = None
    per_group: int = Field(5, ge=1, le=50)
    model: Optional[str] = None
    cursor: Optional[str] = None


class LeaderboardQuery(Wire):
    suite_version: Optional[Version] = None
    metric: str = "reward"
    agent: Optional[str] = None
    model: Optional[str] = None
    limit: int = Field(100, ge=1, le=500)


class OverviewQuery(Wire):
    metric: str = "reward"


class SampleLocator(Wire):
    task_id: Optional[str] = None
    model: Optional[str] = None


# ---- answers (the OpenAPI document's success schemas; render.py builds them) ----------------------------------


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestCounts(Answer):
    total: int
    completed: int
    failed: int


class Tokens(Answer):
    """Token totals, null until the run completes."""

    input: Optional[int]
    output: Optional[int]
    cached: Optional[int]
    reasoning: Optional[int]


class Run(Answer):
    """An eval.run, as every run operation answers it."""

    id: str
    object: Literal["eval.run"]
    suite_id: str
    suite_version: int
    suite_version_id: str
    org_id: str
    team_id: str
    status: RunStatus
    models: list[str]
    task_ids: Optional[list[str]]
    judge_model: Optional[str]
    embedding_model: Optional[str]
    generation: dict[str, Any]
    request_counts: RequestCounts
    metrics: Optional[dict[str, Any]] = Field(description="mean score per metric and `by_task`, once scored")
    error: Optional[dict[str, Any]]
    artifact_file_ids: list[str]
    metadata: dict[str, str]
    agent_name: Optional[str]
    agent_version: Optional[str]
    agent_effort: Optional[str]
    cost_usd: Optional[float]
    tokens: Tokens
    created_at: int = Field(description="epoch seconds")
    started_at: Optional[int]
    completed_at: Optional[int]
    cancelled_at: Optional[int]
    failed_at: Optional[int]


class RunList(Answer):
    object: Literal["list"]
    data: list[Run]
    has_more: bool
    first_id: Optional[str]
    last_id: Optional[str]
