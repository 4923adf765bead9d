"""AutoDLClassifier: the estimator contract, inputs, learning curve, save/load."""
from __future__ import annotations

import json

import numpy as np
import pytest

from autodl_solver.api import AutoDLClassifier
from autodl_solver.errors import AutoDLInputError

BUDGET = 3.0


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:100], y[:100], x[100:], y[100:]


@pytest.fixture(scope="module")
def fitted(iris):
    x, y, xt, yt = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    return AutoDLClassifier(time_budget=BUDGET, seed=1).fit(x, names[y], X_test=(xt, names[yt]))


def test_constructor_only_stores_params():
    clf = AutoDLClassifier(time_budget=5, method="mlp", seed=2, config={"holdout_max": 50})
    assert clf.get_params() == {"time_budget": 5, "method": "mlp", "seed": 2, "config": {"holdout_max": 50},
                                "verbose": False, "output_dir": None, "sample_rate": None}
    assert not [k for k in vars(clf) if k.endswith("_")]
    assert clf.set_params(seed=4).seed == 4
    with pytest.raises(AutoDLInputError, match="nope"):
        clf.set_params(nope=1)
    with pytest.raises(AutoDLInputError, match="not fitted"):
        clf.predict(np.zeros((2, 4)))


def test_fit_on_a_table_with_string_labels(fitted, iris):
    _, _, xt, yt = iris
    clf = fitted
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"] and clf.n_classes_ == 3
    assert clf.multilabel_ is False and clf.domain_ == "tabular"
    assert clf.metadata_.tensor_shape == (1, 1, 4, 1) and clf.metadata_.sample_count == 100
    proba = clf.predict_proba(xt)
    assert proba.shape == (50, 3) and np.all(np.isfinite(proba))
    labels = clf.predict(xt)
    assert set(labels) <= set(clf.classes_)
    assert np.mean(labels == clf.classes_[yt]) > 0.6  # chance is 1/3; which learner wins depends on timing
    assert clf.nauc_score(xt, clf.classes_[yt]) > 0.8
    assert clf.score(xt, clf.classes_[yt]) == np.mean(labels == clf.classes_[yt])  # accuracy, as scikit-learn's
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)  # a distribution per row
    curve = clf.learning_curve_
    assert curve and all({"elapsed_s", "val_score", "learner", "test_nauc"} <= set(p) for p in curve)
    assert [p["elapsed_s"] for p in curve] == sorted(p["elapsed_s"] for p in curve)
    assert curve[-1]["test_nauc"] > 0.8


def test_multilabel_targets_give_a_binary_matrix():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 6)).astype(np.float32)
    y = np.stack([x[:, 0] > 0, x[:, 1] > 0, x[:, 0] + x[:, 2] > 0], axis=1).astype(np.float32)
    clf = AutoDLClassifier(time_budget=BUDGET).fit(x[:120], y[:120])
    assert clf.multilabel_ and list(clf.classes_) == [0, 1, 2]
    predicted = clf.predict(x[120:])
    assert predicted.shape == (40, 3) and set(np.unique(predicted)) <= {0, 1}
    assert clf.nauc_score(x[120:], y[120:]) > 0.5
    assert clf.learning_curve_ and "test_nauc" not in clf.learning_curve_[0]


def test_fit_on_our_dataset_object():
    from autodl_solver.testing.datasets import make_dataset

    train, test, y_test = make_dataset("tabular", n_train=80, n_test=40, output_dim=3, seed=0)
    clf = AutoDLClassifier(time_budget=BUDGET).fit(train, X_test=(test, y_test))
    assert list(clf.classes_) == [0, 1, 2]
    assert clf.predict_proba(test).shape == (40, 3)
    assert clf.learning_curve_[-1]["test_nauc"] is not None


@pytest.mark.parametrize("kwargs, X, y, where", [
    ({}, np.zeros((0, 3)), np.zeros(0), "X"),
    ({}, np.zeros((4, 3)), np.array([0, 1, np.nan, 1]), "y"),
    ({}, np.zeros((4, 3)), np.array([0, 1, 1]), "y"),
    ({}, np.zeros((4, 3)), np.array([1, 1, 1, 1]), "y"),
    ({}, np.zeros((4, 3)), None, "y"),
    ({}, np.zeros((4, 3, 3, 3, 3, 3)), np.array([0, 1, 0, 1]), "X"),
    ({"time_budget": 0}, np.zeros((4, 3)), np.array([0, 1, 0, 1]), "time_budget"),
    ({"time_budget": -1}, np.zeros((4, 3)), np.array([0, 1, 0, 1]), "time_budget"),
    ({"config": {"no_such_field": 1}}, np.zeros((4, 3)), np.array([0, 1, 0, 1]), "no_such_field"),
])
def test_bad_input_names_the_field(kwargs, X, y, where):
    with pytest.raises(AutoDLInputError) as info:
        AutoDLClassifier(**kwargs).fit(X, y)
    assert where in info.value.where


def test_predict_checks_the_feature_count(fitted):
    with pytest.raises(AutoDLInputError, match="X has 5 features, but AutoDLClassifier is expecting 4"):
        fitted.predict_proba(np.zeros((2, 5)))
    with pytest.raises(AutoDLInputError, match="not seen in fit"):
        fitted.nauc_score(np.zeros((2, 4)), ["setosa", "rose"])


@pytest.mark.slow
def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    import torch
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    clf = AutoDLClassifier(time_budget=BUDGET, seed=0).fit(x[:400], y[:400])
    folder = clf.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "weights.pt"]
    document = json.loads((folder / "config.json").read_text())
    assert document["metadata"]["col_count"] == 30 and document["classes"] == [0, 1]
    torch.load(folder / "weights.pt", weights_only=True)  # plain tensors and types only
    loaded = AutoDLClassifier.load(folder)
    np.testing.assert_array_equal(loaded.predict_proba(x[400:]), clf.predict_proba(x[400:]))
    np.testing.assert_array_equal(loaded.predict(x[400:]), clf.predict(x[400:]))
    assert loaded.classes_.dtype == clf.classes_.dtype and loaded.learning_curve_ == clf.learning_curve_
    assert loaded.get_params() == clf.get_params()
    clf.save(folder)  # overwriting a saved model is allowed ...
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(AutoDLInputError, match="not a saved"):  # ... any other folder is not
        clf.save(other)
    assert (other / "keep.txt").read_text() == "mine"
    with pytest.raises(AutoDLInputError, match="not a saved"):
        AutoDLClassifier.load(other)


@pytest.mark.slow
def test_fit_on_an_autodl_dataset_path(sample_dataset, tmp_path):
    path = sample_dataset("mini1")
    clf = AutoDLClassifier(time_budget=5.0, output_dir=tmp_path / "run").fit(path)
    assert clf.domain_ == "image" and clf.n_classes_ == 10
    assert clf.learning_curve_ and "test_nauc" in clf.learning_curve_[0]
    assert sorted((tmp_path / "run").glob("mini1.predict_*"))
    assert (tmp_path / "run" / "start.txt").is_file() and (tmp_path / "run" / "end.txt").is_file()


@pytest.mark.parametrize("channels", [None, 3])
def test_image_arrays_fit_predict_and_reload(tmp_path, channels):
    """(n, H, W) and (n, H, W, C) arrays are images: the image portfolio trains, saves and reloads."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.normal(0, 0.3, (60, 12, 12)).astype(np.float32)
    for i, c in enumerate(y):  # a bright bar whose row depends on the class
        X[i, 2 + 4 * c: 4 + 4 * c, :] += 2.0
    if channels:
        X = np.repeat(X[..., None], channels, axis=-1)
    config = {"holdout_min_examples": 1000}  # no hold-out: keep this quick and deterministic
    clf = AutoDLClassifier(time_budget=6, seed=0, config=config).fit(X[:45], y[:45])
    assert clf.domain_ == "image"
    proba = clf.predict_proba(X[45:])
    assert proba.shape == (15, 3) and (proba.argmax(1) == y[45:]).mean() > 0.6
    clf.save(tmp_path / "m")
    loaded = AutoDLClassifier.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(X[45:]), proba, atol=1e-5)
    members = [name for name, _ in clf.engine_.state_dict()["members"]]
    assert sorted(loaded.engine_.learner_names) == sorted(members)  # load builds the best model's learners only


def test_progress_bar_completes_when_training_ends_early(capsys):
    pytest.importorskip("tqdm")
    x, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    clf = AutoDLClassifier(time_budget=30, verbose=True, method="learner:tabular_linear").fit(x, y)
    assert clf.fit_time_s_ < 30  # the only learner is done long before the budget
    err = capsys.readouterr().err
    assert "100%" in err and "done at" in err
