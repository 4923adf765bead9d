"""Tabular learners: GBDT (LightGBM), the 2x256 MLP and logistic regression."""
from __future__ import annotations

import io
import time

import numpy as np
import pytest

from autodl_solver.anytime.learner import TrainData
from autodl_solver.anytime.validation import validation_nauc
from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.registry import create
from autodl_solver.domains.core.standardizer import Standardizer

TABULAR = ("tabular_gbdt", "tabular_mlp", "tabular_linear")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One torch thread while testing: on a shared, oversubscribed machine OpenMP's spin-waiting
    makes tiny steps 10-100x slower with 2 threads (measured: 40 ms vs 0.5 ms per step). The learners
    themselves never change the caller's setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class ArrayTrainData(TrainData):
    """TrainData over in-memory rows that counts the rows asked for."""

    def __init__(self, x: np.ndarray, y: np.ndarray, multilabel: bool = False) -> None:
        self.xs = [np.asarray(r, np.float32).reshape(1, 1, -1, 1) for r in x]
        self.y = np.asarray(y, np.float32)
        self._multilabel = multilabel
        self.requests: list[int] = []

    @property
    def n_total(self) -> int:
        return len(self.xs)

    def get(self, n):
        self.requests.append(int(n))
        n = min(int(n), len(self.xs))
        return self.xs[:n], self.y[:n].copy()

    @property
    def multilabel(self) -> bool:
        return self._multilabel


def _meta(n_features: int, k: int) -> Metadata:
    return Metadata(output_dim=k, col_count=n_features)


def _blobs(n=300, f=6, k=3, seed=0, multilabel=False):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 2, (k, f))
    if multilabel:
        y = (rng.random((n, k)) < 0.4).astype(np.float32)
    else:
        y = np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
    x = y @ means + rng.normal(0, 1, (n, f))
    return x.astype(np.float32), y


def _rows(x):
    return [np.asarray(r, np.float32).reshape(1, 1, -1, 1) for r in x]


def _check_pred(pred, n, k):
    assert pred.shape == (n, k) and pred.dtype == np.float32 and np.all(np.isfinite(pred))


def _fit_predict(name, x, y, multilabel=False, calls=2, budget=2.0, xtest=None):
    k = y.shape[1]
    learner = create(name, _meta(x.shape[1], k), seed=0)
    data = ArrayTrainData(x, y, multilabel)
    for _ in range(calls):
        learner.fit(data, budget)
    pred = learner.predict(_rows(x if xtest is None else xtest))
    _check_pred(pred, len(x if xtest is None else xtest), k)
    return learner, pred


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("name", TABULAR)
def test_nan_inf_and_constant_features(name):
    x, y = _blobs()
    x[::3, 0] = np.nan
    x[1::5, 1] = np.inf
    x[2::7, 2] = -np.inf
    x[:, 3] = 5.0  # constant
    x[:, 4] = np.nan  # all missing
    _, pred = _fit_predict(name, x, y)
    assert validation_nauc(y, pred) > 0.5


@pytest.mark.parametrize("name", TABULAR)
@pytest.mark.parametrize("multilabel", [False, True])
def test_class_without_positive_example(name, multilabel):
    x, y = _blobs(k=4, multilabel=multilabel)
    y[:, 2] = 0.0
    if not multilabel:
        y[y.sum(axis=1) == 0, 0] = 1.0
    _, pred = _fit_predict(name, x, y, multilabel=multilabel)
    assert validation_nauc(y, pred) > 0.5


@pytest.mark.parametrize("name", TABULAR)
def test_one_example_per_class_and_single_example(name):
    x, y = _blobs(n=3, k=3)
    y = np.eye(3, dtype=np.float32)
    _fit_predict(name, x, y)
    _fit_predict(name, x[:1], y[:1])


@pytest.mark.parametrize("name", TABULAR)
@pytest.mark.parametrize("multilabel", [False, True])
def test_all_zero_labels(name, multilabel):
    x, _ = _blobs(n=60)
    _fit_predict(name, x, np.zeros((60, 3), np.float32), multilabel=multilabel)


@pytest.mark.parametrize("name", TABULAR)
def test_output_dim_one(name):
    x, y = _blobs(n=200, k=2)
    y1 = y[:, 1:]
    _, pred = _fit_predict(name, x, y1, multilabel=False)
    assert validation_nauc(y1, pred) > 0.8


@pytest.mark.parametrize("name", TABULAR)
@pytest.mark.parametrize("budget", [0.0, -1.0])
def test_non_positive_budget_returns_without_training(name, budget):
    x, y = _blobs(n=50)
    learner = create(name, _meta(6, 3))
    data = ArrayTrainData(x, y)
    cost = learner.next_cost_s()
    learner.fit(data, budget)
    assert data.requests == [] and learner.next_cost_s() == cost
    assert np.all(learner.predict(_rows(x[:5])) == 0)


# ---------------------------------------------------- contract behaviour
@pytest.mark.parametrize("name", TABULAR)
def test_state_dict_round_trip_is_weights_only_and_deterministic(name):
    import torch

    x, y = _blobs(n=250)
    a, pred_a = _fit_predict(name, x, y)
    _, pred_b = _fit_predict(name, x, y)
    np.testing.assert_array_equal(pred_a, pred_b)  # same seed, same result
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    fresh = create(name, _meta(6, 3))
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    np.testing.assert_allclose(fresh.predict(_rows(x)), pred_a, rtol=1e-5, atol=1e-6)
    fresh.fit(ArrayTrainData(x, y), 1.0)  # a loaded learner can keep training
    _check_pred(fresh.predict(_rows(x)), len(x), 3)


@pytest.mark.parametrize("name", TABULAR)
def test_fit_respects_a_small_budget_and_estimates_its_cost(name):
    x, y = _blobs(n=6000, f=40, k=5)
    learner = create(name, _meta(40, 5))
    data = ArrayTrainData(x, y)
    for _ in range(4):
        tic = time.perf_counter()
        learner.fit(data, 0.3)
        assert time.perf_counter() - tic < 0.3 * 1.5 + 1.0
        cost = learner.next_cost_s()
        assert np.isfinite(cost) and cost >= 0


# ------------------------------------------------------------------ GBDT
def test_gbdt_tiny_first_model_then_growing_rows_and_continued_boosting():
    x, y = _blobs(n=3000, f=8, k=3)
    learner = create("tabular_gbdt", _meta(8, 3))
    data = ArrayTrainData(x, y)
    learner.fit(data, 10.0)
    assert data.requests == [500]
    state = learner.state_dict()
    assert state["rows"] == 500 and state["models"][0]["rounds"] == 10
    booster = learner._models[0].booster
    learner.fit(data, 10.0)
    assert data.requests[-1] == 1000 and learner._models[0].booster is not booster  # rebuilt on more rows
    learner.fit(data, 10.0)
    learner.fit(data, 10.0)  # 2000 -> 3000 rows: everything is in
    assert learner.state_dict()["rows"] == 3000
    booster, rounds = learner._models[0].booster, learner._models[0].rounds
    learner.fit(data, 10.0)
    assert learner._models[0].booster is booster and learner._models[0].rounds > rounds  # same booster, more rounds
    assert isinstance(learner.state_dict()["models"][0]["booster"], str)  # LightGBM text dump, no pickle


def test_gbdt_multilabel_is_one_vs_rest_with_constant_columns():
    x, y = _blobs(n=200, k=4, multilabel=True)
    y[:, 1] = 0.0
    learner, pred = _fit_predict("tabular_gbdt", x, y, multilabel=True)
    models = learner.state_dict()["models"]
    assert [m["columns"] for m in models] == [[0], [1], [2], [3]]
    assert models[1]["booster"] is None and np.all(pred[:, 1] == pred[0, 1])


def test_gbdt_respects_the_engine_row_window():
    x, y = _blobs(n=2000)
    data = ArrayTrainData(x, y)
    data.n_available = 500  # the engine's window: no more rows this round
    learner = create("tabular_gbdt", _meta(6, 3))
    learner.fit(data, 5.0)
    learner.fit(data, 5.0)
    assert max(data.requests) == 500 and learner._rows == 500


# ------------------------------------------------------------------- MLP
def test_standardizer_masks_missing_values():
    x = np.array([[1.0, np.nan, 3.0], [3.0, 2.0, 3.0], [np.inf, 4.0, 3.0]], np.float32)
    s = Standardizer(clip=5.0).fit(x)
    z = s.transform(x)
    assert s.out_dim == 5 and z.shape == (3, 5)  # two columns had a missing value
    assert np.all(np.isfinite(z)) and np.all(np.abs(z[:, :3]) <= 5.0)
    np.testing.assert_array_equal(z[:, 3:], [[0, 1], [0, 0], [1, 0]])
    assert z[0, 1] == 0.0 and np.all(z[:, 2] == 0.0)  # missing -> 0; constant column -> 0


def test_mlp_epochs_double_and_multilabel_uses_sigmoid():
    x, y = _blobs(n=200, k=3, multilabel=True)
    learner = create("tabular_mlp", _meta(6, 3))
    data = ArrayTrainData(x, y, multilabel=True)
    epochs = []
    for _ in range(3):
        learner.fit(data, 5.0)
        epochs.append(learner.state_dict()["epochs_total"])
    assert epochs == [4, 12, 28]
    pred = learner.predict(_rows(x))
    assert not np.allclose(pred.sum(axis=1), 1.0)  # independent sigmoids, not a softmax


# --------------------------------------------------------- learning quality
def _sklearn_split(loader):
    from sklearn.model_selection import train_test_split

    x, y = loader(return_X_y=True)
    k = int(y.max()) + 1
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    eye = np.eye(k, dtype=np.float32)
    return xtr.astype(np.float32), eye[ytr], xte.astype(np.float32), eye[yte]


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
@pytest.mark.parametrize("name", ["tabular_gbdt", "tabular_mlp"])
def test_learning_quality_on_real_data(name, dataset):
    from sklearn import datasets

    xtr, ytr, xte, yte = _sklearn_split(getattr(datasets, f"load_{dataset}"))
    learner = create(name, _meta(xtr.shape[1], ytr.shape[1]))
    data = ArrayTrainData(xtr, ytr)
    tic = time.perf_counter()
    while not learner.done and time.perf_counter() - tic < 3.0:
        learner.fit(data, 1.0)
    assert validation_nauc(yte, learner.predict(_rows(xte))) > 0.9
