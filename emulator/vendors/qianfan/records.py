"""What the Qianfan emulator stores: evaluation tasks and result-export tasks, with their lifecycles as tables.

One task record serves both API families: its status is the canonical (v2) state, and LEGACY_STATE maps it to
the legacy family's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.core.lifecycle import Lifecycle, Lifecycled

# Canonical task states are the v2 ones (Baidu's spelling, "Successed"). Timed steps are the default progression
# on the namespace clock: a purely automatic task is done about 80 s after it was created. A task with manual
# evaluation leaves the automatic part for RunningWithManualBegin (its per-task detour) and stays there: people
# score it, and the emulator has none. Only `stop` is an action; the service also refuses it for manual tasks.
TASK_LIFECYCLE = Lifecycle(
    name="eval task",
    states=("Queued", "Running", "RunningWithMetricsCalculating", "RunningWithManualBegin", "Successed",
            "Stopping", "Stopped", "Failed"),
    terminal=frozenset({"Successed", "Stopped", "Failed"}),
    actions={
        "stop": {"Queued": "Stopping", "Running": "Stopping", "RunningWithMetricsCalculating": "Stopping"},
    },
    timed={
        "Queued": ("Running", 5.0),
        "Running": ("RunningWithMetricsCalculating", 60.0),
        "RunningWithMetricsCalculating": ("Successed", 15.0),
        "Stopping": ("Stopped", 3.0),
    },
    # Moves the vendor makes for reasons the emulator does not model (scenarios use them), and the manual detour.
    scripted={
        "Queued": ("Failed",),
        "Running": ("Failed", "RunningWithManualBegin"),
        "RunningWithMetricsCalculating": ("Failed", "RunningWithManualBegin"),
    },
)

# States in which the automatic metrics exist (reports and result lists are filled).
SCORED_STATES = frozenset({"RunningWithManualBegin", "Successed"})

# The legacy family's name of each canonical state. The legacy docs also list DoingWithMetricsCalculating and
# Fail, but the SDK's EvaluationTaskStatus enum cannot parse them (EvaluationManager would raise), so the legacy
# view keeps to the values the SDK knows: metrics calculation shows as Doing, failure as Failed.
LEGACY_STATE = {
    "Queued": "Pending",
    "Running": "Doing",
    "RunningWithMetricsCalculating": "Doing",
    "RunningWithManualBegin": "DoingWithManualBegin",
    "Successed": "Done",
    "Stopping": "Stopping",
    "Stopped": "Stopped",
    "Failed": "Failed",
}

EXPORT_LIFECYCLE = Lifecycle(
    name="eval result export",
    states=("Pending", "Uploading", "Done", "Fail"),
    terminal=frozenset({"Done", "Fail"}),
    timed={"Pending": ("Uploading", 2.0), "Uploading": ("Done", 5.0)},
    scripted={"Pending": ("Fail",), "Uploading": ("Fail",)},
)

EVAL_MODES = ("rule", "model", "manual")


@dataclass(slots=True)
class EvalUnit:
    """One evaluated object of a task: a model version, or an inference-result dataset."""

    model_id: str  # "am-..." (empty for inferDataset units)
    model_version_id: str  # "amv-..." (empty for inferDataset units)
    model_int_id: int
    model_version_int_id: int
    model_name: str
    model_version: str
    infer_dataset_id: str = ""
    infer_dataset_name: str = ""
    baseline: bool = False
    config: dict[str, Any] = field(default_factory=dict)  # the unit's request object, echoed back


@dataclass(slots=True, eq=False)
class EvalTask(Lifecycled):
    id: str  # "ame-..."
    int_id: int  # the deprecated integer id
    name: str
    description: str
    eval_modes: list[str]  # in the order the client gave them
    eval_object_type: str  # "model" | "inferDataset"
    units: list[EvalUnit]
    dataset_id: str  # dataset version "ds-..." (model tasks)
    dataset_int_id: int
    dataset_name: str
    eval_object_config: dict[str, Any]  # v2 shape (built from the legacy request when created there)
    eval_config: dict[str, Any]  # v2 shape: evalMode + sub-configs
    result_dataset_id: str
    result_dataset_int_id: int
    created_at: float
    samples_per_unit: int
    status: str = "Queued"
    started_at: float | None = None
    finished_at: float | None = None
    stop_requested_at: float | None = None

    @property
    def eval_mode(self) -> str:
        return ",".join(self.eval_modes)

    @property
    def eval_type(self) -> str:
        return "manual" if "manual" in self.eval_modes else "auto"


@dataclass(slots=True, eq=False)
class ExportTask(Lifecycled):
    id: str  # "amemt-..."
    int_id: int
    task_id: str
    export_type: str  # "local" | "storage"
    export_opt: str  # "total" | "part"
    export_content: list[str]
    volume_id: str
    result_ids: list[str]
    created_at: float
    status: str = "Pending"
