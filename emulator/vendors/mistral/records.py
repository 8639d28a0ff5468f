"""What the Mistral observability emulator stores, and the campaign and import-task lifecycles as tables.

Records are plain dataclasses of JSON-compatible values (namespace snapshots export them generically); times are
epoch seconds on the namespace clock, rendered as ISO-8601 by render.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.core.lifecycle import Lifecycle, Lifecycled

# Campaigns and import tasks report Temporal-style workflow states (the SDK's status enum). A campaign judges
# its selected events for CAMPAIGN_BASE_SECONDS + CAMPAIGN_SECONDS_PER_EVENT each; an import task imports for
# IMPORT_BASE_SECONDS + IMPORT_SECONDS_PER_ITEM each. FAILED/TIMED_OUT are the vendor's own failures, which only
# scenarios script. `export` is what importing a campaign's results into a dataset needs: a finished campaign.
WORKFLOW_STATES = ("RUNNING", "COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW", "TIMED_OUT",
                   "UNKNOWN")
CAMPAIGN_BASE_SECONDS = 2.0
CAMPAIGN_SECONDS_PER_EVENT = 0.5
IMPORT_BASE_SECONDS = 1.0
IMPORT_SECONDS_PER_ITEM = 0.2

CAMPAIGN_LIFECYCLE = Lifecycle(
    name="campaign",
    states=WORKFLOW_STATES,
    terminal=frozenset({"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}),
    actions={"export": {"COMPLETED": "COMPLETED"}},
    timed={"RUNNING": ("COMPLETED", CAMPAIGN_BASE_SECONDS)},
    scripted={"RUNNING": ("FAILED", "TIMED_OUT", "TERMINATED")},
)

IMPORT_LIFECYCLE = Lifecycle(
    name="dataset import task",
    states=WORKFLOW_STATES,
    terminal=frozenset({"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}),
    timed={"RUNNING": ("COMPLETED", IMPORT_BASE_SECONDS)},
    scripted={"RUNNING": ("FAILED", "TIMED_OUT")},
)


@dataclass(slots=True, eq=False)
class Event:
    """A chat completion event: what the API returns, plus the attributes its `extra_fields` expose."""

    event_id: str
    correlation_id: str
    created_at: float
    nb_input_tokens: int
    nb_output_tokens: int
    enabled_tools: list[dict[str, Any]]
    request_messages: list[dict[str, Any]]
    response_messages: list[dict[str, Any]]
    chat_transcription_events: list[dict[str, Any]]
    # extra_fields: model, temperature, latency_ms, finish_reason, streamed, user_id, tags, metadata
    extra: dict[str, Any]


@dataclass(slots=True, eq=False)
class Judge:
    id: str
    created_at: float
    updated_at: float
    owner_id: str
    workspace_id: str
    name: str
    description: str
    model_name: str
    output: dict[str, Any]
    instructions: str
    tools: list[str]
    deleted_at: float | None = None


@dataclass(slots=True, eq=False)
class Campaign(Lifecycled):
    id: str
    created_at: float
    updated_at: float
    owner_id: str
    workspace_id: str
    name: str
    description: str
    max_nb_events: int
    search_params: dict[str, Any]
    judge_id: str
    selected_event_ids: list[str]
    status: str = "RUNNING"
    deleted_at: float | None = None


@dataclass(slots=True, eq=False)
class Dataset:
    id: str
    created_at: float
    updated_at: float
    owner_id: str
    workspace_id: str
    name: str
    description: str
    deleted_at: float | None = None


@dataclass(slots=True, eq=False)
class DatasetRecord:
    id: str
    created_at: float
    updated_at: float
    dataset_id: str
    payload: dict[str, Any]
    properties: dict[str, Any]
    source: str
    deleted_at: float | None = None


@dataclass(slots=True, eq=False)
class ImportTask(Lifecycled):
    """An import into a dataset: the records it will add are fixed when it starts and appear when it completes."""

    id: str
    created_at: float
    creator_id: str
    dataset_id: str
    workspace_id: str
    kind: str  # from-campaign, from-explorer, from-file, from-playground, from-dataset
    pending: list[dict[str, Any]]  # {"payload", "properties", "source"} of each record to add
    status: str = "RUNNING"
    updated_at: float = 0.0
    message: str | None = None
    imported: int = 0
    deleted_at: float | None = None


@dataclass(slots=True, eq=False)
class Export:
    """A JSONL export of a dataset, frozen when it was asked for and served at its file_url."""

    id: str
    dataset_id: str
    created_at: float
    content: str
