"""Strict checks of Qianfan responses against the vendor's documented shapes (spec + seed pages).

The SDK does not model console responses at all (it hands back the JSON), so these pydantic models are the
schema: strict types, no unknown keys, enums from the vendor's docs and from the SDK's own enums (the legacy
task and export states must parse in EvaluationTaskStatus / EvaluationResultExportTaskStatus).
"""

from __future__ import annotations

import ast
import re
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator
from qianfan.resources.console.consts import EvaluationResultExportTaskStatus, EvaluationTaskStatus

V2_STATES = ("Queued", "Running", "RunningWithManualBegin", "RunningWithMetricsCalculating", "Successed",
             "Stopping", "Failed", "Stopped")
LEGACY_STATES = tuple(s.value for s in EvaluationTaskStatus)
EXPORT_STATES = tuple(s.value for s in EvaluationResultExportTaskStatus)
TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
Number = Union[StrictInt, StrictFloat]


class S(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


# ---- v2 -------------------------------------------------------------------------------------------------------


class V2Ok(S):
    requestId: StrictStr = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    result: Any


class V2Error(S):
    requestId: StrictStr
    code: StrictStr = Field(pattern=r"^[A-Z][A-Za-z]+$")
    message: StrictStr = Field(min_length=5)


class TaskSummary(S):
    taskId: StrictStr = Field(pattern=r"^ame-[a-z0-9]{12}$")
    taskName: StrictStr
    evalType: Literal["manual", "auto"]
    evalMode: StrictStr = Field(pattern=r"^(rule|model|manual)(,(rule|model|manual))*$")
    description: StrictStr
    createTime: StrictStr = Field(pattern=TIME)


class PageInfo(S):
    marker: StrictStr
    maxKeys: StrictInt = Field(ge=1, le=100)
    isTruncated: StrictBool
    nextMarker: Optional[StrictStr] = None

    @model_validator(mode="before")
    @classmethod
    def _next_only_when_truncated(cls, raw: Any) -> Any:
        assert ("nextMarker" in raw) == raw.get("isTruncated"), f"nextMarker only when truncated: {raw}"
        return raw


class TaskPage(S):
    evalTaskList: list[TaskSummary]
    pageInfo: PageInfo


class TaskDetail(TaskSummary):
    state: Literal[V2_STATES]  # type: ignore[valid-type]
    evalObjectType: Literal["model", "inferDataset"]
    evalObjectConfig: dict[str, Any]
    evalConfig: dict[str, Any]
    startTime: StrictStr = Field(pattern=r"^$|" + TIME)
    finishTime: StrictStr = Field(pattern=r"^$|" + TIME)


class EffectMetric(S):
    accuracy: Optional[Number] = None
    f1Score: Optional[Number] = None
    rouge_1: Optional[Number] = None
    rouge_2: Optional[Number] = None
    rouge_l: Optional[Number] = None
    bleu4: Optional[Number] = None
    avgJudgeScore: Optional[Number] = None
    stdJudgeScore: Optional[Number] = None
    medianJudgeScore: Optional[Number] = None
    scoreDistribution: Optional[dict[StrictStr, StrictInt]] = None


class ReportItem(S):
    taskId: StrictStr
    taskName: StrictStr
    modelId: StrictStr
    inferDatasetId: StrictStr
    evalObjectType: Literal["model", "inferDataset"]
    evalMode: StrictStr
    effectMetric: EffectMetric


V2_RESULTS: dict[str, Any] = {
    "CreateEvalTask": StrictStr,
    "DescribeEvalTasks": TaskPage,
    "DescribeEvalTask": TaskDetail,
    "DescribeEvalTaskReport": list[ReportItem],
    "DeleteEvalTask": dict,
    "StopEvalTask": dict,
}

# ---- legacy ---------------------------------------------------------------------------------------------------


class LegacyOk(S):
    result: Any
    log_id: StrictStr = Field(pattern=r"^\d+$")


class LegacyError(S):
    error_code: StrictInt
    error_msg: StrictStr = Field(min_length=5)
    log_id: StrictStr


class Created(S):
    evalId: StrictInt
    evalIdStr: StrictStr = Field(pattern=r"^ame-[a-z0-9]{12}$")


class EvalUnit(S):
    evalUnitId: StrictInt
    modelName: StrictStr
    modelId: StrictInt
    modelIdStr: StrictStr
    modelVersionId: StrictInt
    modelVersionIdStr: StrictStr
    version: StrictStr
    inferDatasetId: StrictStr
    inferDatasetName: StrictStr
    state: Literal[LEGACY_STATES]  # type: ignore[valid-type]
    message: StrictStr


class Prompt(Open):
    templateName: StrictStr
    templateContent: StrictStr


class StandardConf(S):
    evalMode: StrictStr
    scoreModes: list[StrictStr]
    stopWordsPath: StrictStr
    appId: Union[StrictInt, StrictStr]
    apiName: StrictStr
    prompt: Prompt
    evaluationDimension: list[dict[str, Any]]
    resultDatasetId: StrictInt
    resultDatasetIdStr: StrictStr


class ComputeResource(S):
    vmType: StrictInt
    vmNumber: StrictInt
    computeResourceId: StrictStr
    cpu: StrictInt
    memory: StrictInt


class Detail(S):
    evaluationId: StrictInt
    evaluationIdStr: StrictStr
    name: StrictStr
    description: StrictStr
    state: Literal[LEGACY_STATES]  # type: ignore[valid-type]
    createTime: StrictStr = Field(pattern=TIME)
    evalUnits: list[EvalUnit]
    datasetName: StrictStr
    datasetId: StrictInt
    datasetIdStr: StrictStr
    evalStandardConf: StandardConf
    computeResourceConf: ComputeResource


class LegacyReportItem(S):
    evaluationId: StrictInt
    evaluationIdStr: StrictStr
    evaluationName: StrictStr
    modelId: StrictInt
    modelIdStr: StrictStr
    modelVersionId: StrictInt
    modelVersionIdStr: StrictStr
    modelName: StrictStr
    modelVersion: StrictStr
    modelVersionSource: StrictStr
    evalMode: StrictStr
    effectMetric: EffectMetric
    modelForm: Literal["model", "inferDataset"]
    evalUnitId: StrictInt
    inferDatasetId: StrictStr
    inferDatasetName: StrictStr


class StopAnswer(S):
    result: StrictBool
    errorMessage: StrictStr


class ExportCreated(S):
    exportID: StrictInt
    exportIDStr: StrictStr = Field(pattern=r"^amemt-[a-z0-9]{12}$")


class ExportInfo(S):
    id: StrictInt
    exportID: StrictInt
    exportIDStr: StrictStr
    state: Literal[EXPORT_STATES]  # type: ignore[valid-type]
    exportType: Literal["local", "storage"]
    volumeId: StrictStr
    exportPath: StrictStr
    downloadUrl: StrictStr


class ResultMetrics(S):
    bleu4: Optional[Number] = None
    rouge_1: Optional[Number] = None
    rouge_2: Optional[Number] = None
    rouge_l: Optional[Number] = None
    judgeScore: Optional[StrictInt] = None


class ResultItem(S):
    resultId: StrictStr = Field(pattern=r"^amer-[0-9a-f]{12}$")
    evalUnitId: StrictInt
    modelVersionId: StrictInt
    modelVersionIdStr: StrictStr
    inferDatasetId: StrictStr
    prompt: StrictStr
    completion: StrictStr
    prediction: StrictStr
    metrics: ResultMetrics


class ResultPage(S):
    pageNo: StrictInt
    pageSize: StrictInt
    totalCount: StrictInt
    items: list[ResultItem]


class ModelVersion(S):
    modelVersionId: StrictInt
    modelVersionIdStr: StrictStr = Field(pattern=r"^amv-")
    version: StrictStr
    sourceType: StrictStr
    framework: StrictStr
    algorithm: StrictStr
    modelNet: StrictStr
    trainType: StrictStr
    description: StrictStr


class EvaluableModel(S):
    modelId: StrictInt
    modelIdStr: StrictStr = Field(pattern=r"^am-")
    modelName: StrictStr
    source: StrictStr
    modelType: StrictInt
    trainType: StrictStr
    modelVersionList: list[ModelVersion]


LEGACY_RESULTS: dict[str, Any] = {
    "create": Created,
    "detail": Detail,
    "report": list[LegacyReportItem],
    "cancel": StopAnswer,
    "result/export": ExportCreated,
    "result/export/info": ExportInfo,
    "result/list": ResultPage,
    "delete": dict,
    "model/list": list[EvaluableModel],
}


def _validate(shape: Any, value: Any) -> None:
    from pydantic import TypeAdapter

    TypeAdapter(shape).validate_python(value, strict=True)


def check_v2(action: str, body: Any) -> Any:
    V2Ok.model_validate(body)
    _validate(V2_RESULTS[action], body["result"])
    if action in ("DeleteEvalTask", "StopEvalTask"):
        assert body["result"] == {}
    return body["result"]


def check_legacy(route: str, body: Any) -> Any:
    LegacyOk.model_validate(body)
    _validate(LEGACY_RESULTS[route], body["result"])
    if route == "delete":
        assert body["result"] == {}
    return body["result"]


def response_body(error: Exception) -> dict[str, Any]:
    """The response body the SDK's RequestError embeds in its message (it keeps no field for it)."""
    text = str(error).split("response body: ", 1)[1].split("\n可能的原因", 1)[0]
    import json

    return json.loads(ast.literal_eval(text))


def check_v2_error(error: Exception, status: int, code: str, match: str = "") -> dict[str, Any]:
    assert getattr(error, "status_code", None) == status, error
    body = response_body(error)
    V2Error.model_validate(body)
    assert body["code"] == code, body
    assert re.search(match, body["message"], re.IGNORECASE), body["message"]
    return body
