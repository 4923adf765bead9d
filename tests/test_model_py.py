"""The drop-in challenge Model: the ingestion loop in eager and graph mode, fallbacks, settings."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from autodl_solver.anytime.learner import Learner
from autodl_solver.challenge import model as model_module
from autodl_solver.challenge.model import Model, load_settings
from autodl_solver.challenge.scoring import nauc
from autodl_solver.data.metadata import Metadata
from autodl_solver.errors import AutoDLInputError

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch, tmp_path):
    """Every test runs with the default settings unless it sets its own."""
    monkeypatch.delenv(model_module.METHOD_ENV, raising=False)
    monkeypatch.delenv(model_module.SEED_ENV, raising=False)
    monkeypatch.setattr(model_module, "settings_paths", lambda: [tmp_path / "none.json"])


def _tabular(n_train=300, n_test=120, seed=0):
    """Breast-cancer-like learnable data as AutoDL tensors (1, 1, F, 1), one-hot labels."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))[: n_train + n_test]
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)[order].reshape(-1, 1, 1, 30, 1)
    y = np.eye(2, dtype=np.float32)[y[order]]
    meta = Metadata(output_dim=2, sample_count=n_train, col_count=30)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), meta


def _tf_sets(train, test):
    x_test, y_test = test
    train_ds = tf.data.Dataset.from_tensor_slices(train)
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, np.zeros_like(y_test)))  # test labels are all zeros
    return train_ds, test_ds


def run_loop(model, train_ds, test_ds, time_budget):
    """The official ingestion core loop; returns the predictions made."""
    start = time.time()
    predictions = []
    while not model.done_training:
        model.train(train_ds, remaining_time_budget=start + time_budget - time.time())
        prediction = model.test(test_ds, remaining_time_budget=start + time_budget - time.time())
        predictions.append(prediction)
        if start + time_budget - time.time() <= 0:
            break
    return predictions, time.time() - start


class _Raising(Learner):
    """Fails in fit."""

    name = "raising"

    def fit(self, data, budget_s):
        raise RuntimeError("boom in fit")

    def predict(self, xs):
        raise RuntimeError("boom in predict")

    def next_cost_s(self):
        return 0.01


class _BreaksAfterFirstFit(Learner):
    """Predicts class means once, then its predictions fail."""

    name = "fragile"

    def __init__(self, metadata, config=None, seed=0):
        super().__init__(metadata, config, seed)
        self.calls = 0

    def fit(self, data, budget_s):
        self.calls += 1
        xs, y = data.get(100)
        self.w = np.stack([np.mean([x.ravel() for x, r in zip(xs, y) if r[k] > 0], axis=0) for k in range(2)])

    def predict(self, xs):
        if self.calls > 1:
            raise RuntimeError("broken after the first round")
        flat = np.stack([x.ravel() for x in xs])
        return (-((flat[:, None, :] - self.w[None]) ** 2).sum(-1)).astype(np.float32)

    def next_cost_s(self):
        return 0.01


@pytest.mark.slow
def test_eager_loop_gives_right_shaped_improving_predictions():
    train, test, meta = _tabular()
    model = Model(meta)
    predictions, spent = run_loop(model, *_tf_sets(train, test), time_budget=6.0)
    assert predictions and spent < 6.0 + 3.0
    for p in predictions:
        assert p.shape == (120, 2) and p.dtype == np.float32 and np.all(np.isfinite(p))
    assert nauc(test[1], predictions[-1]) > 0.8  # it really learned
    assert model.engine.learning_curve  # at least one validated model
    assert model.n_train_calls == len(predictions)


def test_test_before_training_returns_neutral_prediction():
    train, test, meta = _tabular(n_train=40, n_test=17)
    model = Model(meta)
    _, test_ds = _tf_sets(train, test)
    prediction = model.test(test_ds, remaining_time_budget=10)
    np.testing.assert_array_equal(prediction, np.zeros((17, 2), np.float32))


def test_zero_budget_returns_quickly_with_right_shape():
    train, test, meta = _tabular(n_train=40, n_test=13)
    model = Model(meta)
    train_ds, test_ds = _tf_sets(train, test)
    began = time.time()
    model.train(train_ds, remaining_time_budget=0.0)
    assert model.done_training and time.time() - began < 1.0
    prediction = model.test(test_ds, remaining_time_budget=-1.0)
    assert prediction.shape == (13, 2) and np.all(np.isfinite(prediction))


def test_raising_learner_does_not_crash_the_loop():
    from autodl_solver.anytime.engine import Engine

    train, test, meta = _tabular(n_train=60, n_test=11)
    model = Model(meta)
    model.engine = Engine(meta, learners=[_Raising(meta)])
    predictions, _ = run_loop(model, *_tf_sets(train, test), time_budget=3.0)
    assert model.done_training
    assert all(p.shape == (11, 2) and not np.any(p) for p in predictions)


def test_last_good_prediction_survives_a_failing_engine():
    from autodl_solver.anytime.engine import Engine

    train, test, meta = _tabular(n_train=60, n_test=11)
    model = Model(meta)
    model.engine = Engine(meta, learners=[_BreaksAfterFirstFit(meta)])
    train_ds, test_ds = _tf_sets(train, test)
    model.train(train_ds, remaining_time_budget=20)
    first = model.test(test_ds, remaining_time_budget=19)
    assert first.shape == (11, 2) and np.any(first)

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    model.engine.predict_test = broken
    model.engine.train = broken
    for _ in range(3):
        model.train(train_ds, remaining_time_budget=18)
        again = model.test(test_ds, remaining_time_budget=17)
        np.testing.assert_array_equal(again, first)
    assert model.done_training  # the engine cannot continue: training stops


def test_settings_from_file_and_environment(monkeypatch, tmp_path):
    path = tmp_path / model_module.SETTINGS_FILE
    path.write_text(json.dumps({"method": "baseline0", "seed": 5, "config": {"holdout_max": 50}}))
    monkeypatch.setattr(model_module, "settings_paths", lambda: [path])
    settings = load_settings()
    assert (settings["method"], settings["seed"], settings["config"]) == ("baseline0", 5, {"holdout_max": 50})
    monkeypatch.setenv(model_module.METHOD_ENV, "mlp")
    monkeypatch.setenv(model_module.SEED_ENV, "9")
    settings = load_settings()
    assert (settings["method"], settings["seed"]) == ("mlp", 9)
    meta = _tabular(n_train=40, n_test=5)[2]
    monkeypatch.delenv(model_module.METHOD_ENV)
    monkeypatch.delenv(model_module.SEED_ENV)
    model = Model(meta)
    assert model.engine.method == "baseline0" and model.engine.seed == 5
    assert model.engine.config.holdout_max == 50  # the file's engine override reached the engine


def test_bad_settings_are_one_line_errors(monkeypatch, tmp_path):
    path = tmp_path / model_module.SETTINGS_FILE
    monkeypatch.setattr(model_module, "settings_paths", lambda: [path])
    path.write_text("{not json")
    with pytest.raises(AutoDLInputError, match="autodl_solver_config.json"):
        load_settings()
    path.write_text(json.dumps({"methd": "solver"}))
    with pytest.raises(AutoDLInputError, match="only the keys"):
        load_settings()
    path.write_text(json.dumps({"seed": "x"}))
    with pytest.raises(AutoDLInputError, match="seed"):
        load_settings()
    path.write_text(json.dumps({"method": "nonsense"}))
    with pytest.raises(AutoDLInputError, match="method"):
        Model(_tabular(n_train=40, n_test=5)[2])


def test_importable_as_top_level_model_module():
    code = "import sys; sys.path.insert(0, sys.argv[1]); from model import Model; print(Model.__module__)"
    proc = subprocess.run([sys.executable, "-c", code, str(REPO / "autodl_solver" / "challenge")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "model"


GRAPH_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import tensorflow as tf
    tf.compat.v1.disable_v2_behavior()
    from autodl_solver.challenge.model import Model
    from autodl_solver.data.metadata import Metadata
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    x = (rng.normal(size=(200, 1, 1, 8, 1)) + y[:, None, None, None, None]).astype(np.float32)
    onehot = np.eye(3, dtype=np.float32)[y]
    meta = Metadata(output_dim=3, sample_count=150, col_count=8)
    data = tf.compat.v1.data.Dataset
    train = data.from_tensor_slices((x[:150], onehot[:150]))
    test = data.from_tensor_slices((x[150:], np.zeros_like(onehot[150:])))
    model = Model(meta)
    start, budget, shapes = time.time(), float(sys.argv[1]), []
    while not model.done_training:
        model.train(train, remaining_time_budget=start + budget - time.time())
        p = model.test(test, remaining_time_budget=start + budget - time.time())
        shapes.append(list(p.shape) + [bool(np.all(np.isfinite(p))), bool(np.any(p))])
        if start + budget - time.time() <= 0:
            break
    print("RESULT " + json.dumps({"eager": tf.executing_eagerly(), "shapes": shapes}))
""")


@pytest.mark.slow
def test_graph_mode_loop_in_subprocess():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop(model_module.METHOD_ENV, None)
    proc = subprocess.run([sys.executable, "-c", GRAPH_SCRIPT, "4"], capture_output=True, text=True,
                          timeout=240, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert out["eager"] is False and out["shapes"]
    assert all(s[:3] == [50, 3, True] for s in out["shapes"])
    assert out["shapes"][-1][3]  # a real (non-neutral) prediction was made in graph mode


@pytest.mark.slow
def test_official_pipeline_on_mini1(sample_dataset):
    from autodl_solver.challenge.tf_dataset import build_official_dataset
    from autodl_solver.data.textproto import read_metadata

    root = sample_dataset("mini1") / "mini1.data"
    train_meta, test_meta = read_metadata(root / "train"), read_metadata(root / "test")
    model = Model(train_meta)
    train_ds = build_official_dataset(root / "train", train_meta)
    test_ds = build_official_dataset(root / "test", test_meta)
    predictions, _ = run_loop(model, train_ds, test_ds, time_budget=5.0)
    assert predictions
    assert all(p.shape == (10, 10) and np.all(np.isfinite(p)) for p in predictions)


def test_model_log_reaches_stderr_beside_an_error_recorder(monkeypatch):
    """Ingestion attaches a (non-writing) recorder of errors to the package logger; the model's INFO log must
    still be set up, or ingestion.log shows nothing of the model's rounds."""
    import logging

    from autodl_solver.challenge.model import setup_logging

    package = logging.getLogger("autodl_solver")
    recorder = logging.Handler(logging.WARNING)
    monkeypatch.setattr(package, "handlers", [recorder])
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(package, "level", package.level)
    setup_logging()
    assert any(isinstance(h, logging.StreamHandler) for h in package.handlers)


def _written_tabular(tmp_path, n_train=200, n_test=300):
    """_tabular's data written as an official dataset folder; returns (train subset, test subset)."""
    from autodl_solver.challenge.tf_dataset import OfficialDataset
    from autodl_solver.data.converters.arrays import from_arrays

    (x, y), (x_test, y_test), _ = _tabular(n_train=n_train, n_test=n_test)
    result = from_arrays(x, y.argmax(1), tmp_path, "tab", x_test=x_test, y_test=y_test.argmax(1))
    root = result.path / "tab.data"
    return OfficialDataset(root / "train"), OfficialDataset(root / "test")


def test_the_test_size_is_found_beside_the_train_subset(tmp_path):
    from autodl_solver.challenge.tf_dataset import sibling_test_count

    train, _ = _written_tabular(tmp_path)
    meta = train.get_metadata()
    assert meta.get_dataset_name() == str(train.subset_dir)  # the official meaning: the subset folder
    assert sibling_test_count(meta) == 300

    class Official:  # the 2019 AutoDLMetadata has no subset_dir, only get_dataset_name()
        def get_dataset_name(self):
            return str(train.subset_dir)

    assert sibling_test_count(Official()) == 300
    assert sibling_test_count(Metadata(output_dim=2)) is None  # nothing known: read to the end
    assert Metadata.from_official(meta) is meta


def test_a_large_test_set_is_predicted_in_part_first_then_whole(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(model_module, "TEST_READ_SLICE_S", 0.0)  # the first call reads one chunk only
    monkeypatch.setenv(model_module.METHOD_ENV, "learner:tabular_linear")
    train, test = _written_tabular(tmp_path)
    model = Model(train.get_metadata())
    model.train(train.get_dataset(), remaining_time_budget=30.0)
    model.done_training = False  # this tiny set is learnt at once; a real one would go on training
    with caplog.at_level("INFO", logger="autodl_solver.challenge.model"):
        first = model.test(test.get_dataset(), remaining_time_budget=30.0)
    read = model._test_data.n_read
    assert first.shape == (300, 2) and 0 < read < 300
    assert "of 300 test rows read so far" in caplog.text
    np.testing.assert_allclose(first[read:], np.broadcast_to(first[:read].mean(0), (300 - read, 2)), rtol=1e-5)
    assert model._test_costs == []  # a partial call does not set the test reserve
    rounds = len(model.engine.history)
    model.train(train.get_dataset(), remaining_time_budget=29.0)  # returns at once: the whole set comes next
    assert len(model.engine.history) == rounds and not model.done_training
    second = model.test(test.get_dataset(), remaining_time_budget=30.0)
    assert model._test_data.complete and second.shape == (300, 2)
    model._record_test_overhead()  # what the next train() does first
    assert len(model._read_costs) == 1 and model._test_costs == []  # this call read the rest of the test set
    assert len(np.unique(second[read:].round(6), axis=0)) > 1  # every row predicted now
    y_test = _tabular(n_train=200, n_test=300)[1][1]
    assert nauc(y_test, second) > nauc(y_test, first) > 0


def test_the_test_reserve_counts_a_call_beyond_the_engines_prediction(tmp_path, monkeypatch):
    """The engine reserves the next best model's prediction itself; Model keeps only the rest of a test call."""
    monkeypatch.setenv(model_module.METHOD_ENV, "learner:tabular_linear")
    train, test = _written_tabular(tmp_path)
    model = Model(train.get_metadata())
    assert model._test_reserve_s() == model_module.FIRST_TEST_RESERVE_S  # nothing measured yet
    model.train(train.get_dataset(), remaining_time_budget=30.0)
    model.test(test.get_dataset(), remaining_time_budget=29.0)  # reads the whole test set
    predict = model.engine.predict_test

    def slow(rows):
        time.sleep(1.0)
        return predict(rows)

    monkeypatch.setattr(model.engine, "predict_test", slow)
    model.test(test.get_dataset(), remaining_time_budget=28.0)
    time.sleep(0.2)  # ingestion writing the prediction before the next train()
    model.done_training = True  # only the bookkeeping of train() is wanted here
    model.train(train.get_dataset(), remaining_time_budget=27.0)
    assert len(model._test_costs) == 1
    overhead = model._test_costs[0]
    assert 0.2 <= overhead < 0.9  # the 0.2 s after the call counts, the 1 s prediction does not
    assert model._test_reserve_s() == pytest.approx(model_module.TEST_RESERVE_FACTOR * overhead)
