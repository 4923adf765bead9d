"""The any-time scheduler: expected ALC gain per second, the learned prior, shortened rounds, skipped learners."""
from __future__ import annotations

import json
import logging
import math
import time

import numpy as np
import pytest
import torch  # noqa: F401 - CentroidLearner.state_dict imports it: its first import (2 s) would otherwise land in
#               the engine's snapshot inside a timed round, and a file run alone would time the import

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.engine import Engine
from autodl_solver.anytime.prior import (LearnerPrior, SchedulingPrior, load_prior, portfolio_space)
from autodl_solver.anytime.scheduler import RoundOption, Scheduler, log_time
from autodl_solver.challenge.scoring import transform_time
from autodl_solver.testing import CentroidConfig, CentroidLearner, make_dataset


class Captured(logging.Handler):
    """Records of one logger, attached to it directly (other tests may stop propagation to the root)."""

    def __init__(self, name):
        super().__init__(logging.DEBUG)
        self.logger, self.records = logging.getLogger(name), []

    def __enter__(self):
        self.old_level = self.logger.level
        self.logger.addHandler(self)
        self.logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)
        self.logger.setLevel(self.old_level)

    def emit(self, record):
        self.records.append(record)

    @property
    def text(self):
        return "\n".join(r.getMessage() for r in self.records)


def prior_entry(learner, log_cost=math.log(0.1), scores=(0.9, 0.95), cum=(1.0, 3.0), slope=0.0, domain="tabular"):
    return LearnerPrior(domain=domain, learner=learner, device="cpu", log_cost=log_cost, cost_slope=slope,
                        scores=tuple(scores), cum_cost=tuple(cum))


class Timed(CentroidLearner):
    """A centroid learner with an honest fixed cost per round, budget-aware (stops at its budget)."""

    budget_aware = True

    def __init__(self, metadata, name, cost_s, max_fits=None, seed=0):
        super().__init__(metadata, CentroidConfig(cost_s=cost_s, max_fits=max_fits), seed)
        self.name = name
        self.budgets: list[float] = []

    def fit(self, data, budget_s):
        self.budgets.append(budget_s)
        super().fit(data, budget_s)


def write_prior(path, entries, space=None, scale=None):
    prior = SchedulingPrior(entries={(e.domain, e.learner, e.device): e for e in entries}, scale=scale or {})
    record = prior.to_dict(space or portfolio_space())
    path.write_text(json.dumps(record))
    return path


# ------------------------------------------------------------------ the rule
def test_log_time_is_the_scoring_axis():
    for t in (0.0, 1.0, 17.0, 60.0, 300.0):
        assert log_time(t, 300.0) == pytest.approx(float(transform_time(t, 300.0)))
    assert log_time(500.0, 300.0) == 1.0


def test_cheap_fresh_learner_goes_first_when_both_are_valued_from_the_prior():
    s = Scheduler(60.0)
    cheap = RoundOption(key=1, name="cheap", rounds=0, cost_s=0.1, budget_s=50, prior=prior_entry("cheap"))
    slow = RoundOption(key=0, name="slow", rounds=0, cost_s=20.0, budget_s=50,
                       prior=prior_entry("slow", scores=(1.0, 1.0)))
    choice = s.choose([slow, cheap], now_s=0.0, best=None, scale=0.9, horizon_s=59)
    assert choice.option.name == "cheap" and choice.reason.startswith("prior")


def test_a_strong_learner_behind_the_best_is_valued_over_its_lookahead():
    s = Scheduler(300.0)
    # the best, saturating: +0.001 per round
    linear = RoundOption(key=0, name="linear", rounds=3, cost_s=1.0, budget_s=200, score=0.80, gain_ema=0.001,
                         cost_growth=2.0, member_weight=1.0)
    # untried CNN: 0.7 of the scale after one round, 1.0 after three
    cnn = RoundOption(key=1, name="cnn", rounds=0, cost_s=5.0, budget_s=200,
                      prior=prior_entry("cnn", scores=(0.7, 0.9, 1.0), cum=(1.0, 3.0, 7.0)))
    choice = s.choose([linear, cnn], now_s=5.0, best=0.80, scale=0.95, horizon_s=290)
    assert choice.option.name == "cnn"
    # one round of the CNN alone (no time for more) cannot pass the best: the linear model keeps its rounds
    late = s.choose([linear, cnn], now_s=280.0, best=0.80, scale=0.95, horizon_s=290)
    assert late.option.name == "linear"


def test_untried_learners_without_prior_are_probed_first_in_portfolio_order():
    s = Scheduler(60.0)
    trained = RoundOption(key=0, name="a", rounds=2, cost_s=0.1, budget_s=50, score=0.9, gain_ema=0.05)
    fresh2 = RoundOption(key=2, name="c", rounds=0, cost_s=1.0, budget_s=50)
    fresh1 = RoundOption(key=1, name="b", rounds=0, cost_s=9.0, budget_s=50)
    choice = s.choose([trained, fresh2, fresh1], now_s=1.0, best=0.9, scale=1.0, horizon_s=59)
    assert choice.option.name == "b" and "no prior" in choice.reason


def test_a_shortened_round_is_worth_its_fraction_of_the_full_one():
    s = Scheduler(60.0)
    full = RoundOption(key=0, name="a", rounds=2, cost_s=10.0, budget_s=50, score=0.8, gain_ema=0.1,
                       member_weight=1.0, full_cost_s=10.0)
    part = RoundOption(key=0, name="a", rounds=2, cost_s=2.0, budget_s=2.0, score=0.8, gain_ema=0.1,
                       member_weight=1.0, full_cost_s=10.0, partial=True)
    _, gain_full, _ = s.value(full, 40.0, 0.8, 1.0, 59.0)
    _, gain_part, _ = s.value(part, 40.0, 0.8, 1.0, 59.0)
    assert gain_part == pytest.approx(0.2 * 0.1) and gain_full == pytest.approx(0.1)


def test_scale_is_estimated_from_the_learners_that_ran():
    p = prior_entry("a", scores=(0.5, 1.0))
    assert Scheduler.scale([(0.45, 1, p)], default=0.8) == pytest.approx(0.9)
    assert Scheduler.scale([], default=0.9) == 0.9
    assert Scheduler.scale([(0.7, 1, None)], default=0.5) == 0.7
    # optimistic: a learner far below its usual fraction does not make the others look worthless
    assert Scheduler.scale([(0.07, 1, prior_entry("b", scores=(1.0,)))], default=0.99) == pytest.approx(0.99)


def test_an_untried_learner_is_probed_when_the_first_one_does_badly():
    """miniciao: pixels + LR scores 0.07 though its prior says it reaches the best; the frozen-feature learner
    (prior: 0.99 of the best, a costlier first round) must come before more rounds of a slowly improving CNN."""
    s = Scheduler(300.0)
    cnn = RoundOption(key=2, name="cnn", rounds=2, cost_s=9.0, budget_s=250, score=0.64, gain_ema=0.15,
                      cost_growth=2.2, prior=prior_entry("cnn", scores=(0.43, 0.99, 1.0), cum=(1.0, 3.0, 7.0)),
                      member_weight=1.0)
    embed = RoundOption(key=1, name="embed", rounds=0, cost_s=16.0, budget_s=250,
                        prior=prior_entry("embed", scores=(0.99, 0.99, 1.0)))
    linear = prior_entry("linear", scores=(1.0,))
    scale = Scheduler.scale([(0.07, 1, linear), (0.64, 2, cnn.prior)], default=0.99)
    assert s.choose([cnn, embed], now_s=14.0, best=0.64, scale=scale, horizon_s=290).option.name == "embed"


# ------------------------------------------------------------ prior files
def test_prior_round_trip_and_lookup(tmp_path):
    entry = prior_entry("tabular_linear", log_cost=math.log(0.2), slope=0.5)
    path = write_prior(tmp_path / "p.json", [entry], scale={"tabular": 0.93})
    prior = load_prior(path)
    got = prior.get("tabular", "tabular_linear", "cpu")
    assert got.first_cost_s(100) == pytest.approx(0.2 * 10)
    assert prior.domain_scale("tabular") == pytest.approx(0.93) and prior.domain_scale("text") == 1.0
    assert got.cost_ratio(4) == pytest.approx(3.0 + 2.0 * 2 + 2.0 * 4)  # doubling steps past the record


@pytest.mark.parametrize("content, needle", [
    (None, "cannot be read"),
    ("{not json", "cannot be read"),
    (json.dumps({"format": 99, "entries": []}), "not a format-1"),
    (json.dumps({"format": 1, "space": "another", "entries": []}), "another portfolio space"),
])
def test_unusable_prior_files_warn_naming_the_file_and_fall_back(tmp_path, content, needle):
    path = tmp_path / "prior.json"
    if content is not None:
        path.write_text(content)
    with Captured("autodl_solver.anytime.prior") as caplog:
        assert load_prior(path) is None
    assert str(path) in caplog.text and needle in caplog.text


def test_a_prior_entry_with_nan_costs_is_dropped_with_a_warning(tmp_path):
    good = prior_entry("tabular_gbdt")
    path = write_prior(tmp_path / "p.json", [good, prior_entry("tabular_mlp")])
    record = json.loads(path.read_text())
    record["entries"][1]["log_cost"] = float("nan")
    path.write_text(json.dumps(record))
    with Captured("autodl_solver.anytime.prior") as caplog:
        prior = load_prior(path)
    assert prior.get("tabular", "tabular_gbdt", "cpu") is not None
    assert prior.get("tabular", "tabular_mlp", "cpu") is None
    assert "tabular_mlp" in caplog.text and str(path) in caplog.text


def test_prior_off_and_env_variable(tmp_path, monkeypatch):
    path = write_prior(tmp_path / "p.json", [prior_entry("x")])
    monkeypatch.setenv("AUTODL_SOLVER_SCHEDULER_PRIOR", str(path))
    assert load_prior().source == str(path)
    monkeypatch.setenv("AUTODL_SOLVER_SCHEDULER_PRIOR", "off")
    assert load_prior() is None
    train, _, _ = make_dataset("tabular", n_train=60, n_test=10, output_dim=2)
    engine = Engine(train.metadata, [Timed(train.metadata, "a", 0.0)], config=EngineConfig(scheduler_prior="off"))
    assert engine.prior is None
    with pytest.raises(Exception, match="scheduler_prior"):
        EngineConfig(scheduler_prior=3)


# ------------------------------------------------------------- the engine
def tabular():
    return make_dataset("tabular", n_train=160, n_test=40, output_dim=3)


def test_engine_skips_a_learner_whose_first_round_cannot_pay_back(tmp_path):
    train, test, _ = tabular()
    cheap, slow = Timed(train.metadata, "cheap", 0.01, max_fits=3), Timed(train.metadata, "slow", 0.01)
    # the prior says "slow" costs 100 s per first round: over 35 % of T = 8 s
    path = write_prior(tmp_path / "p.json", [prior_entry("cheap", log_cost=math.log(1e-4)),
                                             prior_entry("slow", log_cost=math.log(100.0))])
    engine = Engine(train.metadata, [cheap, slow], config=EngineConfig(scheduler_prior=str(path)))
    with Captured("autodl_solver.anytime.engine") as caplog:
        engine.fit(train, 8.0, test)
    assert slow.fits == 0 and cheap.fits >= 1
    summary = {s["name"]: s for s in engine.learner_summary()}
    assert "0.35 x T" in summary["slow"]["skipped"] and "prior" in summary["slow"]["skipped"]
    assert "learner slow not run" in caplog.text
    assert summary["cheap"]["prior"] is True and summary["cheap"]["time_s"] >= 0


def test_the_only_learner_is_never_skipped(tmp_path):
    train, test, _ = tabular()
    slow = Timed(train.metadata, "slow", 0.01, max_fits=2)
    path = write_prior(tmp_path / "p.json", [prior_entry("slow", log_cost=math.log(100.0))])
    engine = Engine(train.metadata, [slow], config=EngineConfig(scheduler_prior=str(path)))
    engine.fit(train, 3.0, test)
    assert slow.fits >= 1


def test_a_shortened_round_uses_the_end_of_the_budget_and_never_passes_it():
    train, test, _ = tabular()
    # every full round claims 5 s (honestly sleeps up to its budget): in 8 s only one full round fits,
    # then a shortened one fills the rest of the budget
    learner = Timed(train.metadata, "slow", 5.0, max_fits=10)
    engine = Engine(train.metadata, [learner], config=EngineConfig(scheduler_prior="off", safety_margin_s=0.2,
                                                                   min_partial_s=0.3, patience=None))
    start = time.time()
    engine.fit(train, 8.0, test)
    took = time.time() - start
    assert took <= 8.0 + 0.5
    assert len(learner.budgets) >= 2 and learner.budgets[1] < 5.0
    assert engine.history[-1].partial
    used = sum(h.fit_s for h in engine.history)
    assert used >= 0.85 * 8.0


def test_round_budget_is_capped_at_a_multiple_of_the_expected_cost():
    train, test, _ = tabular()
    learner = Timed(train.metadata, "a", 0.05, max_fits=2)
    engine = Engine(train.metadata, [learner], config=EngineConfig(scheduler_prior="off", round_budget_factor=4.0))
    engine.fit(train, 30.0, test)
    assert max(learner.budgets) <= 4.0 * 0.05 * engine.config.cost_inflation * 4 + 2.5


def test_learner_exploding_past_its_prior_is_re_estimated(tmp_path):
    train, test, _ = tabular()
    learner = Timed(train.metadata, "a", 1.0, max_fits=2)
    path = write_prior(tmp_path / "p.json", [prior_entry("a", log_cost=math.log(0.01))])
    engine = Engine(train.metadata, [learner], config=EngineConfig(scheduler_prior=str(path)))
    with Captured("autodl_solver.anytime.engine") as caplog:
        engine.fit(train, 10.0, test)
    assert "its prior" in caplog.text and "re-estimated" in caplog.text
    assert learner.budgets[0] <= 4.0 * 0.01 * 1.25 + 2.0 + 1e-6  # capped: the prior's 0.01 s cannot eat the run


def test_same_seed_same_schedule(tmp_path):
    def run():
        train, test, _ = tabular()
        learners = [Timed(train.metadata, "a", 0.0, max_fits=4), Timed(train.metadata, "b", 0.0, max_fits=4)]
        path = write_prior(tmp_path / "p.json", [prior_entry("a"), prior_entry("b", scores=(0.5, 1.0))])
        engine = Engine(train.metadata, learners, config=EngineConfig(scheduler_prior=str(path), seed=1))
        engine.fit(train, 5.0, test)
        return [h.learner for h in engine.history], engine.predict(test.take(0, len(test))[0])

    (order1, p1), (order2, p2) = run(), run()
    assert order1 == order2
    np.testing.assert_array_equal(p1, p2)


# ------------------------------------------------------------ the fitter
def round_log(dataset_rows, domain="tabular", shape=(1, 1, 10, 1), learners=(("a", 0.1, (0.8, 0.9)),)):
    rounds = []
    for name, first_s, scores in learners:
        for k, score in enumerate(scores):
            rounds.append({"learner": name, "fit_s": first_s * 2 ** k, "val_score": score, "n_rows": dataset_rows,
                           "error": None, "partial": False})
    return {"format": 1, "domain": domain, "device": "cpu", "n_train": dataset_rows, "tensor_shape": list(shape),
            "rounds": rounds}


def test_fit_scheduler_prior_from_round_logs(tmp_path):
    from benchmarks.fit_scheduler_prior import fit_prior, main

    runs = [{"tag": "t", "dataset": "d1", "method": "learner:a", "commit": "abc", "dirty": False,
             "log": round_log(100, learners=(("a", 0.1, (0.8, 0.9)),))},
            {"tag": "t", "dataset": "d1", "method": "learner:b", "commit": "abc", "dirty": False,
             "log": round_log(100, learners=(("b", 1.0, (0.5, 1.0)),))},
            {"tag": "t", "dataset": "d2", "method": "learner:a", "commit": "abc", "dirty": False,
             "log": round_log(400, learners=(("a", 0.4, (0.4, 0.5)),))}]
    prior = fit_prior(runs)
    a = prior.get("tabular", "a", "cpu")
    # cost proportional to units: 0.1 s at 1000 units, 0.4 s at 4000
    assert a.cost_slope == pytest.approx(1.0) and a.first_cost_s(2000) == pytest.approx(0.2)
    # d1's best is 1.0 (learner b), d2's 0.5: fractions (0.8, 0.9) and (0.8, 1.0), medians 0.8 and 0.95
    assert a.scores == pytest.approx((0.8, 0.95)) and a.cum_cost == pytest.approx((1.0, 3.0))
    assert prior.runs == ("t/d1/learner:a", "t/d1/learner:b", "t/d2/learner:a") and prior.commit == "abc"

    # the script: from kept runs to a file load_prior accepts
    root = tmp_path / "runs"
    for run in runs:
        folder = root / run["tag"] / run["dataset"] / run["method"].replace(":", "_")
        folder.mkdir(parents=True)
        (folder / "rounds.json").write_text(json.dumps(run["log"]))
        (folder / "row.json").write_text(json.dumps({"method": run["method"], "machine": {"git_commit": "abc"}}))
    out = tmp_path / "prior.json"
    assert main(["--tags", "t", "--runs-root", str(root), "--out", str(out)]) == 0
    loaded = load_prior(out)
    assert loaded.get("tabular", "a", "cpu").scores == pytest.approx((0.8, 0.95))
    assert main(["--tags", "nothing", "--runs-root", str(root), "--out", str(out)]) == 2


def test_fit_scheduler_prior_from_a_results_file(tmp_path):
    from benchmarks.fit_scheduler_prior import main

    rows = [{"dataset": "d1", "method": "learner:a", "machine": {"git_commit": "abc", "git_dirty": False},
             "round_log_data": round_log(100)},
            {"dataset": "d1", "method": "baseline1", "round_log_data": round_log(100, learners=(("z", 1, (1,)),))}]
    results = tmp_path / "members_T60.json"
    results.write_text(json.dumps({"benchmark": "members_T60", "results": rows}))
    out = tmp_path / "prior.json"
    assert main(["--results", str(results), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["runs"] == ["members_T60/d1/learner:a"] and record["commit"] == "abc"
    assert [e["learner"] for e in record["entries"]] == ["a"]  # baselines are not the solver's learners


def test_a_conservative_admission_cost_does_not_change_the_order(tmp_path):
    """The untried learner that cannot stop by itself is admitted on max(prior, own estimate) but valued at its
    prior: a cheap linear model whose own guess is 0.2 s still goes first when its prior says 1 ms."""
    train, test, _ = tabular()

    class Rigid(Timed):
        budget_aware = False

        def next_cost_s(self):
            return 0.2 if self.fits == 0 else 0.001

    linear, other = Rigid(train.metadata, "linear", 0.0, max_fits=2), Timed(train.metadata, "other", 0.0, max_fits=2)
    path = write_prior(tmp_path / "p.json", [prior_entry("linear", log_cost=math.log(1e-3), scores=(1.0,)),
                                             prior_entry("other", log_cost=math.log(1e-2), scores=(0.97,))])
    engine = Engine(train.metadata, [other, linear], config=EngineConfig(scheduler_prior=str(path)))
    engine.fit(train, 5.0, test)
    assert engine.history[0].learner == "linear"


def test_the_best_learner_far_below_its_prior_is_valued_from_its_headroom():
    """O1 at T = 300 s: TF-IDF's prior saturates after one round, the data does not (0.45 -> 0.57 in 0.4 s)."""
    s = Scheduler(300.0)
    saturating = prior_entry("linear", scores=(0.996, 1.0), cum=(1.0, 2.0))
    linear = RoundOption(key=0, name="linear", rounds=1, cost_s=0.4, budget_s=200, score=0.45, prior=saturating,
                         member_weight=1.0)
    transformer = RoundOption(key=1, name="transformer", rounds=0, cost_s=15.0, budget_s=200,
                              prior=prior_entry("transformer", scores=(0.68, 0.98), cum=(1.0, 1.7)))
    choice = s.choose([linear, transformer], now_s=1.0, best=0.45, scale=1.0, horizon_s=290)
    assert choice.option.name == "linear"
    _, gain, _ = s.value(linear, 1.0, 0.45, 1.0, 290)
    assert gain == pytest.approx(0.5 * (1.0 - 0.45), rel=1e-6)  # half the gap to the prior's target
    # on-prior (it reached 0.996 of the scale): the prior's own increment, as before
    on_prior = RoundOption(key=0, name="linear", rounds=1, cost_s=0.4, budget_s=200, score=0.996,
                           prior=saturating, member_weight=1.0)
    assert s.value(on_prior, 1.0, 0.996, 1.0, 290)[1] == pytest.approx(0.004, abs=1e-6)
    # not in the best model: far below the best is no evidence of headroom, the prior's increment stands
    weak = RoundOption(key=2, name="frames", rounds=1, cost_s=0.4, budget_s=200, score=0.01,
                       prior=prior_entry("frames", scores=(0.9, 0.95), cum=(1.0, 2.0)), member_weight=0.0)
    assert s.value(weak, 1.0, 0.45, 1.0, 290)[1] == pytest.approx(0.0, abs=1e-9)
    # from the second round on the measured gains take over (unchanged rule)
    later = RoundOption(key=0, name="linear", rounds=2, cost_s=0.8, budget_s=200, score=0.57, gain_ema=0.0,
                        cost_growth=2.0, prior=saturating, member_weight=1.0)
    assert s.value(later, 2.0, 0.57, 1.0, 290)[1] == pytest.approx(0.0, abs=1e-9)


def test_a_learner_that_saw_few_rows_is_valued_from_its_headroom_when_it_projects_above_the_best():
    """The 300k-row table at T = 30 s: GBDT's first round on 500 rows (0.2 %) scored 0.61 below the linear 0.64."""
    s = Scheduler(30.0)
    saturated = prior_entry("gbdt", scores=(1.0, 1.0), cum=(1.0, 3.0))  # fitted on wine: round one saw every row
    gbdt = RoundOption(key=1, name="gbdt", rounds=1, cost_s=0.2, budget_s=20, score=0.61, prior=saturated,
                       rows_fraction=500 / 240000)
    _, gain, _ = s.value(gbdt, 5.0, 0.64, 0.95, 29)
    assert gain == pytest.approx(0.61 + 0.5 * (0.95 - 0.61) - 0.64, rel=1e-6)  # above the best by that much
    # every row seen: the prior's increment (none) stands, as for any learner outside the best model
    assert s.value(RoundOption(key=1, name="gbdt", rounds=1, cost_s=0.2, budget_s=20, score=0.61, prior=saturated,
                               rows_fraction=1.0), 5.0, 0.64, 0.95, 29)[1] == pytest.approx(0.0, abs=1e-9)
    # a weak learner on few rows only passes the best after two halvings of its gap: valued well below GBDT
    weak = RoundOption(key=2, name="frames", rounds=1, cost_s=0.2, budget_s=20, score=0.01, prior=saturated,
                       rows_fraction=0.01)
    assert s.value(weak, 5.0, 0.64, 0.95, 29)[0] < 0.5 * s.value(gbdt, 5.0, 0.64, 0.95, 29)[0]
    linear = RoundOption(key=0, name="linear", rounds=9, cost_s=4.0, budget_s=20, score=0.64, gain_ema=0.001,
                         cost_growth=2.0, prior=saturated, member_weight=1.0)
    assert s.choose([linear, gbdt], now_s=5.0, best=0.64, scale=0.95, horizon_s=29).option.name == "gbdt"


def test_when_no_round_fits_the_log_says_why_for_each_open_learner():
    """A run that ends early names each learner whose next round did not fit, with its cost and the time left."""
    train, test, _ = make_dataset("tabular", n_train=120, n_test=30, output_dim=2, seed=0)

    class Rigid(Timed):
        budget_aware = False

        def next_cost_s(self):
            return 0.01 if self.fits == 0 else 30.0  # the second round cannot fit in a 3 s budget

    learner = Rigid(train.metadata, "rigid", 0.0, max_fits=5)  # not done after one round on every row
    engine = Engine(train.metadata, [learner], config=EngineConfig(scheduler_prior="off"))
    with Captured("autodl_solver.anytime") as log:
        engine.fit(train, 3.0, test)
    lines = [m for m in log.text.splitlines() if m.startswith("no round fits")]
    assert len(lines) == 1 and "rigid: next round" in lines[0] and "cannot be shortened" in lines[0]
    assert len(engine.history) == 1
    # the reserve, term by term, adds up to the total the line gives
    total = float(lines[0].split("after reserving ")[1].split(" s")[0])
    terms = lines[0].split(" s (")[1].split(")")[0].split(", ")
    assert [t.split()[0] for t in terms] == ["validation", "test", "partner", "margin"]
    assert abs(sum(float(t.split()[1]) for t in terms) - total) <= 0.25


def test_a_shortenable_round_refused_as_too_short_says_how_long_it_had_to_be():
    train, test, _ = make_dataset("tabular", n_train=120, n_test=30, output_dim=2, seed=0)

    class Big(Timed):  # budget-aware: its round could be shortened, but 2-3 s is under a fifth of 100 s
        def next_cost_s(self):
            return 0.01 if self.fits == 0 else 100.0

    learner = Big(train.metadata, "big", 0.0, max_fits=5)
    engine = Engine(train.metadata, [learner], config=EngineConfig(scheduler_prior="off", min_partial_s=5.0))
    with Captured("autodl_solver.anytime") as log:
        engine.fit(train, 3.0, test)
    (line,) = [m for m in log.text.splitlines() if m.startswith("no round fits")]
    assert "big: next round 125.0 s" in line and "a shortened one needs 5.0 s" in line
    assert len(engine.history) == 1


def test_a_sliver_of_a_long_round_runs_once_nothing_else_fits():
    """Under partial_min_fraction a shortened round waits while others run, then uses the time left."""
    train, test, _ = make_dataset("tabular", n_train=120, n_test=30, output_dim=2, seed=0)

    class Big(Timed):
        def next_cost_s(self):
            return 0.01 if self.fits == 0 else 100.0  # a fifth of its next round is 25 s: never in 4 s

    big, cheap = Big(train.metadata, "big", 0.0, max_fits=5), Timed(train.metadata, "cheap", 0.2, max_fits=4)
    engine = Engine(train.metadata, [big, cheap], config=EngineConfig(scheduler_prior="off", patience=None))
    engine.fit(train, 4.0, test)
    names = [h.learner for h in engine.history]
    assert names.count("cheap") == 4 and names[-1] == "big" and engine.history[-1].partial
    last_cheap = max(i for i, n in enumerate(names) if n == "cheap")
    assert all(i == 0 or i > last_cheap for i, n in enumerate(names) if n == "big")  # the sliver waited
    assert big.budgets[-1] >= engine.config.min_partial_s


def test_a_learner_that_ran_past_its_budget_gets_that_much_less_next_time():
    """A budget-aware learner stops at its next step, which can be late; its lateness comes off later budgets."""
    train, test, _ = tabular()

    class Late(Timed):  # stops 0.3 s after its budget, like a step of a per-frame video network on CPU
        def fit(self, data, budget_s):
            super().fit(data, budget_s)
            time.sleep(0.3)

    learner = Late(train.metadata, "late", 5.0, max_fits=10)
    engine = Engine(train.metadata, [learner], config=EngineConfig(scheduler_prior="off", min_partial_s=0.1,
                                                                   patience=None))
    engine.set_train_data(train)
    engine.start_clock(4.0)
    (slot,) = engine._slots
    now = time.time()
    on_time = engine._admission(slot, now)
    slot.late_s = 0.4
    late = engine._admission(slot, now)
    assert on_time is not None and late is not None and on_time.partial and late.partial
    assert late.budget_s == pytest.approx(on_time.budget_s - 0.4)
    slot.late_s = 0.0
    engine.train()  # one shortened round of the 5 s learner in 4 s, 0.3 s late
    assert engine.history[0].partial and slot.late_s == pytest.approx(0.3, abs=0.1)


def test_a_sliver_with_an_expected_gain_goes_before_rounds_without_one():
    """Rounds that cannot gain do not hold the end of the budget against a shortened round that can."""
    train, test, _ = make_dataset("tabular", n_train=120, n_test=30, output_dim=2, seed=0)

    class Big(Timed):
        def next_cost_s(self):
            return 0.01 if self.fits == 0 else 100.0

    big, flat = Big(train.metadata, "big", 0.0, max_fits=5), Timed(train.metadata, "flat", 0.05, max_fits=200)
    engine = Engine(train.metadata, [big, flat], config=EngineConfig(scheduler_prior="off", patience=None))
    engine.fit(train, 4.0, test)
    names = [h.learner for h in engine.history]
    assert "big" in names[1:] and engine.history[names.index("big", 1)].partial
    assert flat.fits < 200 and names.index("big", 1) < len(names) - 1  # before flat's zero-gain rounds ran out
