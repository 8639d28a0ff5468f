"""Lifecycle state machines declared as data.

A `Lifecycle` says, for one resource type: its states, which are terminal, which actions each state allows and
what they move to, and which states move on by themselves after a delay on the namespace clock. Resources carry
`status`, `status_since` and optional per-resource `durations`; `catch_up` replays the timed transitions up to
now, stamping each at the exact virtual time it happened (not the time it was observed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from emulator.core.errors import ApiError
from emulator.core.journal import note_state
from emulator.core.timeline import Timeline, due


class Stateful(Protocol):
    status: str
    status_since: float
    durations: dict[str, float | None]  # per-resource seconds in a timed state; None holds the state
    detours: dict[str, str]  # per-resource next state instead of the table's (checked with can_move)
    timeline: Timeline | None  # scripted steps (see core.timeline); while any are left, timed moves hold


@dataclass(slots=True, kw_only=True, eq=False)
class Lifecycled:
    """The fields a record with a lifecycle carries besides its `status` (whose name and default are its own)."""

    status_since: float = 0.0  # when it entered its status (virtual time)
    durations: dict[str, float | None] = field(default_factory=dict)  # per-resource seconds in timed states
    detours: dict[str, str] = field(default_factory=dict)  # per-resource next states instead of the table's
    timeline: Timeline | None = None  # a scenario's scripted steps (core.timeline)


OnEnter = Callable[[Stateful, str, float], None]
# Sets a timeline step's other wire fields (counts, error) on a resource, at the virtual time of the step.
ApplyFields = Callable[[Stateful, dict, float], None]


@dataclass(frozen=True)
class Lifecycle:
    name: str
    states: tuple[str, ...]
    terminal: frozenset[str]
    # action -> {from state: to state}
    actions: dict[str, dict[str, str]] = field(default_factory=dict)
    # state -> (next state, default seconds in state); a resource's durations[state] overrides, None holds it.
    timed: dict[str, tuple[str, float]] = field(default_factory=dict)
    # state -> states the vendor may also move it to for reasons not modelled (a failure); scenarios may use them.
    scripted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The wire fields besides status that a scenario timeline step may set, and how they are applied.
    step_fields: frozenset[str] = frozenset()
    apply_fields: ApplyFields | None = None
    id_field: str = "id"  # the record attribute holding the resource's id (the journal names polled resources)

    def __post_init__(self) -> None:
        known = set(self.states)
        for action, moves in self.actions.items():
            for src, dst in moves.items():
                if src not in known or dst not in known:
                    raise ValueError(f"{self.name}.{action}: {src}->{dst} uses an unknown state")
        for src, (dst, _) in self.timed.items():
            if src not in known or dst not in known:
                raise ValueError(f"{self.name}: timed {src}->{dst} uses an unknown state")
        for src, dsts in self.scripted.items():
            if src not in known or not set(dsts) <= known:
                raise ValueError(f"{self.name}: scripted {src}->{dsts} uses an unknown state")

    def allowed_from(self, action: str) -> tuple[str, ...]:
        return tuple(self.actions[action])

    def can(self, action: str, status: str) -> bool:
        return status in self.actions[action]

    def can_move(self, src: str, dst: str) -> bool:
        """Whether the vendor ever moves `src` to `dst`, by an action or by time."""
        if self.timed.get(src, (None,))[0] == dst or dst in self.scripted.get(src, ()):
            return True
        return any(moves.get(src) == dst for moves in self.actions.values())

    def moves_from(self, src: str) -> tuple[str, ...]:
        """Every state the vendor may move `src` to, in table order."""
        return tuple(dst for dst in self.states if dst != src and self.can_move(src, dst))

    def catch_up(self, resource: Stateful, now: float, on_enter: OnEnter | None = None, *,
                 polled: bool = False) -> None:
        """Replay what happened up to `now`: timeline steps first, else the timed moves.

        `polled` says this is a read of this very resource (a GET by id), which counts toward `after_polls`.
        """
        timeline = getattr(resource, "timeline", None)
        if timeline is not None:
            self._follow(resource, timeline, now, on_enter, polled)
        if timeline is None or resource.timeline is None:  # no steps left: the timed moves apply
            self._timed(resource, now, on_enter)
        if polled:  # the journal records which resource this read answered, and in what state
            note_state(getattr(resource, self.id_field, None), resource.status, resource.status in self.terminal,
                       counted_poll=timeline is not None)

    def _timed(self, resource: Stateful, now: float, on_enter: OnEnter | None) -> None:
        while True:
            step = self.timed.get(resource.status)
            if step is None:
                return
            target, default = step
            detour = resource.detours.get(resource.status)
            delay = resource.durations.get(resource.status, default)
            if delay is None:
                return
            at = resource.status_since + delay
            if at > now:
                return
            if detour is not None:  # a scripted step happens once; a retry then follows the table again
                del resource.detours[resource.status]
                target = detour
            resource.status, resource.status_since = target, at
            if on_enter is not None:
                on_enter(resource, target, at)

    def _follow(self, resource: Stateful, timeline: Timeline, now: float, on_enter: OnEnter | None,
                polled: bool) -> None:
        for step, when in due(timeline, now, polled):
            fields = dict(step.fields)
            target = fields.pop(timeline.status_field, None)
            if target is not None and target != resource.status:
                resource.status, resource.status_since = target, when
                if on_enter is not None:
                    on_enter(resource, target, when)
            if fields and self.apply_fields is not None:
                self.apply_fields(resource, fields, when)
        if timeline.finished:
            resource.timeline = None
            resource.status_since = timeline.last_at  # default progression resumes from the last step

    def require(self, resource: Stateful, action: str, *, what: str = "") -> str:
        """The state `action` moves the resource to, or the neutral conflict error naming the allowed states."""
        moves = self.actions[action]
        target = moves.get(resource.status)
        if target is None:
            raise ApiError(
                "conflict",
                f"cannot {action.replace('_', ' ')} {what or self.name} in status '{resource.status}'"
                f" (allowed from: {', '.join(moves)})",
                details={"status": resource.status, "action": action},
            )
        return target

    def act(self, resource: Stateful, action: str, now: float, on_enter: OnEnter | None = None, *, what: str = "") -> str:
        """Catch up on time, then apply `action` (or raise the conflict error, changing nothing)."""
        self.catch_up(resource, now, on_enter)
        target = self.require(resource, action, what=what)
        if getattr(resource, "timeline", None) is not None:
            resource.timeline = None  # the client has taken over from the script
        resource.status, resource.status_since = target, now
        if on_enter is not None:
            on_enter(resource, target, now)
        return target
