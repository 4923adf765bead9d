"""The scheduling prior: what a learner's first rounds cost and give, before it has run.

The scheduler (``anytime/scheduler.py``) values a round by its expected ALC
gain per second. For a learner that has run, cost comes from its own
measured rounds; for one that has not, from this prior, which is **fitted
from recorded benchmark round logs** by ``benchmarks/fit_scheduler_prior.py``
(never typed in) and stored as JSON in ``configs/scheduler_prior.json``.

One entry per ``(domain, learner, device)``:

* ``cost`` — first-round seconds as ``exp(log_cost) * units**cost_slope``,
  where ``units`` is the first round's rows times the example size (the
  product of the known tensor dimensions): a log-linear fit over the runs;
* ``scores`` — the hold-out NAUC after round k (k = 1, 2, ...), as a
  fraction of the best NAUC any learner reached on the same dataset (the
  median over the recorded datasets), so it transfers across tasks whose
  absolute NAUC differs;
* ``cum_cost`` — seconds spent up to round k, in units of the first round's.

File format::

    {"format": 1, "space": "<fingerprint of the portfolios>", "commit": "...",
     "runs": ["tag/dataset/method", ...], "scale": {"<domain>": best NAUC median},
     "entries": [{"domain", "learner", "device", "log_cost", "cost_slope",
                  "scores": [...], "cum_cost": [...], "n_runs"}, ...]}

A missing, unreadable or foreign file (another format or portfolio space),
or an entry with non-finite numbers, is a ``logging`` warning naming the
file, and the scheduler falls back to measured costs (:func:`load_prior`
returns ``None`` or drops the entry).
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ..config_paths import find_config

__all__ = ["LearnerPrior", "SchedulingPrior", "load_prior", "default_prior_path", "portfolio_space",
           "example_units", "PRIOR_FORMAT", "PRIOR_ENV"]

logger = logging.getLogger(__name__)

PRIOR_FORMAT = 1
#: Environment variable naming a prior file (``off`` / ``none`` disables the prior).
PRIOR_ENV = "AUTODL_SOLVER_SCHEDULER_PRIOR"
_FILE_NAME = "scheduler_prior.json"


@dataclass(frozen=True)
class LearnerPrior:
    """The prior of one learner on one domain and device (see the module docstring)."""

    domain: str
    learner: str
    device: str
    log_cost: float
    cost_slope: float
    scores: tuple[float, ...]
    cum_cost: tuple[float, ...]
    n_runs: int = 1

    def first_cost_s(self, units: float) -> float:
        """Expected seconds of the first round on ``units`` (rows x example size)."""
        return float(math.exp(self.log_cost) * max(float(units), 1.0) ** self.cost_slope)

    def score(self, k: int) -> float:
        """Expected NAUC fraction after round ``k`` (1-based; the last recorded one beyond)."""
        if not self.scores:
            return 0.0
        return float(self.scores[min(max(k, 1), len(self.scores)) - 1])

    def cost_ratio(self, k: int) -> float:
        """Seconds up to round ``k`` in first-round units (doubling beyond the recorded rounds)."""
        if not self.cum_cost:
            return float(2 ** k - 1)
        if k <= len(self.cum_cost):
            return float(self.cum_cost[max(k, 1) - 1])
        last = self.cum_cost[-1]
        step = last - (self.cum_cost[-2] if len(self.cum_cost) > 1 else 0.0)
        return float(last + sum(step * 2 ** i for i in range(1, k - len(self.cum_cost) + 1)))


@dataclass
class SchedulingPrior:
    """A set of :class:`LearnerPrior` entries and where they came from."""

    entries: dict[tuple[str, str, str], LearnerPrior] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    source: str = ""
    commit: str = ""
    runs: tuple[str, ...] = ()

    def get(self, domain: str, learner: str, device: str) -> Optional[LearnerPrior]:
        """The entry for ``(domain, learner, device)``, or None."""
        return self.entries.get((domain, learner, device))

    def domain_scale(self, domain: str) -> float:
        """Median best hold-out NAUC of the recorded datasets of ``domain`` (1.0 when unknown)."""
        return float(self.scale.get(domain, 1.0))

    def to_dict(self, space: str) -> dict[str, Any]:
        """The file form (see the module docstring)."""
        return {"format": PRIOR_FORMAT, "space": space, "commit": self.commit, "runs": list(self.runs),
                "scale": dict(sorted(self.scale.items())),
                "entries": [{"domain": e.domain, "learner": e.learner, "device": e.device,
                             "log_cost": round(e.log_cost, 6), "cost_slope": round(e.cost_slope, 6),
                             "scores": [round(s, 6) for s in e.scores],
                             "cum_cost": [round(c, 6) for c in e.cum_cost], "n_runs": e.n_runs}
                            for e in sorted(self.entries.values(), key=lambda e: (e.domain, e.learner, e.device))]}


def portfolio_space() -> str:
    """Fingerprint of the solver's portfolios: a prior fitted for other learners does not apply."""
    from ..domains.methods import SOLVER_PORTFOLIOS

    text = json.dumps({d: list(v) for d, v in sorted(SOLVER_PORTFOLIOS.items())}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_prior_path() -> Optional[Path]:
    """``configs/scheduler_prior.json`` (the installed package's copy first), or None when absent."""
    return find_config(_FILE_NAME)  # the learner configs' folders (config_paths.py): package copy, then repository


def example_units(tensor_shape: Sequence[Optional[int]]) -> int:
    """Size of one example: the product of its known dimensions (variable ones count 1)."""
    units = 1
    for dim in tensor_shape:
        if dim is not None and int(dim) > 0:
            units *= int(dim)
    return units


def load_prior(path: Optional[str | os.PathLike] = None) -> Optional[SchedulingPrior]:
    """Read a prior file; None (with a warning naming the file) when it cannot be used.

    Parameters
    ----------
    path : path, optional
        The file; default: :data:`PRIOR_ENV` when set (``off`` / ``none``
        means no prior), else :func:`default_prior_path`.
    """
    if path is None:
        env = os.environ.get(PRIOR_ENV, "").strip()
        if env.lower() in ("off", "none", "0", "false"):
            return None
        path = env or default_prior_path()
        if path is None:
            return None
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        logger.warning("scheduler prior %s cannot be read (%s); using measured costs only", path, exc)
        return None
    if not isinstance(data, dict) or data.get("format") != PRIOR_FORMAT or not isinstance(data.get("entries"), list):
        logger.warning("scheduler prior %s is not a format-%d prior file; using measured costs only", path,
                       PRIOR_FORMAT)
        return None
    if data.get("space") != portfolio_space():
        logger.warning("scheduler prior %s was fitted for another portfolio space (%s, this one %s); using "
                       "measured costs only", path, data.get("space"), portfolio_space())
        return None
    prior = SchedulingPrior(source=str(path), commit=str(data.get("commit", "")),
                            runs=tuple(str(r) for r in data.get("runs", [])))
    for domain, value in (data.get("scale") or {}).items():
        if _finite(value):
            prior.scale[str(domain)] = float(value)
    dropped = []
    for raw in data["entries"]:
        entry = _entry(raw)
        if entry is None:
            dropped.append(str(raw.get("learner") if isinstance(raw, dict) else raw))
            continue
        prior.entries[(entry.domain, entry.learner, entry.device)] = entry
    if dropped:
        logger.warning("scheduler prior %s: entries with missing or non-finite numbers ignored (%s); those "
                       "learners use measured costs", path, ", ".join(dropped))
    return prior


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _entry(raw: Any) -> Optional[LearnerPrior]:
    if not isinstance(raw, dict):
        return None
    try:
        scores = tuple(float(s) for s in raw.get("scores", []))
        cum = tuple(float(c) for c in raw.get("cum_cost", []))
        numbers = (raw["log_cost"], raw["cost_slope"])
        if not all(_finite(v) for v in numbers) or not all(math.isfinite(v) for v in scores + cum):
            return None
        return LearnerPrior(domain=str(raw["domain"]), learner=str(raw["learner"]), device=str(raw["device"]),
                            log_cost=float(raw["log_cost"]), cost_slope=float(raw["cost_slope"]), scores=scores,
                            cum_cost=cum, n_runs=int(raw.get("n_runs", 1)))
    except (KeyError, TypeError, ValueError):
        return None
