"""autodl_solver.testing: generated datasets of every domain and the check_learner battery."""
from __future__ import annotations

import time

import numpy as np
import pytest

from autodl_solver.anytime.validation import validation_nauc
from autodl_solver.data.labels import is_multilabel
from autodl_solver.domains.inference import infer_domain
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import (DOMAINS, CentroidConfig, CentroidLearner, check_learner, inject_nan,
                                   make_dataset)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("multilabel", [False, True])
def test_datasets_have_the_declared_shapes_and_are_learnable(domain, multilabel):
    train, test, y_test = make_dataset(domain, n_train=80, n_test=40, output_dim=3, multilabel=multilabel, seed=1)
    meta = train.metadata
    assert infer_domain(meta) == domain
    assert len(train) == meta.sample_count == 80 and len(test) == test.metadata.sample_count == 40
    assert not test.has_labels and y_test.shape == (40, 3)
    assert is_multilabel(train.labels()) == multilabel
    assert np.all(y_test.sum(axis=0) > 0)
    for x in train.take(0, 80)[0]:
        assert x.dtype == np.float32 and x.ndim == 4 and np.all(np.isfinite(x))
        assert all(w in (-1, g) for g, w in zip(x.shape, meta.tensor_shape))
    if domain == "text":
        assert meta.channel_to_index and max(int(x.max()) for x in train.take(0, 80)[0]) < len(meta.channel_to_index)
    if domain == "speech":
        assert meta.sample_rate == 16000
    learner = CentroidLearner(meta)
    learner.fit(_AllRows(train), 1.0)
    assert validation_nauc(y_test, learner.predict(test.take(0, 40)[0])) > 0.3


class _AllRows:
    def __init__(self, dataset):
        self.dataset = dataset
        self.n_total = len(dataset)
        self.multilabel = is_multilabel(dataset.labels())

    def get(self, n):
        return self.dataset.take(0, min(n, self.n_total))


@pytest.mark.parametrize("domain", ["image", "video"])
def test_variable_size_variants(domain):
    train, _, _ = make_dataset(domain, n_train=20, variable_size=True)
    shapes = {x.shape for x in train.take(0, 20)[0]}
    assert len(shapes) > 1
    assert -1 in train.metadata.tensor_shape


def test_datasets_are_seeded_and_validated():
    a, _, ya = make_dataset("speech", seed=3)
    b, _, yb = make_dataset("speech", seed=3)
    c, _, _ = make_dataset("speech", seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.take(0, 60)[0], b.take(0, 60)[0]))
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a.take(0, 1)[0][0][:100], c.take(0, 1)[0][0][:100])
    with pytest.raises(AutoDLInputError, match="domain"):
        make_dataset("graph")
    with pytest.raises(AutoDLInputError, match="n_train"):
        make_dataset("tabular", n_train=0)
    binary, _, yb = make_dataset("tabular", output_dim=1, n_test=20)
    assert binary.labels().shape == (60, 1) and 0 < yb.sum() < 20


def test_inject_nan():
    train, _, _ = make_dataset("tabular", n_train=50)
    dirty = inject_nan(train, 0.25, seed=0)
    values = np.stack(dirty.take(0, 50)[0])
    assert 0.1 < np.isnan(values).mean() < 0.4
    assert not np.isnan(np.stack(train.take(0, 50)[0])).any()


@pytest.mark.parametrize("domain", DOMAINS)
def test_reference_learner_passes_the_battery(domain):
    report = check_learner(CentroidLearner, domain=domain, budget_s=0.5)
    assert "state_dict round trip" in report["passed"]
    assert any("single training example" in c for c in report["passed"])


class Float64Output(CentroidLearner):
    def predict(self, xs):
        return super().predict(xs).astype(np.float64)


class IgnoresBudget(CentroidLearner):
    def fit(self, data, budget_s):
        super().fit(data, budget_s)
        time.sleep(budget_s * 1.5 + 1.2)


class NaNOnNaN(CentroidLearner):
    def predict(self, xs):
        out = super().predict(xs)
        if any(np.isnan(x).any() for x in xs):
            out[:] = np.nan
        return out


class NotResumable(CentroidLearner):
    def fit(self, data, budget_s):
        if self.fits:
            raise RuntimeError("already fitted")
        super().fit(data, budget_s)


class PickledState(CentroidLearner):
    def state_dict(self):
        return {"model": object()}


class ForgetfulState(CentroidLearner):
    def load_state_dict(self, state):
        pass


class NegativeCost(CentroidLearner):
    def next_cost_s(self):
        return -1.0


@pytest.mark.parametrize("cls, message", [
    (Float64Output, "float32"),
    (NaNOnNaN, "NaN features"),
    (NotResumable, "second fit"),
    (PickledState, "weights_only"),
    (ForgetfulState, "predict"),
    (NegativeCost, "next_cost_s"),
])
def test_battery_catches_broken_learners(cls, message):
    with pytest.raises(AssertionError, match=message) as err:
        check_learner(cls, domain="tabular", budget_s=0.2)
    assert "check_learner(centroid, domain='tabular')" in str(err.value)


def test_battery_catches_a_learner_ignoring_its_budget():
    with pytest.raises(AssertionError, match="budget_s=0.1"):
        check_learner(IgnoresBudget, domain="tabular", budget_s=0.1)


def test_reference_learner_simulated_cost():
    train, _, _ = make_dataset("tabular", n_train=30)
    learner = CentroidLearner(train.metadata, CentroidConfig(cost_s=0.05, max_fits=1))
    assert learner.next_cost_s() == 0.05 and not learner.done
    tic = time.perf_counter()
    learner.fit(_AllRows(train), budget_s=1.0)
    assert time.perf_counter() - tic >= 0.05 and learner.done


class BusyIgnoresBudget(CentroidLearner):
    """Computes (no sleep) for a fixed time whatever its budget."""

    def fit(self, data, budget_s):
        super().fit(data, budget_s)
        end = time.thread_time() + budget_s * 1.5 + 1.3  # CPU seconds: more than the limit even on a busy machine
        while time.thread_time() < end:
            pass


def test_battery_catches_a_computing_learner_ignoring_its_budget():
    with pytest.raises(AssertionError, match=r"budget_s=0.1 \(limit 1.15 s; .* of its own\)"):
        check_learner(BusyIgnoresBudget, domain="tabular", budget_s=0.1)


class SlowedByTheMachine(CentroidLearner):
    """Over the wall-clock limit, but only because the machine made it wait (simulated below)."""

    def fit(self, data, budget_s):
        super().fit(data, budget_s)
        time.sleep(budget_s * 1.5 + 1.2)


def test_budget_check_takes_off_the_time_spent_waiting_for_a_cpu(monkeypatch):
    import importlib

    module = importlib.import_module("autodl_solver.testing.check_learner")

    readings = iter(range(1000))

    def fake_delays():  # every reading 10 s later than the last: each fit "waited" 10 s for a CPU
        return {1: 10.0 * next(readings)}

    monkeypatch.setattr(module, "run_queue_delays", fake_delays)
    check_learner(SlowedByTheMachine, domain="tabular", budget_s=0.1)  # passes: its own time is tiny
    assert module.waited_for_cpu({1: 1.0}, {1: 3.5, 2: 0.5}) == 2.5  # a new thread counts from zero


def test_budget_check_measures_run_queue_waits_here():
    from autodl_solver.testing.check_learner import run_queue_delays, waited_for_cpu

    delays = run_queue_delays()
    if not delays:
        pytest.skip("no /proc/self/task/*/schedstat on this system")
    assert all(v >= 0 for v in delays.values())
    assert waited_for_cpu(delays, run_queue_delays()) >= 0
