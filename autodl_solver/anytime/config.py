"""Every number of the any-time engine that a user may want to change.

:class:`EngineConfig` is the single source of truth; YAML files override it
with :meth:`EngineConfig.from_yaml` (a mapping of field names, optionally
nested under an ``engine:`` key) and code with :meth:`EngineConfig.update`.
Both validate every value and raise
:class:`~autodl_solver.errors.AutoDLInputError` naming the field.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ..errors import AutoDLInputError

__all__ = ["EngineConfig", "BLEND_MODES"]

#: How the ensemble combines its members' scores (see ``anytime/ensemble.py``).
BLEND_MODES = ("rank", "mean")


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass
class EngineConfig:
    """Settings of the any-time engine (defaults follow the AutoDL winners).

    Prefer :meth:`update` to setting attributes: it returns a validated copy.

    Every field carries a one-line description in its ``metadata["doc"]``
    (``EngineConfig.describe()`` lists them).
    """

    # ----------------------------------------------------------- hold-out
    holdout: bool = field(default=True, metadata=_doc(
        "Carve a validation hold-out from the training set (off: score on the training rows read)."))
    holdout_max: int = field(default=500, metadata=_doc(
        "Largest hold-out, in examples (winners used 256-500)."))
    holdout_fraction: float = field(default=0.1, metadata=_doc(
        "Hold-out size as a fraction of the training set, before the min/max clamps."))
    min_holdout: int = field(default=10, metadata=_doc(
        "Smallest hold-out worth carving, in examples."))
    holdout_per_class: int = field(default=4, metadata=_doc(
        "Hold-out examples per class the hold-out should hold at least (before the max clamp; not applied "
        "when it would take more than a fifth of the set): a hold-out of 2 clips per class cannot rank learners."))
    holdout_min_examples: int = field(default=20, metadata=_doc(
        "Training sets with fewer examples get no hold-out (validation falls back to the training rows)."))
    # ------------------------------------------------------ progressive rows
    first_rows: int = field(default=500, metadata=_doc(
        "Training rows a learner may read in its first round (read before the first round, plus the hold-out)."))
    row_growth: float = field(default=2.0, metadata=_doc(
        "Factor by which a learner's row window grows after each of its rounds."))
    # --------------------------------------------------------- predictions
    gate_on_validation: bool = field(default=True, metadata=_doc(
        "Emit a prediction only when the validation score improves (off: after every successful round)."))
    min_improvement: float = field(default=1e-4, metadata=_doc(
        "Smallest validation NAUC gain that counts as a new best."))
    test_cache_mb: float = field(default=256.0, metadata=_doc(
        "Largest test-set score array (MiB) a learner keeps until it trains again, so that a blend does not "
        "predict an unchanged member twice; a larger one (100k rows x 1,000 classes is 381 MiB) is predicted "
        "again each time instead."))
    prediction_gap_ratio: float = field(default=1.0, metadata=_doc(
        "A new prediction waits until this many test-prediction durations passed since the last one."))
    # ------------------------------------------------------------ ensemble
    ensemble: bool = field(default=True, metadata=_doc(
        "Blend learners by greedy forward selection when it beats the best single learner on validation."))
    ensemble_max: int = field(default=5, metadata=_doc(
        "Most selection steps (members, counted with repetition) in the blend."))
    ensemble_accept_ratio: float = field(default=0.97, metadata=_doc(
        "A learner may enter the blend only if its validation score is >= this times the best one."))
    ensemble_blend: str = field(default="rank", metadata=_doc(
        "How members are combined: 'rank' (validation-rank normalised) or 'mean' (raw score average)."))
    # -------------------------------------------------------------- budget
    safety_margin_s: float = field(default=0.25, metadata=_doc(
        "Seconds always kept free before the deadline (with ``safety_fraction`` x T; ``model.py`` keeps no "
        "margin of its own)."))
    safety_fraction: float = field(default=0.02, metadata=_doc(
        "Fraction of the whole budget also kept free before the deadline."))
    cost_inflation: float = field(default=1.25, metadata=_doc(
        "Multiplies every learner cost estimate before admission."))
    # ----------------------------------------------------------- scheduler
    scheduler_prior: Optional[str] = field(default="auto", metadata=_doc(
        "Scheduling prior file: 'auto' (the AUTODL_SOLVER_SCHEDULER_PRIOR variable, else "
        "configs/scheduler_prior.json), a path, or 'off' (measured costs only)."))
    lookahead_rounds: int = field(default=6, metadata=_doc(
        "Rounds in a row the scheduler values each learner over (a strong learner may pass the best later)."))
    max_first_round_fraction: float = field(default=0.35, metadata=_doc(
        "A learner whose first round is expected to take more than this fraction of T is skipped (logged)."))
    round_budget_factor: float = field(default=4.0, metadata=_doc(
        "A round's fit budget is at most this many times its expected cost (plus 2 s): a learner whose "
        "cost explodes cannot eat the run."))
    partial_min_fraction: float = field(default=0.2, metadata=_doc(
        "When a full increment no longer fits, a budget-aware learner may run a shortened one of at least "
        "this fraction of it, sized to the time left."))
    min_partial_s: float = field(default=0.5, metadata=_doc(
        "Shortest shortened increment worth running, in seconds (the time it could use is idle otherwise)."))
    # --------------------------------------------------------------- stops
    patience: Optional[int] = field(default=10, metadata=_doc(
        "Retire a learner after this many rounds in a row without beating its own best (None: never)."))
    target_score: Optional[float] = field(default=None, metadata=_doc(
        "Stop once the best validation NAUC reaches this value (None: never)."))
    max_rounds: Optional[int] = field(default=None, metadata=_doc(
        "Most learner rounds in one run (None: until the budget or the learners run out)."))
    seed: Optional[int] = field(default=None, metadata=_doc(
        "Overrides the engine's seed when set (hold-out split, learner seeds)."))

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------- helpers
    def update(self, changes: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> "EngineConfig":
        """A copy with some fields changed (validated); unknown names are rejected."""
        merged = dict(changes or {})
        merged.update(kwargs)
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(merged) - names)
        if unknown:
            raise AutoDLInputError(f"EngineConfig.{unknown[0]}", f"unknown setting; known settings are {sorted(names)}")
        return dataclasses.replace(self, **merged)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, base: Optional["EngineConfig"] = None) -> "EngineConfig":
        """Read overrides from a YAML file (field names at top level or under ``engine:``)."""
        import yaml

        try:
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
        except OSError as exc:
            raise AutoDLInputError(path, f"cannot read the engine config ({exc.strerror or exc})") from None
        except yaml.YAMLError as exc:
            raise AutoDLInputError(path, f"not valid YAML ({exc})") from None
        if data is None:
            data = {}
        if isinstance(data, dict) and isinstance(data.get("engine"), dict):
            data = data["engine"]
        if not isinstance(data, dict):
            raise AutoDLInputError(path, "expected a mapping of engine settings")
        try:
            return (base or cls()).update(data)
        except AutoDLInputError as exc:
            raise AutoDLInputError(path, f"{exc.where}: {exc.problem}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (YAML/JSON-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def describe(cls) -> dict[str, str]:
        """Field name -> one-line description."""
        return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls)}

    # ---------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise :class:`AutoDLInputError` naming the first invalid field (the engine re-checks)."""
        for name in ("holdout", "gate_on_validation", "ensemble"):
            if not isinstance(getattr(self, name), bool):
                _bad(name, f"expected true or false, got {getattr(self, name)!r}")
        _int(self, "holdout_max", 1)
        _int(self, "min_holdout", 1)
        _int(self, "holdout_per_class", 0)
        _int(self, "holdout_min_examples", 2)
        _int(self, "first_rows", 1)
        _int(self, "ensemble_max", 1)
        _int(self, "patience", 1, optional=True)
        _int(self, "max_rounds", 1, optional=True)
        _int(self, "seed", 0, optional=True)
        _int(self, "lookahead_rounds", 1)
        _float(self, "max_first_round_fraction", 0.0, 1.0, low_open=True)
        _float(self, "round_budget_factor", 1.0, math.inf)
        _float(self, "partial_min_fraction", 0.0, 1.0)
        _float(self, "min_partial_s", 0.0, math.inf)
        _float(self, "test_cache_mb", 0.0, math.inf)
        if self.scheduler_prior is not None and not isinstance(self.scheduler_prior, str):
            _bad("scheduler_prior", f"expected 'auto', 'off' or a file path, got {self.scheduler_prior!r}")
        _float(self, "holdout_fraction", 0.0, 0.5, low_open=True)
        _float(self, "row_growth", 1.0, math.inf)
        _float(self, "min_improvement", 0.0, 1.0)
        _float(self, "prediction_gap_ratio", 0.0, math.inf)
        _float(self, "ensemble_accept_ratio", 0.0, 1.0)
        _float(self, "safety_margin_s", 0.0, math.inf)
        _float(self, "safety_fraction", 0.0, 0.5)
        _float(self, "cost_inflation", 1.0, math.inf)
        _float(self, "target_score", -1.0, 1.0, optional=True)
        if self.min_holdout > self.holdout_max:
            _bad("min_holdout", f"must be <= holdout_max ({self.holdout_max}), got {self.min_holdout}")
        if self.ensemble_blend not in BLEND_MODES:
            _bad("ensemble_blend", f"expected one of {BLEND_MODES}, got {self.ensemble_blend!r}")


def _bad(name: str, problem: str) -> None:
    raise AutoDLInputError(f"EngineConfig.{name}", problem)


def _int(cfg: EngineConfig, name: str, low: int, optional: bool = False) -> None:
    value = getattr(cfg, name)
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        _bad(name, f"expected an integer >= {low}{' or null' if optional else ''}, got {value!r}")
    if value < low:
        _bad(name, f"expected an integer >= {low}, got {value}")


def _float(cfg: EngineConfig, name: str, low: float, high: float, optional: bool = False,
           low_open: bool = False) -> None:
    value = getattr(cfg, name)
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _bad(name, f"expected a finite number{' or null' if optional else ''}, got {value!r}")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        bracket = "(" if low_open else "["
        _bad(name, f"expected a value in {bracket}{low:g}, {high:g}], got {value!r}")
    setattr(cfg, name, float(value))  # YAML may give 2 for 2.0
