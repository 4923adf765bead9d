"""Learning-curve figures in the style of the official ``plot_learning_curve``.

x: transformed time ``t~`` in [0, 1] with a second (top) axis in real
seconds; y: ``score (2 * AUC - 1)`` in [-0.01, 1]; a post-step curve with the
area under it filled, a dashed segment from the last prediction to ``T``,
and a legend ``ALC=...``. As in ``score.py``, the figure drops predictions
made after ``T``, so the legend shows the *clipped* ALC (equal to the
``scores.txt`` value unless a prediction came late).

:func:`plot_learning_curve` adds a second panel to the right of that
official one: the same curve with ``y`` zoomed to ``[max(0, min(later
scores) - 0.01), 1]`` (:func:`zoom_floor`), where changes of NAUC near 1 are
visible, and, when the curve knows which learner made each prediction (the
library's ``learning_curve_``, :meth:`LearningCurve.from_classifier`), one
marker and colour per learner. ``zoom=False`` draws the official panel alone.

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

__all__ = ["figure_name", "plot_classifier_curve", "plot_learning_curve", "plot_learning_curves",
           "real_time_ticks", "zoom_floor"]

#: Real-time ticks of the top axis (then every 1800 s), as in score.py.
_BASE_TICKS = (10, 60, 300, 600, 1200)
_FIGSIZE = (7, 7.07)
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")


def figure_name(task_name: str) -> str:
    """``learning-curve-<task>.png``, the official figure file name."""
    return f"learning-curve-{task_name}.png"


def real_time_ticks(time_budget: float) -> list[int]:
    """Ticks in seconds for the top axis: 10, 60, 300, 600, 1200, 1800, ... up to ``T``."""
    ticks = list(_BASE_TICKS) + list(range(1800, int(time_budget) + 1, 1800))
    return [t for t in ticks if t <= time_budget]


def zoom_floor(scores, margin: float = 0.01, min_span: float = 0.02) -> float:
    """Bottom of the zoomed panel: ``max(0, min(later scores) - margin)``, at most ``1 - min_span``.

    The later scores are the second half of the predictions (the first one
    excluded when there are several): early, weak predictions would otherwise
    squash the part of the curve near 1 that the zoom is for.
    """
    scores = [float(s) for s in scores]
    if not scores:
        return 0.0
    later = scores[1:] if len(scores) > 1 else scores
    later = later[len(later) // 2:]
    return float(min(max(0.0, min(later) - margin), 1.0 - min_span))


def _setup_axes(ax, time_budget: float, t0: float, title: Optional[str], *, bottom: float = -0.01,
                ylabel: str = "score (2 * AUC - 1)") -> None:
    if title:
        ax.set_title(title, y=1.06)  # leave room for the top axis
    ax.set_xlabel(
        "Transformed time: "
        r"$\tilde{t} = \frac{\log (1 + t / t_0)}{ \log (1 + T / t_0)}$ "
        f" ($T = {int(time_budget)}$,  $t_0 = {int(t0)}$)"
    )
    ax.set_xlim(left=0, right=1)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=bottom, top=1)
    ax.grid(True, zorder=5)
    top = ax.twiny()
    ticks = real_time_ticks(time_budget)
    top.set_xlim(0, 1)
    top.set_xticks([transform_time(t, time_budget, t0) for t in ticks])
    top.set_xticklabels([str(t) for t in ticks])


def _new_figure(panels: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_FIGSIZE[0] * panels, _FIGSIZE[1]))
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, panels, i + 1) for i in range(panels)]


def _new_axes(time_budget: float, t0: float, title: Optional[str]):
    fig, (ax,) = _new_figure(1)
    _setup_axes(ax, time_budget, t0, title)
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


def _mark_learners(ax, curve: LearningCurve, bottom: float) -> None:
    """One marker and colour per learner on the zoomed panel, with a legend naming them."""
    T = curve.time_budget
    assert curve.learners is not None  # the caller checks
    points = [(float(transform_time(t, T, curve.t0)), s, name)
              for t, s, name in zip(curve.timestamps, curve.scores, curve.learners) if t <= T]
    names = list(dict.fromkeys(name for _, _, name in points if name is not None))
    colours = [f"C{i % 10}" for i in range(1, 11)]  # C0 is the curve
    for i, name in enumerate(names):
        xs = [x for x, _, n in points if n == name]
        ys = [y for _, y, n in points if n == name]
        hidden = sum(1 for y in ys if y < bottom)
        label = name if not hidden else f"{name} ({hidden} below {bottom:.3f}, drawn on the axis)"
        ax.scatter(xs, [max(y, bottom) for y in ys], marker=_MARKERS[i % len(_MARKERS)], s=46,
                   color=colours[i % len(colours)], edgecolors="black", linewidths=0.5, zorder=6, label=label,
                   clip_on=False)
    if names:
        ax.legend(loc="lower right", title="learner of each prediction", fontsize="small")


def plot_learning_curve(curve: LearningCurve, path: PathLike, *, title: Optional[str] = None,
                        zoom: bool = True, zoom_bottom: Optional[float] = None) -> float:
    """Draw one learning curve to a PNG, like the official scorer's figure, plus a zoomed panel.

    Parameters
    ----------
    curve : LearningCurve
        With ``learners`` set (:meth:`LearningCurve.from_classifier`), the
        zoomed panel marks the learner of each prediction.
    path : str or os.PathLike
        Where the PNG goes (written atomically); the official name is
        :func:`figure_name`.
    title : str, optional
        Defaults to ``"Learning curve for task: <task>"``.
    zoom : bool, default True
        Add the second panel, ``y`` from ``zoom_bottom`` to 1; ``False``
        draws the official panel alone.
    zoom_bottom : float, optional
        Bottom of the zoomed panel; default :func:`zoom_floor` of the scores.

    Returns
    -------
    float
        The ALC shown in the legend (predictions after ``T`` dropped).
    """
    if title is None:
        title = f"Learning curve for task: {curve.task_name}"
    fig, axes = _new_figure(2 if zoom else 1)
    ax = axes[0]
    _setup_axes(ax, curve.time_budget, curve.t0, title)
    value = _draw_curve(ax, curve, label_prefix=None, fill_alpha=1.0, color=None,
                        fill_color="cyan", show_final_score=True)
    ax.legend()
    if zoom:
        kept = [s for t, s in zip(curve.timestamps, curve.scores) if t <= curve.time_budget]
        bottom = zoom_floor(kept) if zoom_bottom is None else float(zoom_bottom)
        bottom = min(max(bottom, -1.0), 0.999)
        zax = axes[1]
        _setup_axes(zax, curve.time_budget, curve.t0, f"Zoom: score from {bottom:.3f} to 1", bottom=bottom,
                    ylabel="score (2 * AUC - 1), zoomed")
        _draw_curve(zax, curve, label_prefix=None, fill_alpha=0.35, color=None, fill_color="cyan",
                    show_final_score=True)
        if curve.learners is not None and any(name is not None for name in curve.learners):
            _mark_learners(zax, curve, bottom)
        fig.tight_layout()
    _save(fig, path)
    return value


def plot_classifier_curve(classifier, path: PathLike, *, score: Optional[str] = None,
                          title: Optional[str] = None, zoom: bool = True,
                          zoom_bottom: Optional[float] = None) -> float:
    """The learning-curve figure of a fitted ``AutoDLClassifier``, learners marked.

    ``score`` as :meth:`LearningCurve.from_points` (``test_nauc`` when the fit
    was given labelled test data, else the hold-out ``val_score``).
    """
    points = list(getattr(classifier, "learning_curve_", None) or [])
    if score is None:
        score = "test_nauc" if points and all(p.get("test_nauc") is not None for p in points) else "val_score"
    curve = LearningCurve.from_classifier(classifier, score=score)
    if title is None:
        which = "test NAUC" if score == "test_nauc" else "hold-out validation NAUC"
        title = f"AutoDLClassifier ({curve.task_name or 'task'}): {which}"
    return plot_learning_curve(curve, path, title=title, zoom=zoom, zoom_bottom=zoom_bottom)


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
