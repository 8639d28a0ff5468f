"""Per-resource timelines scripted by scenarios: "stay queued for three polls, then fail at 90 s".

A timeline is a list of steps, each with one trigger and the wire fields it sets:

    timeline:
      - after_polls: 3        # three reads of this resource since the previous step (or since it was loaded)
        status: in_progress
      - at: 90s               # virtual time since the resource was created or loaded
        status: failed
        error: {code: internal_error, message: worker lost}

While a resource has steps left, its lifecycle's timed moves are held: the timeline alone moves it. Once the
last step has happened, the resource follows the vendor's default progression again from there. Statuses are
checked against the lifecycle when the scenario loads: each step may only make a move the vendor makes (by time,
an action, or a scripted failure), or keep the status and set other fields. An action a client takes (a cancel)
ends the timeline: the client has taken over.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Optional, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from emulator.core.durations import Duration, seconds


class TimelineError(ValueError):
    """A step the vendor's lifecycle forbids; `step` is its index in the timeline."""

    def __init__(self, step: int, message: str):
        super().__init__(message)
        self.step = step


class Moves(Protocol):
    """What a timeline is checked against: a lifecycle's states and moves (core.lifecycle.Lifecycle is one)."""

    name: str
    states: tuple[str, ...]
    step_fields: frozenset[str]

    def can_move(self, src: str, dst: str) -> bool: ...

    def moves_from(self, src: str) -> tuple[str, ...]: ...


class StepSpec(BaseModel):
    """One scenario step: a trigger (`at` or `after_polls`) plus the wire fields it sets."""

    model_config = ConfigDict(extra="allow")
    at: Optional[Duration] = Field(None, description="virtual seconds since the resource was created or loaded "
                                                  "(a number or a string like 90s, 2m, 1h)")
    after_polls: Optional[int] = Field(None, ge=0, description="reads of this resource since the previous step")

    @field_validator("at", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else seconds(value)

    @model_validator(mode="after")
    def _one_trigger(self) -> "StepSpec":
        if (self.at is None) == (self.after_polls is None):
            raise ValueError("a timeline step has exactly one trigger: `at` or `after_polls`")
        if not self.model_extra:
            raise ValueError("a timeline step sets at least one field (status, counts, error...)")
        return self


@dataclass
class Step:
    at: float | None
    after_polls: int | None
    fields: dict[str, Any]


@dataclass
class Timeline:
    """A resource's remaining steps and how far it has got (plain data, so snapshots keep it)."""

    steps: list[Step]
    origin: float  # when the resource was created or loaded: `at` counts from here
    done: int = 0  # steps already applied
    polls: int = 0  # reads since the previous step
    last_at: float = 0.0  # when the previous step happened
    status_field: str = "status"  # the step field that names the status (a vendor may call it `state`)

    @property
    def finished(self) -> bool:
        return self.done >= len(self.steps)


def build(specs: list[StepSpec], lifecycle: Moves, initial_status: str, origin: float,
          status_field: str = "status") -> Timeline:
    """Check the steps against the lifecycle and the fields the vendor lets a step set; ValueError says which."""
    allowed_fields = lifecycle.step_fields | {status_field}
    status = initial_status
    previous_at = 0.0
    steps = []
    for number, spec in enumerate(specs):
        fields = dict(spec.model_extra or {})
        unknown = sorted(set(fields) - allowed_fields)
        if unknown:
            raise TimelineError(number, f"a {lifecycle.name} step cannot set {', '.join(unknown)};"
                             f" it can set {', '.join(sorted(allowed_fields))}")
        target = fields.get(status_field)
        if target is not None:
            if target not in lifecycle.states:
                close = difflib.get_close_matches(str(target), lifecycle.states, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise TimelineError(number, f"{status_field} {target!r} is not one of {', '.join(lifecycle.states)}"
                                            f"{hint}")
            if target != status and not lifecycle.can_move(status, target):
                nexts = lifecycle.moves_from(status)
                raise TimelineError(number, f"{lifecycle.name} cannot move from {status!r} to {target!r};"
                                 f" from {status!r} it moves to {', '.join(nexts) or 'nothing (terminal)'}")
            status = target
        if spec.at is not None:
            if spec.at < previous_at:
                raise TimelineError(number, f"at {spec.at:g}s comes before the previous step ({previous_at:g}s)")
            previous_at = spec.at
        steps.append(Step(at=spec.at, after_polls=spec.after_polls, fields=fields))
    return Timeline(steps=steps, origin=origin, last_at=origin, status_field=status_field)


def due(timeline: Timeline, now: float, polled: bool) -> list[tuple[Step, float]]:
    """Steps that have happened by `now` (with the virtual time each happened), advancing the timeline.

    A read (`polled`) first sees the steps its predecessors made due, then counts toward the next one.
    """
    happened = []
    while not timeline.finished:
        step = timeline.steps[timeline.done]
        if step.at is not None:
            when = timeline.origin + step.at
            if when > now:
                break
            when = max(when, timeline.last_at)  # due while an earlier step waited for polls: right after it
        elif timeline.polls >= (step.after_polls or 0):
            when = now if step.after_polls else timeline.last_at  # `after_polls: 0` follows the previous step
        else:
            break
        happened.append((step, when))
        timeline.done += 1
        timeline.polls = 0
        timeline.last_at = when
    if polled and not timeline.finished:
        timeline.polls += 1
    return happened
