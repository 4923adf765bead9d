"""Learning-curve figures: the official panel, the zoomed panel, learner marks (issue 15)."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from autodl_solver.challenge import plots
from autodl_solver.challenge.learning_curve import LearningCurve
from autodl_solver.challenge.plots import plot_classifier_curve, plot_learning_curve, zoom_floor
from autodl_solver.errors import AutoDLInputError

POINTS = [  # what AutoDLClassifier.learning_curve_ holds
    {"elapsed_s": 1.5, "val_score": 0.40, "learner": "tabular_linear", "n_rows": 80, "test_nauc": 0.45},
    {"elapsed_s": 4.0, "val_score": 0.93, "learner": "tabular_gbdt", "n_rows": 80, "test_nauc": 0.94},
    {"elapsed_s": 9.0, "val_score": 0.97, "learner": "tabular_gbdt", "n_rows": 80, "test_nauc": 0.972},
    {"elapsed_s": 20.0, "val_score": 0.98, "learner": "ensemble", "n_rows": 80, "test_nauc": 0.985},
]


def png_size(path: Path) -> tuple[int, int]:
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_zoom_floor_uses_the_later_scores():
    assert zoom_floor([0.1, 0.93, 0.96, 0.97, 0.98]) == pytest.approx(0.96)  # second half of [0.93 .. 0.98] - 0.01
    assert zoom_floor([0.5]) == pytest.approx(0.49)
    assert zoom_floor([-0.2, -0.1]) == 0.0  # never below 0
    assert zoom_floor([0.9, 1.0, 1.0]) == pytest.approx(0.98)  # at least 0.02 of range
    assert zoom_floor([]) == 0.0


def test_zoomed_panel_beside_the_official_one(tmp_path):
    curve = LearningCurve([30, 100, 1250], [0.5, 0.7, 0.9], time_budget=1200, task_name="t")
    shown = plot_learning_curve(curve, tmp_path / "two.png")
    assert shown == pytest.approx(curve.alc(clip=True))
    alone = plot_learning_curve(curve, tmp_path / "one.png", zoom=False)
    assert alone == shown
    (w2, h2), (w1, h1) = png_size(tmp_path / "two.png"), png_size(tmp_path / "one.png")
    assert h1 == h2 and w2 == 2 * w1  # the official 7 x 7.07 in panel, then the zoom beside it
    plot_learning_curve(curve, tmp_path / "manual.png", zoom_bottom=0.6)
    assert png_size(tmp_path / "manual.png") == (w2, h2)


def test_learners_are_marked_only_when_known(tmp_path, monkeypatch):
    marked = []
    real = plots._mark_learners
    monkeypatch.setattr(plots, "_mark_learners", lambda ax, curve, bottom: (marked.append(bottom),
                                                                            real(ax, curve, bottom)))
    plot_learning_curve(LearningCurve([1, 5], [0.5, 0.9], time_budget=60), tmp_path / "a.png")
    assert marked == []  # the challenge path: scores only, no learner names
    curve = LearningCurve.from_points(POINTS, time_budget=30, task_name="iris")
    assert curve.scores == [p["test_nauc"] for p in POINTS]
    assert curve.learners == ["tabular_linear", "tabular_gbdt", "tabular_gbdt", "ensemble"]
    plot_learning_curve(curve, tmp_path / "b.png")
    assert marked == [pytest.approx(zoom_floor(curve.scores))]
    assert png_size(tmp_path / "b.png") == png_size(tmp_path / "a.png")


def test_curve_from_points_and_classifier(tmp_path):
    no_test = [{k: v for k, v in p.items() if k != "test_nauc"} for p in POINTS]
    curve = LearningCurve.from_points(no_test, time_budget=30)
    assert curve.scores == [p["val_score"] for p in POINTS] and curve.time_budget == 30
    assert LearningCurve.from_points(POINTS, 30, score="val_score").scores == curve.scores
    assert curve.to_dict()["learners"] == curve.learners
    assert "learners" not in LearningCurve([1], [0.5]).to_dict()
    curve.append(25.0, 0.99, "tabular_mlp")
    assert curve.learners[-1] == "tabular_mlp"
    plain = LearningCurve([1], [0.5])
    plain.append(2, 0.6, "x")
    assert plain.learners == [None, "x"]
    with pytest.raises(AutoDLInputError, match="learner"):
        LearningCurve([1, 2], [0.1, 0.2], learners=["a"])

    class Fitted:  # what plot_classifier_curve reads of an AutoDLClassifier
        time_budget = 30
        domain_ = "tabular"
        learning_curve_ = POINTS

    assert plot_classifier_curve(Fitted(), tmp_path / "clf.png") == pytest.approx(
        LearningCurve.from_points(POINTS, 30).alc(clip=True))
    with pytest.raises(AutoDLInputError, match="not fitted"):
        LearningCurve.from_classifier(object())


def test_a_real_fit_draws(tmp_path):
    from sklearn.datasets import load_iris

    from autodl_solver.api import AutoDLClassifier

    x, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    clf = AutoDLClassifier(time_budget=3, seed=0).fit(x[:100], y[:100], X_test=(x[100:], y[100:]))
    curve = LearningCurve.from_classifier(clf)
    assert len(curve) == len(clf.learning_curve_) and all(curve.learners)
    plot_classifier_curve(clf, tmp_path / "iris.png")
    assert png_size(tmp_path / "iris.png")[0] > png_size(tmp_path / "iris.png")[1]
