"""Request shapes of the DigitalOcean GenAI evaluation API, with the vendor's own field names.

Every body field is optional in the vendor's OpenAPI description; service.py decides which ones an operation
needs. Unknown keys are ignored (the SDKs may send fields newer than this emulator). Types are checked: a
number where a string belongs is a 400. Response shapes are built in render.py; the answer models at the end
describe the test-case and run reads for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator

from emulator.core.openapi import omitted
from emulator.vendors.digitalocean.records import RUN_LIFECYCLE

DATASET_TYPES = ("EVALUATION_DATASET_TYPE_UNKNOWN", "EVALUATION_DATASET_TYPE_ADK", "EVALUATION_DATASET_TYPE_NON_ADK",
                 "EVALUATION_DATASET_TYPE_MODEL")
DATASET_PARADIGMS = ("EVALUATION_DATASET_PARADIGM_SINGLE_TURN", "EVALUATION_DATASET_PARADIGM_MULTI_TURN",
                     "EVALUATION_DATASET_PARADIGM_CODING", "EVALUATION_DATASET_PARADIGM_N_PLUS_1")
CANDIDATE_SOURCES = ("CANDIDATE_MODEL_SOURCE_SERVERLESS", "CANDIDATE_MODEL_SOURCE_DEDICATED",
                     "CANDIDATE_MODEL_SOURCE_ROUTER")
PRESET_SECTIONS = ("PRESET_SAVE_SECTION_UNSPECIFIED", "PRESET_SAVE_SECTION_CANDIDATE", "PRESET_SAVE_SECTION_METRICS",
                   "PRESET_SAVE_SECTION_JUDGE", "PRESET_SAVE_SECTION_DATASET", "PRESET_SAVE_SECTION_SYSTEM_PROMPT")
SORT_FIELDS = ("MODEL_EVALUATION_RUN_SORT_FIELD_UNSPECIFIED", "MODEL_EVALUATION_RUN_SORT_FIELD_CREATED_AT",
               "MODEL_EVALUATION_RUN_SORT_FIELD_STATUS")
SORT_DIRECTIONS = ("SORT_DIRECTION_UNSPECIFIED", "SORT_DIRECTION_ASC", "SORT_DIRECTION_DESC")

Text = Optional[StrictStr]


class Wire(BaseModel):
    # Validators are built when a model is first used, not at import: the server starts in half the time.
    model_config = ConfigDict(extra="ignore", defer_build=True)


def _int64_string(value: Any) -> Any:
    """uint64/int64 fields travel as strings ("2048") but the vendor's own examples send numbers: take both."""
    if isinstance(value, bool):
        raise ValueError("must be an integer or a string of digits")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError("must be an integer or a string of digits")


class StarMetric(Wire):
    metric_uuid: Text = None
    name: Text = None
    success_threshold: Optional[float] = Field(None, allow_inf_nan=False)
    success_threshold_pct: Optional[StrictInt] = Field(None, ge=0, le=100)

    @field_validator("success_threshold", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool) or (value is not None and not isinstance(value, (int, float))):
            raise ValueError("must be a number")
        return value


class CreateTestCase(Wire):
    name: Text = None
    description: Text = None
    dataset_uuid: Text = None
    metrics: Optional[list[StrictStr]] = None
    star_metric: Optional[StarMetric] = None
    workspace_uuid: Text = None
    agent_workspace_name: Text = None


class MetricList(Wire):
    metric_uuids: Optional[list[StrictStr]] = None


class UpdateTestCase(Wire):
    test_case_uuid: Text = None
    name: Text = None
    description: Text = None
    dataset_uuid: Text = None
    # The schema says {"metric_uuids": [...]}, the vendor's own curl example and MCP server send a plain list.
    metrics: Optional[Union[MetricList, list[StrictStr]]] = None
    star_metric: Optional[StarMetric] = None

    def metric_uuids(self) -> list[str] | None:
        if isinstance(self.metrics, MetricList):
            return self.metrics.metric_uuids
        return self.metrics


class VersionQuery(Wire):
    evaluation_test_case_version: Optional[int] = Field(None, ge=0, le=2**31 - 1)


class TestCaseListQuery(Wire):
    workspace_uuid: Text = None
    agent_workspace_name: Text = None


class RunTestCase(Wire):
    test_case_uuid: Text = None
    run_name: Text = None
    agent_uuids: Optional[list[StrictStr]] = Field(None, max_length=50)
    agent_deployment_names: Optional[list[StrictStr]] = Field(None, max_length=50)


class PageQuery(Wire):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=200)


class ModelRunPageQuery(PageQuery):
    per_page: int = Field(50, ge=1, le=200)


class CustomMetricConfig(Wire):
    requires_ground_truth: Optional[StrictBool] = None
    scoring_prompt: Text = None


class CreateCustomMetric(Wire):
    metric_name: Text = None
    description: Text = None
    config: Optional[CustomMetricConfig] = None


class UpdateCustomMetric(CreateCustomMetric):
    metric_uuid: Text = None


class DatasetListQuery(Wire):
    dataset_type: Literal[DATASET_TYPES] = "EVALUATION_DATASET_TYPE_UNKNOWN"  # type: ignore[valid-type]
    dataset_paradigm: Optional[Literal[DATASET_PARADIGMS]] = None  # type: ignore[valid-type]
    has_ground_truth: Optional[Literal["true", "false", "True", "False", "1", "0"]] = None


class FileUploadDataset(Wire):
    original_file_name: Text = None
    stored_object_key: Text = None
    size_in_bytes: Optional[int] = Field(None, ge=0, le=2**53)

    @field_validator("size_in_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return None if value is None else _int64_string(value)


class CreateDataset(Wire):
    name: Text = None
    dataset_type: Optional[Literal[DATASET_TYPES]] = None  # type: ignore[valid-type]
    dataset_paradigm: Optional[Literal[DATASET_PARADIGMS]] = None  # type: ignore[valid-type]
    file_upload_dataset: Optional[FileUploadDataset] = None


class PresignFile(Wire):
    file_name: Text = None
    file_size: Optional[int] = Field(None, ge=0, le=2**53)

    @field_validator("file_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return None if value is None else _int64_string(value)


class PresignFiles(Wire):
    files: Optional[list[PresignFile]] = Field(None, max_length=20)


class InferenceConfig(Wire):
    max_tokens: Optional[StrictInt] = Field(None, ge=1, le=1_000_000)
    stop_token: Text = None
    system_prompt: Text = None
    temperature: Optional[float] = Field(None, ge=0, le=2)


class CreateModelRun(Wire):
    name: Text = None
    dataset_uuid: Text = None
    candidate_model_uuid: Text = None
    candidate_model_name: Text = None
    candidate_model_source: Optional[Literal[CANDIDATE_SOURCES]] = None  # type: ignore[valid-type]
    candidate_inference_config: Optional[InferenceConfig] = None
    judge_model_uuid: Text = None
    metric_uuids: Optional[list[StrictStr]] = Field(None, max_length=50)
    star_metric: Optional[StarMetric] = None
    eval_preset_uuid: Text = None
    preset_name: Text = None
    preset_save_sections: Optional[list[Literal[PRESET_SECTIONS]]] = None  # type: ignore[valid-type]
    save_as_preset: Optional[StrictBool] = None
    source: Text = None


class RenameModelRun(Wire):
    eval_run_uuid: Text = None
    name: Text = None


class CancelModelRun(Wire):
    eval_run_uuid: Text = None


class ModelRunListQuery(Wire):
    eval_preset_uuid: Text = None
    status: Literal[("MODEL_EVALUATION_RUN_STATUS_UNSPECIFIED",  # type: ignore[valid-type]
                     "MODEL_EVALUATION_RUN_QUEUED", "MODEL_EVALUATION_RUN_RUNNING_DATASET",
                     "MODEL_EVALUATION_RUN_EVALUATING_RESULTS", "MODEL_EVALUATION_RUN_CANCELLING",
                     "MODEL_EVALUATION_RUN_CANCELLED", "MODEL_EVALUATION_RUN_SUCCESSFUL",
                     "MODEL_EVALUATION_RUN_PARTIALLY_SUCCESSFUL", "MODEL_EVALUATION_RUN_FAILED")] = \
        "MODEL_EVALUATION_RUN_STATUS_UNSPECIFIED"
    statuses: list[Literal[("MODEL_EVALUATION_RUN_STATUS_UNSPECIFIED",  # type: ignore[valid-type]
                            "MODEL_EVALUATION_RUN_QUEUED", "MODEL_EVALUATION_RUN_RUNNING_DATASET",
                            "MODEL_EVALUATION_RUN_EVALUATING_RESULTS", "MODEL_EVALUATION_RUN_CANCELLING",
                            "MODEL_EVALUATION_RUN_CANCELLED", "MODEL_EVALUATION_RUN_SUCCESSFUL",
                            "MODEL_EVALUATION_RUN_PARTIALLY_SUCCESSFUL", "MODEL_EVALUATION_RUN_FAILED")]] = []
    candidate_types: list[Literal[CANDIDATE_SOURCES]] = []  # type: ignore[valid-type]
    search: Text = None
    sort_by: Literal[SORT_FIELDS] = "MODEL_EVALUATION_RUN_SORT_FIELD_UNSPECIFIED"  # type: ignore[valid-type]
    sort_direction: Literal[SORT_DIRECTIONS] = "SORT_DIRECTION_UNSPECIFIED"  # type: ignore[valid-type]
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=200)

    @field_validator("statuses", "candidate_types", mode="before")
    @classmethod
    def _comma_lists(cls, value: Any) -> Any:
        """A list takes the repeated form (`statuses=A&statuses=B`, as pydo sends) and the comma form
        (`statuses=A,B`, as Stainless clients send); empty parts are dropped."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [part for item in value for part in (item.split(",") if isinstance(item, str) else [item])
                    if part != ""]
        return value


# ---- answers (the OpenAPI document's success schemas; render.py builds them) ----------------------------------
# Timestamps are RFC 3339 UTC strings, 64-bit integers (user ids, sizes) digit strings, as the vendor's schema.


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetAnswer(Answer):
    dataset_uuid: str
    dataset_name: str
    dataset_type: Literal[DATASET_TYPES]  # type: ignore[valid-type]
    dataset_paradigm: Literal[DATASET_PARADIGMS]  # type: ignore[valid-type]
    file_size: str
    has_ground_truth: bool
    row_count: int
    created_at: str


class StarMetricAnswer(Answer):
    metric_uuid: str
    name: str
    success_threshold_pct: int
    success_threshold: float = omitted("only when the test case set one")


class TestCaseAnswer(Answer):
    test_case_uuid: str
    name: str
    description: str
    version: int
    dataset_uuid: str
    dataset_name: str
    dataset: DatasetAnswer
    metrics: list[dict[str, Any]]
    star_metric: StarMetricAnswer
    total_runs: int
    latest_version_number_of_runs: int
    created_at: str
    created_by_user_id: str
    created_by_user_email: str
    updated_at: str
    updated_by_user_id: str
    updated_by_user_email: str


class TestCaseRead(Answer):
    evaluation_test_case: TestCaseAnswer


class RunAnswer(Answer):
    evaluation_run_uuid: str
    run_name: str
    status: Literal[RUN_LIFECYCLE.states]  # type: ignore[valid-type]
    test_case_uuid: str
    test_case_name: str
    test_case_description: str
    test_case_version: int
    evaluation_test_case_workspace_uuid: str
    agent_uuid: str
    agent_name: str
    agent_deleted: bool
    agent_version_hash: str
    agent_workspace_uuid: str
    agent_deployment_name: str
    created_by_user_id: str
    created_by_user_email: str
    queued_at: str
    started_at: str = omitted("absent until the run starts")
    finished_at: str = omitted("absent until the run ends")
    error_description: str
    pass_status: bool
    star_metric_result: dict[str, Any] = omitted("absent until the run is scored")
    run_level_metric_results: list[dict[str, Any]]


class RunRead(Answer):
    evaluation_run: RunAnswer
