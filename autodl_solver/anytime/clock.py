"""Wall-clock budget arithmetic (in the style of kakaobrain/autoclint).

The AutoDL protocol measures wall time from the moment the model is built
(docs/protocol.md §1.2), so the clock reads :func:`time.time`, the
same clock as the official ingestion program, and every decision asks
whether the *next* piece of work still fits before taking it.
"""
from __future__ import annotations

import math
import time
from typing import Optional

from ..errors import AutoDLInputError

__all__ = ["Clock", "check_budget"]


def check_budget(time_budget: float, where: str = "time_budget") -> float:
    """Return ``time_budget`` as a float, or raise if it is not a positive finite number."""
    try:
        value = float(time_budget)
    except (TypeError, ValueError):
        raise AutoDLInputError(where, f"expected a number of seconds, got {time_budget!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise AutoDLInputError(where, f"expected a positive finite number of seconds, got {time_budget!r}")
    return value


class Clock:
    """A time budget that started at ``start`` (epoch seconds).

    Parameters
    ----------
    time_budget : float
        Seconds available from ``start``; must be positive and finite.
    start : float, optional
        Epoch seconds at which the budget started (default: now). The
        challenge face passes the moment the model was built.

    Attributes
    ----------
    start, time_budget, deadline : float
        ``deadline == start + time_budget``.
    """

    def __init__(self, time_budget: float, start: Optional[float] = None) -> None:
        self.time_budget = check_budget(time_budget)
        self.start = time.time() if start is None else float(start)
        self.deadline = self.start + self.time_budget

    @staticmethod
    def now() -> float:
        """Current epoch seconds (the clock every method reads)."""
        return time.time()

    def elapsed(self) -> float:
        """Seconds since :attr:`start`."""
        return self.now() - self.start

    def remaining(self) -> float:
        """Seconds left before :attr:`deadline` (negative once it passed)."""
        return self.deadline - self.now()

    def fits(self, cost_s: float, margin_s: float = 0.0) -> bool:
        """Whether work of ``cost_s`` seconds, plus ``margin_s``, ends before the deadline."""
        return float(cost_s) + float(margin_s) <= self.remaining()

    def __repr__(self) -> str:
        return f"Clock(time_budget={self.time_budget:g}, elapsed={self.elapsed():.2f})"
