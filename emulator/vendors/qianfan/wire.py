"""Request bodies of both Qianfan families, with the vendor's own field names (responses are built in render.py;
the models at the end describe them for the OpenAPI document).

Unknown top-level keys are ignored: the SDK's V2 helpers put every extra keyword (even `ak`, `sk`, `host`) into
the JSON body. Objects the vendor echoes back keep their extra keys.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations
from typing import Annotated, Any, Generic, Literal, Optional, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from emulator.vendors.qianfan.records import EVAL_MODES, TASK_LIFECYCLE

Id = Union[StrictStr, StrictInt]  # "ame-..." strings; the deprecated integer ids are still accepted


class Wire(BaseModel):
    # Validators are built when a model is first used, not at import: the server starts in half the time.
    model_config = ConfigDict(extra="ignore", defer_build=True)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# Every value eval_modes accepts (each mode at most once, in any order), for the OpenAPI document's enum.
EVAL_MODE_VALUES = [",".join(p) for n in (1, 2, 3) for p in permutations(EVAL_MODES, n)]
EvalMode = Annotated[StrictStr, Field(json_schema_extra={"enum": EVAL_MODE_VALUES})]


def eval_modes(value: str) -> list[str]:
    return list(_modes(value))


@lru_cache(maxsize=64)
def _modes(value: str) -> tuple[str, ...]:
    modes = tuple(m.strip() for m in value.split(","))
    if not value or any(m not in EVAL_MODES for m in modes) or len(set(modes)) != len(modes):
        raise ValueError("evalMode is a comma-separated set of rule, model, manual (for example 'rule,model')")
    return modes


# ---- /v2/eval -------------------------------------------------------------------------------------------------


class DescribeEvalTasks(Wire):
    evalType: Literal["manual", "auto"]
    keyFilter: Optional[StrictStr] = None
    marker: Optional[StrictStr] = None
    maxKeys: Optional[StrictInt] = Field(None, ge=1, description="default 10; above 100 is served as 100")
    pageReverse: Optional[StrictBool] = None


class TaskRef(Wire):
    taskId: StrictStr = Field(min_length=1)


class EvalModelItem(Open):
    modelId: StrictStr = Field(min_length=1, description="a model version id, amv-...")
    promptTemplate: Optional[StrictStr] = None
    temperature: Optional[float] = Field(None, ge=0.01, le=1.0)
    top_p: Optional[float] = Field(None, ge=0.0, le=1.0)
    penalty_score: Optional[float] = Field(None, ge=1.0, le=2.0)

    @field_validator("promptTemplate")
    @classmethod
    def _has_input(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and "{input}" not in value:
            raise ValueError("promptTemplate must contain the {input} placeholder")
        return value


class EvalModelConfig(Open):
    versionId: StrictStr = Field(min_length=1, description="the evaluation dataset version, ds-...")
    storageType: Literal["BOS", "sysStorage"] = "sysStorage"
    storagePath: Optional[StrictStr] = None
    evalModelConfigList: list[EvalModelItem] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _bos_path(self) -> "EvalModelConfig":
        if self.storageType == "BOS" and not self.storagePath:
            raise ValueError("storagePath is required when storageType is BOS")
        return self


class EvalInferDatasetItem(Open):
    inferDatasetId: StrictStr = Field(min_length=1)


class EvalInferDatasetConfig(Open):
    evalInferDatasetConfigList: list[EvalInferDatasetItem] = Field(min_length=1, max_length=5)


class EvalObjectConfig(Open):
    evalModelConfig: Optional[EvalModelConfig] = None
    evalInferDatasetConfig: Optional[EvalInferDatasetConfig] = None


class AutoModelEvalConfig(Open):
    apiName: StrictStr = Field(min_length=1, description="the judge model's API name")


class EvalConfig(Open):
    evalMode: EvalMode
    autoModelEvalConfig: Optional[AutoModelEvalConfig] = None

    @field_validator("evalMode")
    @classmethod
    def _modes(cls, value: str) -> str:
        eval_modes(value)
        return value

    @model_validator(mode="after")
    def _judge(self) -> "EvalConfig":
        if "model" in eval_modes(self.evalMode) and self.autoModelEvalConfig is None:
            raise ValueError("autoModelEvalConfig (with apiName) is required when evalMode contains model")
        return self


class CreateEvalTask(Wire):
    taskName: StrictStr = Field(min_length=1, max_length=100)
    description: StrictStr = Field("", max_length=500)
    evalObjectType: Literal["model", "inferDataset"]
    evalObjectConfig: EvalObjectConfig
    evalConfig: EvalConfig

    @model_validator(mode="after")
    def _object_matches_type(self) -> "CreateEvalTask":
        cfg = self.evalObjectConfig
        if self.evalObjectType == "model" and cfg.evalModelConfig is None:
            raise ValueError("evalObjectConfig.evalModelConfig is required when evalObjectType is model")
        if self.evalObjectType == "inferDataset" and cfg.evalInferDatasetConfig is None:
            raise ValueError("evalObjectConfig.evalInferDatasetConfig is required when evalObjectType is"
                             " inferDataset")
        return self


# ---- /wenxinworkshop/modelrepo/eval ---------------------------------------------------------------------------


class EvalRef(Wire):
    id: Id


class VersionEvalInfo(Open):
    modelId: Id
    modelVersionId: Id


class StandardConf(Open):
    evalMode: EvalMode
    apiName: Optional[StrictStr] = None
    scoreModes: Optional[list[StrictStr]] = None
    evaluationDimension: Optional[list[dict[str, Any]]] = None

    @field_validator("evalMode")
    @classmethod
    def _modes(cls, value: str) -> str:
        eval_modes(value)
        return value

    @model_validator(mode="after")
    def _judge(self) -> "StandardConf":
        if "model" in eval_modes(self.evalMode) and not self.apiName:
            raise ValueError("apiName (the judge model) is required when evalMode contains model")
        return self


class CreateEvaluation(Wire):
    name: StrictStr = Field(min_length=1, max_length=100)
    versionEvalInfo: list[VersionEvalInfo] = Field(min_length=1, max_length=5)
    datasetId: Id
    evalStandardConf: StandardConf
    computeResourceConf: Optional[dict[str, Any]] = None
    description: Optional[StrictStr] = Field(None, max_length=500)
    id: Optional[Id] = Field(None, description="a pending evaluation to restart with this spec")


class ExportResults(Wire):
    id: Id
    exportType: Literal["local", "storage"] = "local"
    exportOpt: Literal["total", "part"] = "total"
    exportContent: list[Literal["prompt", "prediction", "completion", "metrics"]] = Field(
        default_factory=lambda: ["prompt", "prediction", "completion", "metrics"], min_length=1)
    volumeId: Optional[StrictStr] = None
    resultIds: Optional[list[StrictStr]] = None

    @model_validator(mode="after")
    def _needs(self) -> "ExportResults":
        if self.exportType == "storage" and not self.volumeId:
            raise ValueError("volumeId is required when exportType is storage")
        if self.exportOpt == "part" and not self.resultIds:
            raise ValueError("resultIds is required when exportOpt is part")
        return self


class ExportRef(Wire):
    exportID: Id


class Range(Wire):
    start: float
    end: float


RESULT_ORDER_FIELDS = ("bleu4", "rouge_1", "rouge_2", "rouge_l", "judgeScore")


class ResultList(Wire):
    id: Id
    pageNo: StrictInt = Field(1, ge=1)
    pageSize: StrictInt = Field(20, ge=1, le=100)
    bleu4: Optional[Range] = None
    rouge_1: Optional[Range] = None
    rouge_2: Optional[Range] = None
    rouge_l: Optional[Range] = None
    judgeScore: Optional[Range] = None
    modelVersionIds: Optional[list[Id]] = None
    evalUnitId: Optional[Id] = None
    orderBy: Optional[Literal["bleu4", "rouge_1", "rouge_2", "rouge_l", "judgeScore"]] = None
    order: Optional[Literal["asc", "desc"]] = None


class BatchDelete(Wire):
    evalIds: list[Id] = Field(min_length=1, max_length=100)


class Empty(Wire):
    pass


# ---- answers (the OpenAPI document's success schemas; render.py builds them) ----------------------------------

T = TypeVar("T")


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class V2Answer(Answer, Generic[T]):
    """Every /v2/eval success: the result inside the request's id."""

    requestId: str
    result: T


class LegacyAnswer(Answer, Generic[T]):
    """Every legacy success: the result and the log id."""

    result: T
    log_id: str


class Nothing(Answer):
    """{}: the result of a v2 delete or stop."""


TaskState = Literal[TASK_LIFECYCLE.states]  # type: ignore[valid-type]


class TaskSummary(Answer):
    taskId: str
    taskName: str
    evalType: Literal["manual", "auto"]
    evalMode: str
    description: str
    createTime: str = Field(description="YYYY-MM-DD HH:MM:SS, Beijing time")


class PageInfo(Answer):
    marker: str
    maxKeys: int
    isTruncated: bool
    nextMarker: Optional[str] = Field(None, description="present only when isTruncated")


class TaskPage(Answer):
    evalTaskList: list[TaskSummary]
    pageInfo: PageInfo


class TaskDetail(TaskSummary):
    state: TaskState
    evalObjectType: Literal["model", "inferDataset"]
    evalObjectConfig: dict[str, Any]
    evalConfig: dict[str, Any]
    startTime: str = Field(description="\"\" until the task starts")
    finishTime: str = Field(description="\"\" until the task ends")


class ReportEntry(Answer):
    taskId: str
    taskName: str
    modelId: str
    inferDatasetId: str
    evalObjectType: Literal["model", "inferDataset"]
    evalMode: str
    effectMetric: dict[str, Any] = Field(description="{} until the automatic metrics exist")


class Created(Answer):
    evalId: int = Field(description="deprecated integer id")
    evalIdStr: str


class StopAnswer(Answer):
    result: bool
    errorMessage: str
