"""The any-time engine: budget, gating, failures, determinism, ensembles, persistence, config."""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch  # the test learners' state_dict needs it; the solver's learners import it off the clock too
from sklearn.metrics import roc_auc_score

from autodl_solver.anytime.callbacks import Callback, LearningCurveRecorder
from autodl_solver.anytime.clock import Clock
from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.engine import Engine
from autodl_solver.anytime.learner import Learner
from autodl_solver.anytime.validation import pair_flip, validation_nauc
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.domains.core.shapes import available_rows
from autodl_solver.errors import AutoDLInputError, NoPredictionError
from autodl_solver.testing import CentroidConfig, CentroidLearner, inject_nan, make_dataset


# ------------------------------------------------------------------ learners
class CountingCentroid(CentroidLearner):
    """Centroid learner with a fixed, honest simulated cost that counts its calls."""

    def __init__(self, metadata, cost_s=0.0, max_fits=None, name="centroid", seed=0):
        super().__init__(metadata, CentroidConfig(cost_s=cost_s, max_fits=max_fits), seed)
        self.name = name
        self.predict_calls = 0
        self.rows_seen: list[int] = []

    def fit(self, data, budget_s):
        super().fit(data, budget_s)
        self.rows_seen.append(self._seen)

    def predict(self, xs):
        self.predict_calls += 1
        return super().predict(xs)

    def next_cost_s(self):
        return float(self.config.cost_s)


class FailOnSecondFit(CountingCentroid):
    def fit(self, data, budget_s):
        if self.fits >= 1:
            raise RuntimeError("boom on the second fit")
        super().fit(data, budget_s)


class SlowLearner(CountingCentroid):
    """Claims each increment costs 100 s: must never be started under a small budget."""

    def next_cost_s(self):
        return 100.0


class NaNLearner(CountingCentroid):
    def predict(self, xs):
        out = super().predict(xs)
        out[0, 0] = np.nan
        return out


class WrongShapeLearner(CountingCentroid):
    def predict(self, xs):
        return super().predict(xs)[:, :1]


class DegradingLearner(CountingCentroid):
    """Good after its first fit, then noisier and noisier (the gate must ignore it)."""

    def predict(self, xs):
        out = super().predict(xs)
        rng = np.random.default_rng(self.fits)
        return out + rng.normal(0, 3.0 * (self.fits - 1) * (np.abs(out).mean() + 1), out.shape).astype(np.float32)


class HalfFeatures(CountingCentroid):
    """Sees only one half of the tabular features (two of them complement each other)."""

    def __init__(self, metadata, half, **kw):
        super().__init__(metadata, **kw)
        self.half = half

    def _cut(self, xs):
        f = xs[0].shape[2] // 2
        sl = slice(0, f) if self.half == 0 else slice(f, None)
        return [x[:, :, sl, :] for x in xs]

    def fit(self, data, budget_s):
        outer = self

        class View:
            n_total = data.n_total
            multilabel = data.multilabel

            def get(self, n):
                xs, y = data.get(n)
                return outer._cut(xs), y

        super().fit(View(), budget_s)

    def predict(self, xs):
        return super().predict(self._cut(xs))


class OracleLearner(Learner):
    """Knows every label; its noise shrinks with each fit, so every round improves. Slow on the test set."""

    name = "oracle"

    def __init__(self, metadata, table, n_test, test_delay_s):
        super().__init__(metadata)
        self.table, self.n_test, self.test_delay_s, self.fits = table, n_test, test_delay_s, 0

    def fit(self, data, budget_s):
        self.fits += 1
        time.sleep(0.01)

    def predict(self, xs):
        if len(xs) == self.n_test:
            time.sleep(self.test_delay_s)
        y = np.stack([self.table[x.tobytes()] for x in xs])
        noise = np.random.default_rng(0).normal(size=y.shape)
        return (y + noise * 4.0 / self.fits).astype(np.float32)

    def next_cost_s(self):
        return 0.01


def tabular(n_train=120, n_test=40, k=3, **kw):
    return make_dataset("tabular", n_train=n_train, n_test=n_test, output_dim=k, **kw)


def engine_for(train, learners, **cfg):
    cfg.setdefault("safety_margin_s", 0.1)
    return Engine(train.metadata, learners, config=EngineConfig(**cfg))


# --------------------------------------------------------------- validation
def test_validation_nauc_matches_sklearn_and_drops_single_class_columns():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 5)) < 0.3).astype(np.float32)
    y[:, 3] = 0  # all negative: dropped
    y[:, 4] = 1  # all positive: dropped
    s = np.round(rng.random((200, 5)) + y * 0.3, 1)  # rounding creates ties
    expected = 2 * np.mean([roc_auc_score(y[:, j], s[:, j]) for j in range(3)]) - 1
    assert validation_nauc(y, s) == pytest.approx(expected, abs=1e-12)
    assert validation_nauc(np.zeros((10, 2)), rng.random((10, 2))) == 0.0
    assert validation_nauc(y[:, :3], np.ones((200, 3))) == 0.0  # constant scores


# ------------------------------------------------------------------- budget
@pytest.mark.parametrize("budget", [0, -1, float("nan"), float("inf"), "soon"])
def test_bad_time_budget_is_rejected(budget):
    train, _, _ = tabular()
    with pytest.raises(AutoDLInputError) as err:
        Clock(budget)
    assert err.value.where == "time_budget"
    with pytest.raises(AutoDLInputError) as err:
        engine_for(train, [CountingCentroid(train.metadata)]).fit(train, budget)
    assert err.value.where == "time_budget"


def test_first_round_reads_only_the_first_chunk():
    train, _, _ = tabular(n_train=3000)
    learner = CountingCentroid(train.metadata)
    engine = engine_for(train, [learner], first_rows=200)
    engine.set_train_data(train)
    engine.start_clock(30)
    assert engine.train() is True
    assert learner.rows_seen == [200]
    assert engine.pool.rows_read == 200 + engine.pool.holdout_size
    assert engine.history[0].n_rows == 200
    assert engine.predict(train.take(0, 5)[0]).shape == (5, 3)


def test_fit_stays_within_budget_with_honest_learners():
    train, test, _ = tabular(n_train=2000)
    learners = [CountingCentroid(train.metadata, cost_s=0.15, name="a"),
                CountingCentroid(train.metadata, cost_s=0.4, name="b")]
    budget = 1.5
    tic = time.time()
    engine = engine_for(train, learners, first_rows=50, patience=None).fit(train, budget, test)
    assert time.time() - tic <= budget + 0.5
    assert engine.done and engine.learning_curve
    assert all(info.elapsed_s <= budget for info in engine.history)


def test_learner_that_does_not_fit_is_never_started():
    train, test, _ = tabular()
    slow = SlowLearner(train.metadata, name="slow")
    cheap = CountingCentroid(train.metadata, name="cheap", max_fits=2)
    engine = engine_for(train, [slow, cheap]).fit(train, 2.0, test)
    assert slow.fits == 0 and cheap.fits == 2
    assert engine.best_learner == "cheap"


def test_train_with_deadline_and_no_clock_and_done():
    train, _, _ = tabular()
    engine = engine_for(train, [CountingCentroid(train.metadata, max_fits=1)])
    engine.set_train_data(train)
    with pytest.raises(AutoDLInputError):
        engine.train()
    assert engine.train(deadline=time.time() + 5) is True
    assert engine.clock is not None and engine.done
    assert engine.train() is False


# ---------------------------------------------------------------- gating
def test_emitted_predictions_never_get_worse_on_validation():
    train, test, _ = tabular(n_train=400, k=4, seed=3)
    degrading = DegradingLearner(train.metadata, name="degrading", max_fits=6)
    recorder = LearningCurveRecorder()
    engine = Engine(train.metadata, [degrading], config=EngineConfig(first_rows=400, patience=None, ensemble=False),
                    callbacks=[recorder])
    engine.fit(train, 10.0, test)
    assert degrading.fits == 6
    scores = [p["val_score"] for p in recorder.points]
    assert len(scores) == 1  # the later, noisier rounds never replace the first model
    assert [h.val_score for h in engine.history][1] < scores[0]


def test_gate_off_emits_after_every_successful_round():
    train, test, _ = tabular()
    learner = DegradingLearner(train.metadata, max_fits=4)
    recorder = LearningCurveRecorder()
    # no gap between predictions: on a busy machine a round can be quicker than the last test prediction
    engine = Engine(train.metadata, [learner], callbacks=[recorder],
                    config=EngineConfig(gate_on_validation=False, holdout=False, prediction_gap_ratio=0.0))
    engine.fit(train, 10.0, test)
    assert len(recorder.points) == len(engine.learning_curve) == 4
    assert engine.pool.holdout_size == 0


def test_predict_test_is_cached_per_best_model_version():
    train, test, _ = tabular()
    learner = CountingCentroid(train.metadata, max_fits=1)
    engine = engine_for(train, [learner])
    with pytest.raises(NoPredictionError):
        engine.predict(test.take(0, 2)[0])
    engine.set_train_data(train)
    engine.start_clock(10)
    assert engine.train()
    calls = learner.predict_calls
    first = engine.predict_test(test)
    second = engine.predict_test(test)
    assert learner.predict_calls == calls + 1
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float32 and first.shape == (len(test), 3)
    assert engine.predict([]).shape == (0, 3) and not engine.learner_summary()[0]["failed"]


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_predictions_are_spaced_by_their_cost(ratio):
    train, test, y_test = tabular(n_train=400, n_test=97, k=2, seed=8)
    table = {x.tobytes(): y for x, y in zip(train.take(0, 400)[0], train.labels())}
    table.update({x.tobytes(): y for x, y in zip(test.take(0, 97)[0], y_test)})
    recorder = LearningCurveRecorder()
    oracle = OracleLearner(train.metadata, table, n_test=97, test_delay_s=0.1)
    engine = Engine(train.metadata, [oracle], callbacks=[recorder],
                    config=EngineConfig(max_rounds=15, patience=None, prediction_gap_ratio=ratio))
    engine.fit(train, 20.0, test)
    improvements = [h.elapsed_s for h in engine.history if h.improved]
    emitted = [p["elapsed_s"] for p in recorder.points]
    assert len(improvements) >= 8
    if ratio == 0.0:
        assert len(emitted) == len(improvements)
    else:
        assert len(emitted) < len(improvements)
        assert min(np.diff(emitted)) >= 0.1 * 0.9  # at least one prediction's cost apart


# --------------------------------------------------------------- failures
class ErrorLog(Callback):
    def __init__(self):
        self.errors = []

    def on_learner_error(self, engine, learner_name, exc):
        self.errors.append((learner_name, str(exc)))


@pytest.mark.parametrize("bad_cls, message", [(FailOnSecondFit, "boom"), (NaNLearner, "NaN"),
                                              (WrongShapeLearner, "shape")])
def test_bad_learner_is_skipped_and_last_good_prediction_kept(bad_cls, message):
    train, test, _ = tabular(n_train=300)
    bad = bad_cls(train.metadata, name="bad", max_fits=3)
    good = CountingCentroid(train.metadata, name="good", max_fits=2)
    log = ErrorLog()
    engine = Engine(train.metadata, [bad, good], config=EngineConfig(first_rows=100, ensemble=False),
                    callbacks=[log])
    engine.fit(train, 10.0, test)
    assert [name for name, _ in log.errors] == ["bad"] and message in log.errors[0][1]
    summary = {s["name"]: s for s in engine.learner_summary()}
    assert summary["bad"]["failed"] and not summary["good"]["failed"]
    prediction = engine.predict_test(test)
    assert prediction.shape == (len(test), 3) and np.all(np.isfinite(prediction))
    assert [h.learner for h in engine.history if h.error] == ["bad"]


def test_best_learner_failing_later_falls_back_to_another():
    train, test, _ = tabular(n_train=300)
    best = FailOnSecondFit(train.metadata, name="best")
    other = CountingCentroid(train.metadata, name="other", max_fits=1)
    engine = Engine(train.metadata, [best, other], config=EngineConfig(ensemble=False, first_rows=50))
    engine.fit(train, 10.0, test)
    assert engine.learner_summary()[0]["failed"] and engine.best_learner == "best"
    xs = test.take(0, 4)[0]
    np.testing.assert_array_equal(engine.predict(xs), other.predict(xs))


# ----------------------------------------------------------- determinism
def test_same_seed_same_result():
    def run():
        train, test, _ = tabular(n_train=500, seed=5)
        learners = [CountingCentroid(train.metadata, cost_s=0.01, name="a"),
                    HalfFeatures(train.metadata, 0, name="h0", cost_s=0.01),
                    HalfFeatures(train.metadata, 1, name="h1", cost_s=0.02)]
        engine = engine_for(train, learners, first_rows=50, max_rounds=8, seed=7)
        engine.fit(train, 20.0, test)
        return [h.learner for h in engine.history], engine.predict_test(test)

    (order_a, pred_a), (order_b, pred_b) = run(), run()
    assert order_a == order_b and len(order_a) == 8
    np.testing.assert_array_equal(pred_a, pred_b)


# -------------------------------------------------------------- ensemble
def test_ensemble_of_complementary_learners_beats_each_and_is_batch_independent():
    train, test, y_test = make_dataset("tabular", n_train=600, n_test=300, output_dim=4, seed=15)
    learners = [HalfFeatures(train.metadata, 0, name="h0", max_fits=1),
                HalfFeatures(train.metadata, 1, name="h1", max_fits=1)]
    engine = Engine(train.metadata, learners, config=EngineConfig(first_rows=600, ensemble_accept_ratio=0.5))
    engine.fit(train, 10.0, test)
    singles = [s["val_score"] for s in engine.learner_summary()]
    assert engine.best_learner.startswith("ensemble(")
    assert engine.best_score > max(singles)
    xs = test.take(0, len(test))[0]
    full = engine.predict(xs)
    np.testing.assert_allclose(engine.predict(xs[:3]), full[:3], rtol=1e-6)
    assert validation_nauc(y_test, full) > max(validation_nauc(y_test, l.predict(xs)) for l in learners)


# ----------------------------------------------------------- bad inputs
@pytest.mark.parametrize("case", ["nan_features", "output_dim_1", "single_example", "all_zero_labels",
                                  "one_per_class", "multilabel"])
def test_engine_handles_awkward_data(case):
    k = 1 if case == "output_dim_1" else 3
    n = {"single_example": 1, "one_per_class": 3}.get(case, 60)
    train, test, _ = make_dataset("tabular", n_train=n, n_test=10, output_dim=k, seed=2,
                                  multilabel=case == "multilabel")
    if case == "nan_features":
        train, test = inject_nan(train, 0.2), inject_nan(test, 0.2, seed=1)
    if case == "all_zero_labels":
        xs, y = train.take(0, len(train))
        train = ArrayDataset(xs, np.zeros_like(y), train.metadata)
    engine = engine_for(train, [CountingCentroid(train.metadata, max_fits=1)])
    engine.fit(train, 5.0, test)
    prediction = engine.predict_test(test)
    assert prediction.shape == (10, k) and prediction.dtype == np.float32 and np.all(np.isfinite(prediction))
    assert engine.pool.multilabel == (case in ("multilabel", "output_dim_1", "all_zero_labels"))
    if case == "all_zero_labels":
        assert engine.best_score == 0.0


def test_engine_rejects_mismatched_test_set_and_empty_portfolio():
    train, _, _ = tabular(k=3)
    _, other_test, _ = tabular(k=2)
    engine = engine_for(train, [CountingCentroid(train.metadata)])
    with pytest.raises(AutoDLInputError):
        engine.prepare_test(other_test)
    with pytest.raises(AutoDLInputError):
        Engine(train.metadata, [])
    with pytest.raises(AutoDLInputError):
        Engine(train.metadata, [object()])


# ----------------------------------------------------------- persistence
def test_state_dict_round_trip_is_weights_only_safe():
    train, test, _ = make_dataset("tabular", n_train=400, n_test=50, output_dim=3, seed=4)

    def build():
        return Engine(train.metadata, [HalfFeatures(train.metadata, 0, name="h0", max_fits=1),
                                       HalfFeatures(train.metadata, 1, name="h1", max_fits=1)],
                      config=EngineConfig(ensemble_accept_ratio=0.5))

    engine = build().fit(train, 10.0, test)
    buffer = io.BytesIO()
    torch.save(engine.state_dict(), buffer)
    buffer.seek(0)
    restored = build()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    xs = test.take(0, len(test))[0]
    np.testing.assert_allclose(restored.predict(xs), engine.predict(xs), rtol=1e-6)
    assert restored.best_learner == engine.best_learner
    with pytest.raises(AutoDLInputError):
        restored.load_state_dict({"learners": {"nope": {}}, "members": [], "blend": "rank"})


def test_retired_learners_end_the_run_early():
    train, test, _ = tabular(n_train=100)
    learner = CountingCentroid(train.metadata)  # same rows every round after the first: no gain
    engine = engine_for(train, [learner], patience=2, first_rows=100)
    tic = time.time()
    engine.fit(train, 30.0, test)
    assert time.time() - tic < 10 and engine.done
    assert learner.fits <= 4


# ---------------------------------------------------------------- config
def test_engine_config_validation_and_yaml(tmp_path):
    cfg = EngineConfig().update({"holdout_max": 100}, first_rows=64)
    assert (cfg.holdout_max, cfg.first_rows) == (100, 64)
    for bad in ({"holdout_max": 0}, {"holdout_fraction": 0.9}, {"ensemble_blend": "median"},
                {"holdout": "yes"}, {"cost_inflation": 0.5}, {"max_rounds": 1.5}, {"min_holdout": 1000}):
        with pytest.raises(AutoDLInputError) as err:
            EngineConfig().update(bad)
        assert err.value.where == f"EngineConfig.{next(iter(bad))}"
    with pytest.raises(AutoDLInputError, match="unknown setting"):
        EngineConfig().update(speed=11)
    path = tmp_path / "engine.yaml"
    path.write_text("engine:\n  row_growth: 3\n  max_rounds: 4\n")
    loaded = EngineConfig.from_yaml(path)
    assert loaded.row_growth == 3.0 and loaded.max_rounds == 4
    path.write_text("row_growth: [oops\n")
    with pytest.raises(AutoDLInputError) as err:
        EngineConfig.from_yaml(path)
    assert str(path) in str(err.value)
    path.write_text("safety_margin_s: -1\n")
    with pytest.raises(AutoDLInputError, match="safety_margin_s"):
        EngineConfig.from_yaml(path)
    assert set(EngineConfig.describe()) == set(EngineConfig().to_dict())


def test_the_methods_portfolio_is_used_when_no_learners_are_given(monkeypatch):
    from autodl_solver.domains import methods

    train, test, _ = tabular()
    calls = {}

    def build_portfolio(method, metadata, seed=0, config_overrides=None):
        calls["args"] = (method, seed)
        return [CountingCentroid(metadata, max_fits=1)], {"holdout": False, "gate_on_validation": False}

    # only the portfolio is replaced: the rest of domains.methods (the portfolios the prior fingerprints) stays real
    monkeypatch.setattr(methods, "build_portfolio", build_portfolio)
    engine = Engine(train.metadata, method="baseline1", seed=3)
    assert calls["args"] == ("baseline1", 3)
    assert engine.config.holdout is False and engine.config.gate_on_validation is False
    engine.fit(train, 5.0, test)
    assert engine.learning_curve



class PerfectLearner(Learner):
    """Knows every label: NAUC 1.0 on the hold-out from its first rows (a saturated hold-out)."""

    name = "perfect"

    def __init__(self, metadata, table):
        super().__init__(metadata)
        self.table, self.fits = table, 0

    def fit(self, data, budget_s):
        data.get(available_rows(data))
        self.fits += 1

    @property
    def done(self):
        return self.fits >= 4

    def predict(self, xs):
        return np.stack([self.table[x.tobytes()] for x in xs]).astype(np.float32)

    def next_cost_s(self):
        return 0.01


def test_a_saturated_holdout_re_emits_the_same_learner_on_more_rows():
    """At a validation tie the best learner trained on more rows replaces its earlier self."""
    train, _, _ = tabular(n_train=400, n_test=10, k=2, seed=8)
    table = {x.tobytes(): y for x, y in zip(train.take(0, 400)[0], train.labels())}
    engine = Engine(train.metadata, [PerfectLearner(train.metadata, table)],
                    config=EngineConfig(first_rows=50, patience=None))
    engine.fit(train, 20.0)
    emitted_rows = [point["n_rows"] for point in engine.learning_curve]
    assert len(emitted_rows) == 4 and emitted_rows == sorted(emitted_rows) and emitted_rows[0] == 50
    assert all(point["val_score"] == 1.0 for point in engine.learning_curve)


def test_a_saturated_holdout_re_emits_the_same_learner_after_more_training_on_the_same_rows():
    """All rows are read in the first round; each later round ties at 1.0 and is emitted again."""
    train, _, _ = tabular(n_train=400, n_test=10, k=2, seed=8)
    table = {x.tobytes(): y for x, y in zip(train.take(0, 400)[0], train.labels())}
    engine = Engine(train.metadata, [PerfectLearner(train.metadata, table)],
                    config=EngineConfig(first_rows=1000, patience=None))
    engine.fit(train, 20.0)
    assert [point["n_rows"] for point in engine.learning_curve] == [360] * 4


def test_pair_flip_is_the_largest_change_one_swapped_pair_makes():
    rng = np.random.default_rng(3)
    y = np.zeros((12, 3), np.float32)
    y[:2, 0] = 1  # 2 x 10 = 20 pairs: the column with the fewest
    y[:6, 1] = 1  # 36 pairs
    y[:, 2] = 1  # one class only: dropped
    scores = y + 0.01 * rng.random(y.shape)
    worst = scores.copy()
    worst[0, 0], worst[5, 0] = 0.5, 0.75  # negative 5 now above positive 0 in column 0, below positive 1
    assert validation_nauc(y, scores) == pytest.approx(1.0)
    assert validation_nauc(y, scores) - validation_nauc(y, worst) == pytest.approx(pair_flip(y))
    assert pair_flip(y) == pytest.approx(2.0 / (20 * 2))
    assert pair_flip(np.ones((5, 2))) == 0.0


class HoldoutOracle(Learner):
    """Scores the pool's hold-out rows from their labels with ``flips`` pairs misordered; done after 2 fits.

    One positive of the column with the fewest pairs gets 0.5 and ``flips``
    of its negatives 0.75, so exactly ``flips`` pairs are out of order.
    """

    def __init__(self, metadata, flips, name):
        super().__init__(metadata)
        self.flips, self.name, self.fits, self.table = flips, name, 0, {}

    def fit(self, data, budget_s):
        xs, y = data.validation()
        data.get(available_rows(data))
        s = np.asarray(y, np.float64).copy()
        pos = (y > 0).sum(axis=0)
        j = int(np.argmin(np.where((pos > 0) & (pos < len(y)), pos * (len(y) - pos), np.inf)))
        if self.flips:
            s[np.flatnonzero(y[:, j] > 0)[0], j] = 0.5
            s[np.flatnonzero(y[:, j] == 0)[: self.flips], j] = 0.75
        self.table = {x.tobytes(): row for x, row in zip(xs, s)}
        self.fits += 1

    @property
    def done(self):
        return self.fits >= 2

    def predict(self, xs):
        blank = np.zeros(self.metadata.output_dim)
        return np.stack([self.table.get(x.tobytes(), blank) for x in xs]).astype(np.float32)

    def next_cost_s(self):
        return 0.01


@pytest.mark.parametrize("ensemble", [False, True])
def test_one_pair_flip_on_a_tiny_holdout_does_not_swap_the_best_learner(ensemble):
    """B beats A by exactly one pair on a 12-example hold-out: a coin toss, so A stays (alone or in a blend)."""
    train, _, _ = tabular(n_train=60, n_test=10, k=3, seed=2)
    learners = [HoldoutOracle(train.metadata, 1, "a"), HoldoutOracle(train.metadata, 0, "b")]
    engine = Engine(train.metadata, learners, config=EngineConfig(scheduler_prior="off", patience=None,
                                                                   ensemble=ensemble))
    engine.fit(train, 10.0)
    assert engine.pool.holdout_size == 12
    assert [r.learner for r in engine.history][:2] == ["a", "b"]
    assert engine.best_learner == "a" or engine.best_learner.startswith("ensemble(a:")


def test_two_pair_flips_on_a_tiny_holdout_do_swap_the_best_learner():
    train, _, _ = tabular(n_train=60, n_test=10, k=3, seed=2)
    learners = [HoldoutOracle(train.metadata, 2, "a"), HoldoutOracle(train.metadata, 0, "b")]
    engine = Engine(train.metadata, learners, config=EngineConfig(scheduler_prior="off", patience=None,
                                                                   ensemble=False))
    engine.fit(train, 10.0)
    assert engine.best_learner == "b" and engine.best_score == pytest.approx(1.0)


class NoisyOracle(Learner):
    """The hold-out labels plus Gaussian noise of ``noises[k]`` at its k-th fit; done after ``len(noises)`` fits."""

    def __init__(self, metadata, noises, seed, name):
        super().__init__(metadata)
        self.noises, self.seed, self.name, self.fits, self.table = noises, seed, name, 0, {}

    def fit(self, data, budget_s):
        xs, y = data.validation()
        data.get(available_rows(data))
        rng = np.random.default_rng(self.seed + 100 * self.fits)
        s = np.asarray(y, np.float64) + self.noises[self.fits] * rng.standard_normal(y.shape)
        self.table = {x.tobytes(): row for x, row in zip(xs, s)}
        self.fits += 1

    @property
    def done(self):
        return self.fits >= len(self.noises)

    def predict(self, xs):
        blank = np.zeros(self.metadata.output_dim)
        return np.stack([self.table.get(x.tobytes(), blank) for x in xs]).astype(np.float32)

    def next_cost_s(self):
        return 0.01


def test_a_blend_member_that_trains_on_is_emitted_in_the_blend_when_the_swap_to_it_is_refused():
    """moving_digits_n300: the CNN's later round beat the blend alone by less than a pair flip and was never used.

    Here b's second round alone beats the blend of a and b's first round by
    under one pair flip of the 12-example hold-out (a refused swap), and the
    same blend with b's second round beats it by far: that blend is emitted.
    """
    train, _, _ = tabular(n_train=60, n_test=10, k=3, seed=2)
    learners = [NoisyOracle(train.metadata, [0.8], 34, "a"), NoisyOracle(train.metadata, [0.8, 0.3], 1022, "b")]
    engine = Engine(train.metadata, learners, config=EngineConfig(scheduler_prior="off", patience=None))
    engine.fit(train, 10.0)
    first, second = engine.history[1], engine.history[2]
    assert second.learner == "b" and first.best_learner.startswith("ensemble(a:")
    swap_gain = second.val_score - first.best_score
    assert 0 < swap_gain < pair_flip(engine._holdout[1])  # b alone: a coin-toss swap, refused
    assert second.improved and second.best_learner == first.best_learner
    assert second.best_score > first.best_score + 0.02
    xs, y = engine._holdout
    assert validation_nauc(y, engine.predict(xs)) == pytest.approx(engine.best_score)


class _Stalling(PerfectLearner):
    """Never improves after its first round, never done by itself; asks for a patience of 2."""

    patience = 2

    @property
    def done(self):
        return False


def test_a_learner_can_ask_for_its_own_patience():
    train, _, _ = tabular(n_train=200, n_test=10, k=2, seed=9)
    table = {x.tobytes(): y for x, y in zip(train.take(0, 200)[0], train.labels())}
    learner = _Stalling(train.metadata, table)
    engine = Engine(train.metadata, [learner], config=EngineConfig(patience=50, max_rounds=20))
    engine.fit(train, 20.0)
    assert learner.fits == 3  # the first round sets its best, two more without a gain retire it


def test_a_failing_learner_is_a_warning_without_any_callback():
    """Issue 14: a crash inside fit is seen on stderr on the library path too, and the curve names it."""
    import logging

    from test_scheduler import Captured

    class AlwaysFails(CountingCentroid):
        def fit(self, data, budget_s):
            if self.fits >= 1:
                raise RuntimeError("boom on the second fit")
            super().fit(data, budget_s)

    train, test, _ = tabular()
    good = CountingCentroid(train.metadata, max_fits=1, name="good")
    bad = AlwaysFails(train.metadata, name="bad", max_fits=5)
    engine = Engine(train.metadata, [good, bad], config=EngineConfig(scheduler_prior="off", ensemble=False))
    with Captured("autodl_solver.anytime.engine") as caplog:
        engine.fit(train, 5.0, test)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "bad" in r.getMessage()]
    assert warnings and "boom on the second fit" in warnings[0].getMessage()
    summary = {s["name"]: s for s in engine.learner_summary()}
    assert summary["bad"]["failed"] and summary["bad"]["error"].startswith("RuntimeError: boom")
    assert all("failed_learners" in p for p in engine.learning_curve)  # later curve points name failed learners


class DriftingCentroid(CountingCentroid):
    """Good after its first fit; every later fit moves its (saved) centroids away: worse and worse."""

    def fit(self, data, budget_s):
        super().fit(data, budget_s)
        if self.fits > 1:
            rng = np.random.default_rng(self.fits)
            for key in ("pos", "neg"):
                self._state[key] = self._state[key] + rng.normal(0, 3.0 * self.fits, self._state[key].shape)


def test_library_fit_hands_back_the_best_state_of_a_member_that_got_worse():
    train, test, _ = tabular()
    learner = DriftingCentroid(train.metadata, max_fits=5)
    engine = Engine(train.metadata, [learner], config=EngineConfig(scheduler_prior="off", patience=None))
    engine.fit(train, 5.0, test)
    assert learner.fits == 5 and engine.history[-1].val_score < engine.best_score  # it did get worse
    xs, y = engine._val
    assert validation_nauc(y, engine.predict(xs)) == pytest.approx(engine.best_score)  # predicts as when best
    assert engine.learner_summary()[0]["val_score"] == pytest.approx(engine.best_score)


class LengthRecorder(HalfFeatures):
    """Records the number of rows of every predict call (the test set's is told apart by its length)."""

    def __init__(self, metadata, half, **kw):
        super().__init__(metadata, half, **kw)
        self.lengths: list[int] = []

    def predict(self, xs):
        self.lengths.append(len(xs))
        return super().predict(xs)


def test_a_blend_member_that_did_not_train_since_is_not_predicted_on_the_test_set_again():
    train, test, _ = make_dataset("tabular", n_train=600, n_test=333, output_dim=4, seed=15)
    fixed = LengthRecorder(train.metadata, 0, name="h0", max_fits=1)
    growing = LengthRecorder(train.metadata, 1, name="h1", max_fits=4)
    engine = Engine(train.metadata, [fixed, growing],
                    config=EngineConfig(first_rows=100, ensemble_accept_ratio=0.5, safety_margin_s=0.1))
    engine.set_train_data(train)
    engine.start_clock(20)
    blends, fixed_on_test, n = [], 0, len(test)
    while engine.train():
        before = fixed.lengths.count(n)
        emitted = engine.predict_test(test)
        fixed_on_test += fixed.lengths.count(n) - before
        if engine.best_learner.startswith("ensemble("):
            blends.append(growing.lengths.count(n))
            xs = test.take(0, n)[0]
            np.testing.assert_allclose(emitted, engine.predict(xs), rtol=1e-6)  # the cache changes nothing
    assert len(blends) >= 2 and blends[-1] > blends[0]  # the blend was emitted again after h1 trained on
    assert fixed_on_test == 1  # h0 fitted once: its test scores were computed once, for every blend
    cached, other = engine._slots
    assert cached.test_pred is not None and cached.test_predict_s > 0
    # the reserve kept for h1's next round: h0's cached scores cost nothing, however dear they were
    cached.test_predict_s = 5.0
    assert engine._reserve(other) < 5.0
    cached.test_pred = None  # as after a round of h0's: it may join h1's next blend and is counted
    assert engine._reserve(other) > 5.0 * engine.config.cost_inflation


def test_test_scores_over_the_cache_limit_are_predicted_again():
    """A member's kept test scores are bounded (``test_cache_mb``): over it, the member is predicted each time."""
    train, test, _ = make_dataset("tabular", n_train=300, n_test=200, output_dim=4, seed=15)
    learner = LengthRecorder(train.metadata, 0, name="h0", max_fits=1)
    engine = Engine(train.metadata, [learner], config=EngineConfig(test_cache_mb=200 * 4 * 4 / 2 ** 20 - 1e-9))
    engine.fit(train, 5.0)
    xs = engine.prepare_test(test)
    first = engine._predict(xs, cache=True)
    np.testing.assert_allclose(engine._predict(xs, cache=True), first)
    (slot,) = engine._slots
    assert slot.test_pred is None and slot.test_predict_s > 0 and learner.lengths.count(len(test)) == 2
    engine.config.test_cache_mb = 1.0  # 200 x 4 float32 fit: kept, not predicted a third time
    for _ in range(2):
        engine._predict(xs, cache=True)
    assert slot.test_pred is not None and learner.lengths.count(len(test)) == 3

