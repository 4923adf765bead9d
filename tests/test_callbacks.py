"""Callbacks: official prediction files, learning curve, progress bar, logging, event order."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import yaml

from autodl_solver.anytime.callbacks import (Callback, LearningCurveRecorder, LoggingCallback, PredictionWriter,
                                             ProgressBar, format_prediction)
from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.engine import Engine
from autodl_solver.testing import CentroidConfig, CentroidLearner, make_dataset


class Broken(CentroidLearner):
    name = "broken"

    def fit(self, data, budget_s):
        raise ValueError("cannot learn")


def run(callbacks, learners=None, budget=10.0, **data_kw):
    kw = dict(n_train=300, n_test=25, output_dim=3, seed=1)
    kw.update(data_kw)
    train, test, y_test = make_dataset("tabular", **kw)
    if learners is None:
        learners = [CentroidLearner(train.metadata, CentroidConfig(max_fits=3))]
    engine = Engine(train.metadata, learners, config=EngineConfig(first_rows=40), callbacks=callbacks)
    engine.fit(train, budget, test)
    return engine, test, y_test


def test_format_prediction_is_the_official_g_format():
    values = np.array([[0.123456789, 1e-7, -2.5], [3.0, 1234567.0, 0.0]], np.float32)
    expected = "".join(" ".join("{0:g}".format(float(v)) for v in row) + "\n" for row in values)
    assert format_prediction(values) == expected
    assert format_prediction(np.array([0.5, 1.0])) == "0.5\n1\n"


def test_prediction_writer_produces_scorable_files(tmp_path):
    recorder = LearningCurveRecorder()
    writer = PredictionWriter(tmp_path / "out", "tiny")
    engine, test, _ = run([writer, recorder])
    out = tmp_path / "out"
    start = yaml.safe_load((out / "start.txt").read_text())
    assert start["task_name"] == "tiny" and start["time_budget"] == 10.0
    assert start["start_time"] == pytest.approx(engine.clock.start)
    k = len(recorder.points)
    assert k >= 1 and writer.count == k
    stamps = [start[i] for i in range(k)]
    assert stamps == sorted(stamps) and all(s >= start["start_time"] for s in stamps)
    for i in range(k):
        pred = np.loadtxt(out / f"tiny.predict_{i}", ndmin=2)
        assert pred.shape == (len(test), 3)
    assert not (out / f"tiny.predict_{k}").exists()
    np.testing.assert_allclose(np.loadtxt(out / f"tiny.predict_{k - 1}", ndmin=2), engine.predict_test(test),
                               rtol=1e-5, atol=1e-6)
    end = yaml.safe_load((out / "end.txt").read_text())
    assert end["ingestion_success"] == 1 and end["end_time"] >= start["start_time"]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_learning_curve_recorder_matches_engine_curve():
    recorder = LearningCurveRecorder()
    engine, _, _ = run([recorder])
    assert [p["val_score"] for p in recorder.points] == [c["val_score"] for c in engine.learning_curve]
    elapsed = [p["elapsed_s"] for p in recorder.points]
    assert elapsed == sorted(elapsed)
    assert {"elapsed_s", "val_score", "learner", "n_rows"} <= set(recorder.points[0])


class EventLog(Callback):
    def __init__(self):
        self.events = []

    def on_start(self, engine):
        self.events.append("start")

    def on_round_end(self, engine, info):
        self.events.append(f"round:{info.learner}")

    def on_improvement(self, engine, info):
        self.events.append("improvement")

    def on_prediction(self, engine, prediction, elapsed_s):
        self.events.append("prediction")

    def on_learner_error(self, engine, learner_name, exc):
        self.events.append(f"error:{learner_name}")

    def on_end(self, engine):
        self.events.append("end")


def test_events_arrive_in_order():
    log = EventLog()
    train, _, _ = make_dataset("tabular", n_train=60, n_test=5, seed=0)
    learners = [Broken(train.metadata), CentroidLearner(train.metadata, CentroidConfig(max_fits=1))]
    run([log], learners=learners, n_train=60)
    assert log.events == ["start", "error:broken", "round:broken", "round:centroid", "improvement", "prediction",
                          "end"]


def test_logging_and_progress_bar(caplog, capsys):
    caplog.set_level(logging.INFO, logger="autodl_solver.anytime")
    train, _, _ = make_dataset("tabular", n_train=60, n_test=5, seed=0)
    learners = [Broken(train.metadata), CentroidLearner(train.metadata, CentroidConfig(max_fits=1))]
    run([LoggingCallback(), ProgressBar()], learners=learners, n_train=60)
    text = caplog.text
    assert "engine started" in text and "new best" in text and "broken failed" in text
    assert "autodl" in capsys.readouterr().err
    run([ProgressBar(disable=True)], n_train=60)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", ["miniciao", "Monkeys"])
def test_library_run_on_official_samples_is_scorable(name, sample_dataset, tmp_path):
    """An engine run on a real AutoDL sample writes files the project's scorer accepts."""
    from autodl_solver.challenge.learning_curve import RunScorer
    from autodl_solver.data.reader import load_dataset

    data = load_dataset(sample_dataset(name))
    recorder = LearningCurveRecorder()
    engine = Engine(data.metadata, [CentroidLearner(data.metadata, CentroidConfig(max_fits=2))],
                    callbacks=[PredictionWriter(tmp_path, data.name), recorder])
    engine.fit(data.train, 20.0, data.test)
    scorer = RunScorer(data.solution_path, tmp_path)
    assert scorer.update() == len(recorder.points) >= 1
    curve = scorer.curve(time_budget=20.0)
    assert 0.0 < curve.timestamps[0] <= 20.0
    assert -1.0 <= curve.alc() <= 1.0
