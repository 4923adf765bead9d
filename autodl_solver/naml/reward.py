"""The reward a T-NAML child earns: the paper's validation accuracy, or accuracy with its cost folded in.

Two kinds (:data:`REWARDS`), chosen by :class:`Reward` (``kind``):

* ``"accuracy"`` (the default, the paper's reward): the child's validation
  accuracy. Blind to cost: on this CPU the transferred controller learnt to
  prefer frozen MiniLM features, which are accurate but take tens of seconds
  per task on one core, and the solver lost ALC when it followed that choice
  (``README.md``, T-NAML section).
* ``"cost_aware"``: ``valid_accuracy * (1 - t~(c))`` with the challenge's
  log time axis ``t~(c) = log(1 + c/60) / log(1 + T/60)``
  (:func:`autodl_solver.anytime.scheduler.log_time`: the scoring axis clipped to [0, 1]), ``T``
  the task's time budget (:attr:`Reward.time_budget`, default 60 s, or a
  per-task value in :attr:`Reward.budgets`) and ``c`` the child's measured
  cost in seconds.

Why this form: the ALC is the area under the best-so-far score on the
``t~`` axis, so a model that reaches score ``s`` at time ``c`` and is the
only one contributes exactly ``s * (1 - t~(c))``. The reward is therefore
the ALC a learner with this configuration would earn alone on this
device, with accuracy standing in for the hold-out NAUC (which the child
does not compute). A configuration is rewarded for being good *and* fast;
a child that needs ``T`` seconds or more earns 0, as a prediction after the
budget earns nothing. The log axis makes the first seconds the most
expensive ones: going from 1 s to 10 s costs more reward than going from
20 s to 30 s, which is what the any-time protocol pays for.

What ``c`` counts: the child's own training and evaluation seconds
(``seconds`` from :func:`~autodl_solver.naml.child.train_child`) **plus**
the share of its embedding module's feature extraction that the child's
rows needed (``feature_seconds``). The child trains on cached features, so
its own seconds are about one second whatever the module; without the
feature share a MiniLM child would look as cheap as a hashed bag of words,
while the solver's frozen-MiniLM learner must embed every row it reads. A
task cache built before the feature costs were recorded gives
``feature_seconds = None``, counted as 0 (the reward then sees the
training cost only; :func:`cost_seconds` says so through ``known``).

Per-task advantage normalisation
(:class:`~autodl_solver.naml.controller.TaskNormalizer`) is unchanged: the
cost-aware rewards of one task share one ``T``, their moving mean and
spread are kept per task, so tasks whose rewards sit on different scales
(a short ``T`` scales every reward of that task down) still weigh alike in
the controller's updates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ..errors import AutoDLInputError
from ..anytime.scheduler import log_time
from ..metrics import DEFAULT_T0

#: The reward kinds :class:`Reward` knows.
REWARDS = ("accuracy", "cost_aware")


def cost_seconds(result: Mapping[str, Any]) -> tuple[float, bool]:
    """``(seconds, known)``: a child's training seconds plus its feature share, and whether that share is known.

    Parameters
    ----------
    result : mapping
        A trial result (:func:`~autodl_solver.naml.child.train_child`):
        ``seconds`` and ``feature_seconds`` (``None`` or absent when the
        task cache has no feature costs).
    """
    seconds = float(result.get("seconds") or 0.0)
    feature = result.get("feature_seconds")
    known = feature is not None
    return max(seconds, 0.0) + (max(float(feature), 0.0) if known else 0.0), known


@dataclass(frozen=True)
class Reward:
    """How a finished child is scored (see the module docstring).

    Attributes
    ----------
    kind : {"accuracy", "cost_aware"}
        The reward.
    time_budget : float
        ``T`` of the log time axis in seconds (``cost_aware``), for tasks
        not in ``budgets``.
    t0 : float
        The axis constant (the challenge's 60 s).
    budgets : mapping of str to float
        Per-task ``T`` overrides.
    """

    kind: str = "accuracy"
    time_budget: float = 60.0
    t0: float = DEFAULT_T0
    budgets: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in REWARDS:
            raise AutoDLInputError("reward", f"got {self.kind!r}, expected one of {REWARDS}")
        for where, value in [("time_budget", self.time_budget), ("t0", self.t0),
                             *((f"budgets.{k}", v) for k, v in self.budgets.items())]:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise AutoDLInputError(f"reward {where}", f"got {value!r}, expected a positive number of seconds")

    def budget(self, task: str) -> float:
        """``T`` of ``task``."""
        return float(self.budgets.get(task, self.time_budget))

    def __call__(self, task: str, result: Mapping[str, Any]) -> float:
        """The reward of ``result`` (a child's trial result) on ``task``; NaN when its accuracy is NaN."""
        accuracy = float(result.get("valid_accuracy", 0.0))
        if self.kind == "accuracy" or accuracy != accuracy:
            return accuracy
        cost, _ = cost_seconds(result)
        return accuracy * (1.0 - log_time(cost, self.budget(task), self.t0))

    def to_dict(self) -> dict[str, Any]:
        """The settings, for result files and prior files."""
        return {"kind": self.kind, "time_budget": float(self.time_budget), "t0": float(self.t0),
                "budgets": {k: float(v) for k, v in self.budgets.items()}}


def make_reward(reward: Optional[Any] = None, time_budget: float = 60.0) -> Reward:
    """A :class:`Reward` from ``None`` (accuracy), a kind name, a mapping of its fields, or a Reward."""
    if reward is None:
        return Reward()
    if isinstance(reward, Reward):
        return reward
    if isinstance(reward, str):
        return Reward(kind=reward, time_budget=time_budget)
    if isinstance(reward, Mapping):
        unknown = sorted(set(reward) - {"kind", "time_budget", "t0", "budgets"})
        if unknown:
            raise AutoDLInputError("reward", f"unknown keys {unknown}; expected kind, time_budget, t0, budgets")
        return Reward(**dict(reward))
    raise AutoDLInputError("reward", f"got {reward!r}, expected one of {REWARDS} or a Reward")
