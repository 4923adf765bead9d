"""Learning-curve figures in the style of the official ``plot_learning_curve``.

x: transformed time ``t~`` in [0, 1] with a second (top) axis in real
seconds; y: ``score (2 * AUC - 1)`` in [-0.01, 1]; a post-step curve with the
area under it filled, a dashed segment from the last prediction to ``T``,
and a legend ``ALC=...``. As in ``score.py``, the figure drops predictions
made after ``T``, so the legend shows the *clipped* ALC (equal to the
``scores.txt`` value unless a prediction came late).

Figures are drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas
directly, never through ``pyplot``: nothing global (the backend, the current
figure) changes in the caller's process, and it works without a display and
from any thread. PNGs are written atomically.
"""
from __future__ import annotations

import io
import os
from typing import Mapping, Optional, Union

from ..utils.atomic import atomic_write_bytes
from .learning_curve import LearningCurve
from .scoring import transform_time

PathLike = Union[str, os.PathLike]

__all__ = ["figure_name", "plot_learning_curve", "plot_learning_curves", "real_time_ticks"]

#: Real-time ticks of the top axis (then every 1800 s), as in score.py.
_BASE_TICKS = (10, 60, 300, 600, 1200)
_FIGSIZE = (7, 7.07)


def figure_name(task_name: str) -> str:
    """``learning-curve-<task>.png``, the official figure file name."""
    return f"learning-curve-{task_name}.png"


def real_time_ticks(time_budget: float) -> list[int]:
    """Ticks in seconds for the top axis: 10, 60, 300, 600, 1200, 1800, ... up to ``T``."""
    ticks = list(_BASE_TICKS) + list(range(1800, int(time_budget) + 1, 1800))
    return [t for t in ticks if t <= time_budget]


def _new_axes(time_budget: float, t0: float, title: Optional[str]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    if title:
        ax.set_title(title, y=1.06)  # leave room for the top axis
    ax.set_xlabel(
        "Transformed time: "
        r"$\tilde{t} = \frac{\log (1 + t / t_0)}{ \log (1 + T / t_0)}$ "
        f" ($T = {int(time_budget)}$,  $t_0 = {int(t0)}$)"
    )
    ax.set_xlim(left=0, right=1)
    ax.set_ylabel("score (2 * AUC - 1)")
    ax.set_ylim(bottom=-0.01, top=1)
    ax.grid(True, zorder=5)
    top = ax.twiny()
    ticks = real_time_ticks(time_budget)
    top.set_xlim(0, 1)
    top.set_xticks([transform_time(t, time_budget, t0) for t in ticks])
    top.set_xticklabels([str(t) for t in ticks])
    return fig, ax


def _draw_curve(ax, curve: LearningCurve, *, label_prefix: Optional[str], fill_alpha: float,
                color: Optional[str], fill_color: Optional[str], show_final_score: bool) -> float:
    """Draw one curve as the official figure does; return its clipped ALC."""
    T = curve.time_budget
    points = [(t, s) for t, s in zip(curve.timestamps, curve.scores) if t <= T]
    x = [0.0] + [float(transform_time(t, T, curve.t0)) for t, _ in points] + [1.0]
    y = [0.0] + [s for _, s in points]
    y.append(y[-1])
    value = curve.alc(clip=True)
    label = f"ALC={value:.4f}" if not label_prefix else f"{label_prefix}: ALC={value:.4f}"
    (line,) = ax.plot(x[:-1], y[:-1], drawstyle="steps-post", marker="o", markersize=3, label=label, color=color)
    color = line.get_color()
    ax.fill_between(x, y, step="post", color=fill_color or color, alpha=fill_alpha, linewidth=0)
    if show_final_score:
        ax.text(x[-1], y[-1], f"{y[-1]:.4f}")
    ax.plot(x[-2:], y[-2:], linestyle="--", linewidth=1, color=color)
    return value


def _save(fig, path: PathLike) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())


def plot_learning_curve(curve: LearningCurve, path: PathLike, *, title: Optional[str] = None) -> float:
    """Draw one learning curve to a PNG, like the official scorer's figure.

    Parameters
    ----------
    curve : LearningCurve
    path : str or os.PathLike
        Where the PNG goes (written atomically); the official name is
        :func:`figure_name`.
    title : str, optional
        Defaults to ``"Learning curve for task: <task>"``.

    Returns
    -------
    float
        The ALC shown in the legend (predictions after ``T`` dropped).
    """
    if title is None:
        title = f"Learning curve for task: {curve.task_name}"
    fig, ax = _new_axes(curve.time_budget, curve.t0, title)
    value = _draw_curve(ax, curve, label_prefix=None, fill_alpha=1.0, color=None,
                        fill_color="cyan", show_final_score=True)
    ax.legend()
    _save(fig, path)
    return value


def plot_learning_curves(
    curves: Mapping[str, LearningCurve], path: PathLike, *, title: Optional[str] = None
) -> dict[str, float]:
    """Draw several methods' learning curves on one figure (for benchmarks).

    All curves must share the time budget and ``t0`` (one time axis). Each
    gets its own colour, a lightly filled area and a legend entry
    ``<label>: ALC=...``.

    Parameters
    ----------
    curves : mapping of label -> LearningCurve
    path : str or os.PathLike
        PNG output, written atomically.
    title : str, optional
        Defaults to the common task name when there is one.

    Returns
    -------
    dict of label -> float
        The (clipped) ALC shown for each curve.
    """
    from ..errors import AutoDLInputError

    if not curves:
        raise AutoDLInputError("curves", "expected at least one learning curve to plot")
    first = next(iter(curves.values()))
    for label, curve in curves.items():
        if (curve.time_budget, curve.t0) != (first.time_budget, first.t0):
            raise AutoDLInputError(
                f"curves[{label!r}]",
                f"time budget {curve.time_budget} / t0 {curve.t0} differs from {first.time_budget} / {first.t0}; "
                "expected one time axis",
            )
    if title is None:
        tasks = {c.task_name for c in curves.values()}
        task = tasks.pop() if len(tasks) == 1 else None
        title = f"Learning curves for task: {task}" if task else "Learning curves"
    fig, ax = _new_axes(first.time_budget, first.t0, title)
    values = {
        label: _draw_curve(ax, curve, label_prefix=label, fill_alpha=0.12, color=None,
                           fill_color=None, show_final_score=False)
        for label, curve in curves.items()
    }
    ax.legend()
    _save(fig, path)
    return values
