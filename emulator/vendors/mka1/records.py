"""What the MKA1 emulator stores, and the run lifecycle as one table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.core.lifecycle import Lifecycle, Lifecycled

def apply_run_fields(run: "Run", fields: dict[str, Any], at: float) -> None:
    """A scenario timeline step's `error` ({code, message}) on a run; counts follow from its samples."""
    if "error" in fields:
        run.error = fields["error"]
    run.cached = None


# The run lifecycle. Timed steps are the default progression on the namespace clock (a fresh run completes in
# about 45 s); `in_progress` lasts as long as its samples take (set per run). Scripted moves are the ones the
# vendor makes for reasons the emulator does not model (an infrastructure failure), allowed in scenarios.
RUN_LIFECYCLE = Lifecycle(
    name="eval run",
    states=("queued", "in_progress", "finalizing", "completed", "failed", "cancelling", "cancelled"),
    terminal=frozenset({"completed", "failed", "cancelled"}),
    actions={
        "cancel": {"queued": "cancelling", "in_progress": "cancelling"},
        "rerun_failed": {"completed": "queued"},
        "retry": {"failed": "queued", "cancelled": "queued"},
        "append_trials": {"in_progress": "in_progress"},
        "finalize": {"in_progress": "completed"},
    },
    timed={
        "queued": ("in_progress", 2.0),
        "in_progress": ("finalizing", 40.0),
        "finalizing": ("completed", 3.0),
        "cancelling": ("cancelled", 2.0),
    },
    scripted={"queued": ("failed",), "in_progress": ("failed",), "finalizing": ("failed",)},
    step_fields=frozenset({"error"}),
    apply_fields=apply_run_fields,
)

# Seconds the whole generation phase of a fresh run takes, spread over its samples.
GENERATION_SECONDS = 40.0
DEFAULT_SAMPLES_PER_TASK = 5
MAX_SAMPLES_PER_RUN = 10_000
# Share of samples that fail on their first attempt (at least one per run, so rerun-failed has work).
FAILURE_RATE = 0.1


@dataclass(slots=True)
class SuiteVersion:
    id: str
    suite_id: str
    version: int
    manifest: dict[str, Any]
    dataset_file_ids: list[str]
    metadata: dict[str, str]
    created_at: int


@dataclass(slots=True)
class Share:
    id: str
    suite_id: str
    org_id: str
    granted_by: str
    created_at: int


@dataclass(slots=True, eq=False)
class Suite:
    id: str
    name: str
    description: str | None
    org_id: str
    team_id: str
    owner: str
    metadata: dict[str, str]
    created_at: int
    updated_at: int
    active_version: int
    versions: list[SuiteVersion] = field(default_factory=list)
    shares: dict[str, Share] = field(default_factory=dict)

    @property
    def latest_version(self) -> int:
        return self.versions[-1].version

    def version(self, number: int) -> SuiteVersion | None:
        return self.versions[number - 1] if 1 <= number <= len(self.versions) else None


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What sample generation needs to know of one manifest task."""

    id: str
    type: str
    metric_ids: tuple[str, ...]
    choices: tuple[str, ...]
    audio_column: str | None


@dataclass(slots=True)
class Phase:
    """One pass of work over some samples: started when the run enters in_progress, cut if it is cancelled."""

    ordinals: tuple[int, ...] | range
    failing: frozenset[int]
    step: float
    start: float | None = None
    cut: float | None = None

    def position(self, ordinal: int) -> int | None:
        if isinstance(self.ordinals, range):
            return ordinal - self.ordinals.start if ordinal in self.ordinals else None
        try:
            return self.ordinals.index(ordinal)
        except ValueError:
            return None


@dataclass(slots=True, eq=False)
class Run(Lifecycled):
    id: str
    suite_id: str
    suite_version: int
    suite_version_id: str
    org_id: str
    team_id: str
    owner: str
    models: list[str]
    task_ids: list[str] | None
    tasks: tuple[TaskSpec, ...]
    per_task: int
    judge_model: str | None
    embedding_model: str | None
    generation: dict[str, Any]
    metadata: dict[str, str]
    created_at: float
    status: str = "queued"
    phases: list[Phase] = field(default_factory=list)
    started_at: float | None = None
    completed_at: float | None = None
    cancelled_at: float | None = None
    failed_at: float | None = None
    error: dict[str, Any] | None = None
    retried: int = 0
    schedule_id: str | None = None
    waits_for: str | None = None  # a schedule's buffered run starts when this run finishes
    # Agent (harness) runs carry their trials explicitly instead of generated samples.
    agent: dict[str, Any] | None = None
    trials: dict[tuple[str, str, int], dict[str, Any]] | None = None
    idempotency_key: str | None = None
    trajectories: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    measured: set[tuple[str, str, int]] = field(default_factory=set)
    artifact_file_ids: list[str] = field(default_factory=list)
    # Rendered bytes of the run (render.run_bytes); cleared by every change. `cached_at` is the virtual time they
    # hold for a run still moving, None for one at rest. Derived: snapshots and the saved state leave them out, and
    # the run is rendered again when next read.
    cached: bytes | None = field(default=None, metadata={"derived": True})
    cached_at: float | None = field(default=None, metadata={"derived": True})

    @property
    def total_samples(self) -> int:
        if self.trials is not None:
            return len(self.trials)
        return len(self.tasks) * len(self.models) * self.per_task

    def locate(self, ordinal: int) -> tuple[TaskSpec, str, int]:
        """(task, model, sample_index) of a generated sample's ordinal: tasks, then models, then index."""
        per_task_model = self.per_task
        task_no, rest = divmod(ordinal, len(self.models) * per_task_model)
        model_no, index = divmod(rest, per_task_model)
        return self.tasks[task_no], self.models[model_no], index

    def ordinal(self, task_id: str, model: str, index: int) -> int | None:
        for task_no, task in enumerate(self.tasks):
            if task.id == task_id and model in self.models and 0 <= index < self.per_task:
                return (task_no * len(self.models) + self.models.index(model)) * self.per_task + index
        return None


@dataclass(slots=True, eq=False)
class Schedule:
    id: str
    name: str
    description: str | None
    suite_id: str
    suite_version: int | None
    cron: str | None
    interval_seconds: int | None
    timezone: str
    overlap_policy: str
    enabled: bool
    webhook_url: str | None
    webhook_secret: str | None
    run: dict[str, Any]
    metadata: dict[str, str]
    created_at: float
    updated_at: float
    owner: str
    last_run_id: str | None = None
    last_run_at: float | None = None
    next_run_at: float | None = None
