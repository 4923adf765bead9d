"""The paper's metrics: accuracy-top-N curves, trials to a target, speed-up, learning-curve plots.

* **Validation / test accuracy-top10** after ``t`` trials: the mean
  validation accuracy of the 10 children with the best validation accuracy
  among the first ``t``, and the mean *test* accuracy of those same 10
  children; undefined (NaN) before the 10th trial, so no method can reach
  a target before trial 10 and speed-ups at budget ``B`` are at most B/10.
* **Trials to reach** a target: the first ``t`` whose validation
  accuracy-top10 is at least the target (``None`` if never within the run).
* **Speed-up** of a method over random search at budget ``B``: the target is
  random search's validation accuracy-top10 after ``B`` trials; the speed-up
  is (trials random search needed to first reach it) / (trials the method
  needed). A method that never reaches it within its run gets ``None`` and a
  bound: speed-up < trials_RS / run length.
"""
from __future__ import annotations

import heapq
from typing import Optional, Sequence

import numpy as np

TOP_N = 10


def top_n_curves(valid: Sequence[float], test: Sequence[float], n: int = TOP_N) -> tuple[np.ndarray, np.ndarray]:
    """Validation and test accuracy-top``n`` after each trial (arrays of ``len(valid)``).

    Ties in validation accuracy keep the earlier trial; the first ``n - 1``
    values are NaN (fewer than ``n`` children: the metric is not defined).
    """
    if len(valid) != len(test):
        raise ValueError("valid and test must have one value per trial")
    heap: list[tuple[float, int, float]] = []  # (valid, -index, test): the smallest is the one to drop
    v_curve, t_curve = np.empty(len(valid)), np.empty(len(valid))
    for i, (v, t) in enumerate(zip(valid, test)):
        item = (float(v), -i, float(t))
        if len(heap) < n:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
        full = len(heap) == n
        v_curve[i] = np.mean([h[0] for h in heap]) if full else np.nan
        t_curve[i] = np.mean([h[2] for h in heap]) if full else np.nan
    return v_curve, t_curve


def _floats(curve: Sequence[Optional[float]]) -> np.ndarray:
    """A curve as floats, ``None`` (JSON's NaN) as NaN."""
    return np.array([np.nan if v is None else v for v in curve], float)


def to_json_list(curve: Sequence[float]) -> list:
    """A curve as a JSON-safe list (NaN as ``None``)."""
    return [None if v != v else float(v) for v in curve]


def trials_to_reach(curve: Sequence[float], target: float, tol: float = 1e-9) -> Optional[int]:
    """The first number of trials (1-based) at which ``curve`` reaches ``target``; ``None`` if never."""
    values = _floats(curve)
    hits = np.nonzero(np.nan_to_num(values, nan=-np.inf) >= target - tol)[0]
    return int(hits[0]) + 1 if len(hits) else None


def speedup(rs_curve: Sequence[float], method_curve: Sequence[float], budget: Optional[int] = None) -> dict:
    """Speed-up in trials of a method over random search (see the module docstring).

    Parameters
    ----------
    rs_curve, method_curve : sequence of float
        Validation accuracy-top10 after each trial.
    budget : int, optional
        ``B``; default the length of ``rs_curve``.

    Returns
    -------
    dict
        ``target``, ``rs_trials``, ``method_trials`` (or ``None``),
        ``speedup`` (or ``None``), ``speedup_upper_bound`` (when not reached).
    """
    budget = int(budget or len(rs_curve))
    if budget < TOP_N or budget > len(rs_curve):
        raise ValueError(f"budget {budget} outside 1..{len(rs_curve)}")
    target = float(_floats(rs_curve)[budget - 1])
    rs_trials = trials_to_reach(rs_curve[:budget], target)
    m_trials = trials_to_reach(method_curve, target)
    out = {"target": target, "rs_trials": rs_trials, "method_trials": m_trials,
           "speedup": None if m_trials is None else rs_trials / m_trials, "speedup_upper_bound": None}
    if m_trials is None:
        out["speedup_upper_bound"] = rs_trials / len(method_curve)
    return out


def plot_curves(curves: dict, path, title: str = "", ylabel: str = "accuracy-top10") -> None:
    """Save a learning-curve plot: ``curves`` is ``{panel: {method: array}}``, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    from ..utils.atomic import atomic_write_bytes

    panels = list(curves)
    cols = min(3, max(1, len(panels)))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for method, ys in curves[panel].items():
            ax.plot(np.arange(1, len(ys) + 1), _floats(ys), label=method)
        ax.set_title(panel, fontsize=9)
        ax.set_xscale("log")
        ax.set_xlabel("trials")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
