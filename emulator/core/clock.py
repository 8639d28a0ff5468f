"""Virtual clock, one per namespace.

`realtime` mode moves with the wall clock from the moment the namespace was created; `manual` mode holds still.
`advance` and `set` work in both modes. This module is the only place that reads the host's time, so that
everything else is reproducible under a manual clock.
"""

from __future__ import annotations

import time
from typing import Callable

MODES = ("realtime", "manual")
# Where a manual clock starts when no scenario says otherwise: 2026-01-01T00:00:00Z.
DEFAULT_MANUAL_START = 1767225600.0
# The latest virtual time: 9000-01-01T00:00:00Z, well inside what datetime and cron arithmetic can represent.
LATEST = 221845392000.0


class Clock:
    def __init__(
        self,
        mode: str = "realtime",
        start: float | None = None,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if mode not in MODES:
            raise ValueError(f"clock mode must be one of {MODES}, not {mode!r}")
        self._monotonic = monotonic
        self.mode = mode
        if start is None:
            start = wall() if mode == "realtime" else DEFAULT_MANUAL_START
        self._base = float(start)  # virtual time at `_anchor`
        self._anchor = monotonic()

    def now(self) -> float:
        if self.mode == "manual":
            return self._base
        return self._base + (self._monotonic() - self._anchor)

    def _rebase(self) -> None:
        self._base, self._anchor = self.now(), self._monotonic()

    def advance(self, seconds: float) -> float:
        return self.set(self.now() + seconds) if seconds >= 0 else self.set(-1.0)

    def set(self, when: float) -> float:
        """Move to `when`; refused (and nothing changes) if that is in the past or beyond LATEST."""
        self._rebase()
        if not self._base <= when <= LATEST:
            raise ValueError("the clock only moves forward" if when < self._base
                             else "the clock cannot go past the year 9000")
        self._base = float(when)
        return self._base

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"clock mode must be one of {MODES}, not {mode!r}")
        self._rebase()
        self.mode = mode

    def position(self) -> tuple[str, float, float]:
        """What changes only when the clock is moved or switched, not as time passes (to notice a move)."""
        return self.mode, self._base, self._anchor

    def saved(self) -> dict[str, object]:
        """The clock as the saved state keeps it: its mode, its time, and the host's time then."""
        return {"mode": self.mode, "now": self.now(), "wall": time.time()}

    @classmethod
    def from_saved(cls, saved: dict) -> "Clock":
        """A saved clock carrying on: a manual one from exactly where it was, a realtime one from there plus the
        time the server was stopped (it follows the wall clock, as it did before the stop)."""
        now = float(saved["now"])
        if saved["mode"] == "realtime":
            now += max(0.0, time.time() - float(saved["wall"]))
        return cls(str(saved["mode"]), min(now, LATEST))


def wall_now() -> float:
    """The host's wall-clock time, for checks against a client's own clock (a signature's timestamp); never for
    anything a response reports, which comes from the namespace clock."""
    return time.time()
