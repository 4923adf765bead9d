"""The cost-aware T-NAML reward and the prior file's cost and gain reaching the scheduler."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from autodl_solver.anytime.prior import LearnerPrior, SchedulingPrior
from autodl_solver.anytime.scheduler import RoundOption, Scheduler
from autodl_solver.errors import AutoDLInputError
from autodl_solver.metrics import transform_time
from autodl_solver.naml.child import feature_seconds, train_child
from autodl_solver.naml.controller import Controller, ControllerConfig, TaskNormalizer
from autodl_solver.naml.experiment import ExperimentConfig, run_experiment
from autodl_solver.naml.prior import (export_prior, learner_for, preferred_learner, read_prior, scheduling_prior,
                                      solver_settings)
from autodl_solver.naml.reward import Reward, cost_seconds, make_reward
from autodl_solver.naml.searchers import SingleTaskNAML
from autodl_solver.naml.space import default_space_path, load_space
from autodl_solver.naml.tasks import Task, synthetic_task
from autodl_solver.naml.trials import run_search
from autodl_solver.utils.executors import make_executor


@pytest.fixture(scope="module")
def space():
    return load_space(default_space_path(tiny=True))


@pytest.fixture(scope="module")
def text_meta():
    from autodl_solver.testing.datasets import make_dataset

    return make_dataset("text")[0].metadata


def _config(space, **changes):
    config = space.decode([d.allowed("text")[0] for d in space.decisions])
    return {**config, **changes}


# ------------------------------------------------------------------ reward
def test_cost_aware_reward_is_accuracy_times_the_alc_share_left():
    reward = Reward("cost_aware", time_budget=60.0)
    result = {"valid_accuracy": 0.8, "seconds": 1.0, "feature_seconds": 9.0}
    expected = 0.8 * (1 - transform_time(10.0, 60.0))
    assert reward("t", result) == pytest.approx(expected)
    assert cost_seconds(result) == (10.0, True)
    assert cost_seconds({"seconds": 2.0, "feature_seconds": None}) == (2.0, False)
    assert reward("t", {**result, "feature_seconds": 100.0}) == 0.0  # past T: no ALC at all
    assert Reward()("t", result) == 0.8  # the paper's reward ignores cost
    per_task = Reward("cost_aware", time_budget=60.0, budgets={"long": 300.0})
    assert per_task("long", result) > per_task("t", result)  # the same cost weighs less on a longer budget
    assert math.isnan(reward("t", {"valid_accuracy": float("nan"), "seconds": 1.0}))
    assert make_reward("cost_aware", 30.0).budget("x") == 30.0 and make_reward(None).kind == "accuracy"
    assert make_reward({"kind": "cost_aware", "time_budget": 5}).time_budget == 5
    for bad in ("speed", {"kind": "accuracy", "T": 3}, 3):
        with pytest.raises(AutoDLInputError, match="reward"):
            make_reward(bad)
    for budget in (0, -1, float("nan"), float("inf")):
        with pytest.raises(AutoDLInputError, match="time_budget"):
            Reward("cost_aware", time_budget=budget)


def test_fast_and_good_beats_slow_and_good_only_under_the_cost_aware_reward():
    fast = {"valid_accuracy": 0.80, "seconds": 0.5, "feature_seconds": 0.5}
    slow = {"valid_accuracy": 0.82, "seconds": 0.5, "feature_seconds": 40.0}
    for kind, fast_wins in (("accuracy", False), ("cost_aware", True)):
        reward = Reward(kind)
        norm = TaskNormalizer()
        for _ in range(20):  # the per-task baseline sits between the two
            norm.update("t", reward("t", fast))
            norm.update("t", reward("t", slow))
        assert (norm.advantage("t", reward("t", fast)) > norm.advantage("t", reward("t", slow))) == fast_wins


def test_per_task_normalisation_puts_tasks_of_different_budgets_on_one_scale():
    reward = Reward("cost_aware", budgets={"short": 5.0, "long": 600.0})
    norm = TaskNormalizer()
    rng = np.random.default_rng(0)
    for _ in range(200):
        for task in ("short", "long"):
            result = {"valid_accuracy": float(rng.uniform(0.5, 0.9)), "seconds": float(rng.uniform(0.1, 3.0))}
            norm.update(task, reward(task, result))
    assert norm.baseline("short") < norm.baseline("long")  # a short budget scales every reward down
    top = {"valid_accuracy": 0.9, "seconds": 0.1}
    assert norm.advantage("short", reward("short", top)) > 1 and norm.advantage("long", reward("long", top)) > 1


# --------------------------------------------------------- child feature cost
def test_child_charges_its_module_share_of_the_feature_extraction(space, tmp_path):
    task = synthetic_task("t", "text", n=120, seed=0, feature_seconds={"fasttext": 0.01, "hashed": 0.001})
    loaded = Task.load(task.save(tmp_path / "t.npz"))  # the costs survive the cache
    config = _config(space, embedding="fasttext", deep_reg=0.0, train_samples=100)
    rows = min(100, len(task.split["train"])) + len(task.split["valid"]) + len(task.split["test"])
    assert feature_seconds(loaded, config) == pytest.approx(0.01 * rows)
    assert feature_seconds(loaded, {**config, "embedding": "hashed"}) == pytest.approx(0.001 * rows)
    assert feature_seconds(loaded, {**config, "deep_reg": "disable"}) == 0.0  # the wide tower alone: no module
    assert feature_seconds(synthetic_task("u", "text", n=60), config) is None  # an old cache: unknown
    result = train_child(loaded, config)
    assert result["rows"] == rows and result["feature_seconds"] == pytest.approx(0.01 * rows)


def test_cost_aware_search_learns_the_cheap_module(space, tmp_path):
    # accuracy alone prefers hashed on this task; hashed is charged 0.2 s of features per row (30-70 s a child)
    task = synthetic_task("t", "text", n=150, seed=0, feature_seconds={"fasttext": 0.0, "hashed": 0.2})
    paths = {"t": str(task.save(tmp_path / "t.npz"))}
    cfg = ControllerConfig(lr=0.02, entropy_weight=0.0)
    picks = {}
    with make_executor("serial") as executor:
        for kind in ("accuracy", "cost_aware"):
            searcher = SingleTaskNAML(space, ("t", "text"), seed=0, config=cfg)
            records = run_search(searcher, paths, 60, executor, reward=kind)
            late = [r["config"]["embedding"] for r in records[-20:] if r["config"]["deep_reg"] != "disable"]
            picks[kind] = late.count("fasttext") / max(1, len(late))
            if kind == "cost_aware":
                assert all(r["reward"] <= r["valid_accuracy"] for r in records)
    assert picks["cost_aware"] > 0.7 and picks["cost_aware"] > picks["accuracy"]


# ------------------------------------------------------------ prior file
def _records(learner_configs):
    out = []
    for i, (config, acc, seconds, rows) in enumerate(learner_configs):
        out.append({"trial": i, "task": "t", "config": config, "valid_accuracy": acc, "seconds": seconds,
                    "feature_seconds": 0.0, "rows": rows})
    return out


def test_export_carries_cost_gain_and_learner_probabilities(space, tmp_path):
    controller = Controller(space, [("t", "text")], seed=0)
    greedy = space.decode(controller.most_likely("t"))
    other = {**greedy, "deep_reg": "disable"} if greedy["deep_reg"] != "disable" else {**greedy, "deep_reg": 0.0}
    records = _records([(greedy, 0.7, 2.0, 200), (greedy, 0.8, 4.0, 200), (other, 0.6, 1.0, 100),
                               (other, float("nan"), 1.0, 100)])
    records.append({"task": "t", "config": other, "valid_accuracy": 0.0, "error": "boom", "seconds": 0.0})
    prior = export_prior(tmp_path / "p.json", controller, "t", records=records, reward=Reward("cost_aware"))
    assert read_prior(tmp_path / "p.json") == prior
    learners = prior["learners"]
    g, o = learner_for("text", greedy), learner_for("text", other)
    assert sum(v["probability"] for v in learners.values()) == pytest.approx(1.0)
    assert learners[g]["trials"] == 2 and learners[g]["valid_accuracy"] == 0.8
    assert learners[g]["seconds"] == pytest.approx(3.0) and learners[g]["seconds_per_row"] == pytest.approx(0.015)
    assert learners[o]["trials"] == 1  # the NaN and the failed trial are left out
    assert prior["measured"]["trials"] == 2 and prior["measured"]["how"] == "transfer trials"
    assert prior["reward"]["kind"] == "cost_aware" and prior["device"] == "cpu"


def test_export_measures_an_untried_most_likely_configuration(space, tmp_path):
    path = synthetic_task("t", "text", n=120, seed=0, feature_seconds={"fasttext": 0.0, "hashed": 0.0}).save(
        tmp_path / "t.npz")
    controller = Controller(space, [("t", "text")], seed=0)
    prior = export_prior(tmp_path / "p.json", controller, "t", records=[], task_path=path)
    assert prior["measured"]["trials"] == 1 and prior["measured"]["how"] == "one child trained at export"
    assert prior["measured"]["seconds_per_row"] > 0


def _prior_file(tmp_path, space, learners, config=None, name="p.json"):
    controller = Controller(space, [("t", "text")], seed=0)
    prior = export_prior(tmp_path / name, controller, "t")
    prior["config"] = {**prior["config"], **(config or {})}
    prior["learners"] = learners
    (tmp_path / name).write_text(json.dumps(prior))
    return tmp_path / name


def test_preferred_learner_is_the_policy_mass_then_the_greedy_one(space, tmp_path):
    path = _prior_file(tmp_path, space, {"text_linear": {"probability": 0.7}, "text_fasttext": {"probability": 0.3}},
                       {"embedding": "fasttext", "deep_reg": 0.0})
    prior = read_prior(path)
    assert preferred_learner(prior) == "text_linear" and solver_settings(prior)["first"] == "text_linear"
    del prior["learners"]  # an old file: the most likely configuration's learner
    assert preferred_learner(prior) == "text_fasttext"


def test_scheduling_prior_adds_measured_cost_where_the_fitted_prior_has_none(space, tmp_path, text_meta):
    from autodl_solver.anytime.prior import example_units

    fitted = SchedulingPrior(entries={("text", "text_linear", "cpu"): LearnerPrior(
        "text", "text_linear", "cpu", log_cost=-4.0, cost_slope=0.5, scores=(0.9, 1.0), cum_cost=(1.0, 2.0))},
        scale={"text": 0.9}, source="fitted.json")
    learners = {"text_embed_linear": {"probability": 0.6, "trials": 5, "valid_accuracy": 0.84, "seconds": 30.0,
                                      "seconds_per_row": 0.03},
                "text_linear": {"probability": 0.4, "trials": 5, "valid_accuracy": 0.80, "seconds": 0.5,
                                "seconds_per_row": 0.001}}
    path = _prior_file(tmp_path, space, learners, {"embedding": "fasttext", "deep_reg": 0.0})
    out = scheduling_prior(path, text_meta, base=fitted)
    # the policy's mass goes first with its own settings; the most likely configuration (fastText's) maps
    # onto no penalty, and its rate and size are not the solver's
    assert out.first == "text_embed_linear" and out.config_overrides == {}
    assert "T-NAML" in out.source and out.domain_scale("text") == 0.9
    linear = out.get("text", "text_linear", "cpu")
    assert (linear.log_cost, linear.cost_slope) == (-4.0, 0.5)  # the fitted cost stays
    embed = out.get("text", "text_embed_linear", "cpu")
    units = example_units(text_meta.tensor_shape)
    assert embed.first_cost_s(256 * units) == pytest.approx(0.03 * 256)  # measured seconds per row x rows
    assert embed.score(1) == pytest.approx(1.0) and embed.score(2) == pytest.approx(1.0)  # preferred: raised
    assert out.expected["text_embed_linear"]["first_cost_s_per_row"] == 0.03
    # the scheduler now values the slow learner from its cost instead of probing it first and blind
    scheduler = Scheduler(60.0)
    option = RoundOption(key=1, name="text_embed_linear", rounds=0, cost_s=embed.first_cost_s(256 * units),
                         budget_s=60.0, prior=embed)
    rate, _, reason = scheduler.value(option, 0.0, None, 0.9, 60.0)
    assert math.isfinite(rate) and reason.startswith("prior")
    # without a fitted prior (scheduler prior off) every measured learner gets an entry, scores relative
    alone = scheduling_prior(path, text_meta, base=SchedulingPrior())
    assert alone.get("text", "text_linear", "cpu").score(1) == pytest.approx(0.80 / 0.84)


def test_old_prior_files_behave_as_before(space, tmp_path, text_meta):
    controller = Controller(space, [("t", "text")], seed=0)
    prior = export_prior(tmp_path / "p.json", controller, "t")
    assert "learners" not in prior and "measured" not in prior
    prior["config"].update(embedding="fasttext", deep_reg=0.0)
    for key in ("placement",):
        prior.pop(key)  # the first files had no placement either
    (tmp_path / "p.json").write_text(json.dumps(prior))
    fitted = SchedulingPrior(entries={(d, n, "cpu"): LearnerPrior(d, n, "cpu", -4.0, 0.5, s, (1.0, 2.0))
                                      for d, n, s in (("text", "text_linear", (0.9, 1.0)),
                                                      ("text", "text_fasttext", (0.5, 0.7)))})
    out = scheduling_prior(tmp_path / "p.json", text_meta, base=fitted)
    assert out.first == "text_fasttext" and out.placement == "after_opener"
    assert out.get("text", "text_fasttext", "cpu").scores == (0.9, 1.0)
    assert set(out.entries) == set(fitted.entries)  # nothing measured: no new entries
    image = {**prior, "modality": "image", "config": {**prior["config"], "embedding": "pixels"}}
    (tmp_path / "i.json").write_text(json.dumps(image))
    other = scheduling_prior(tmp_path / "i.json", text_meta, base=fitted)
    assert other.first == "" and other.entries == fitted.entries  # another domain: unchanged


@pytest.mark.parametrize("change, match", [
    ({"learners": {"text_linear": {"seconds_per_row": float("nan")}}}, "seconds_per_row"),
    ({"learners": {"text_linear": {"probability": -0.5}}}, "probability"),
    ({"learners": ["text_linear"]}, "learners"),
    ({"measured": {"seconds": "slow"}}, "measured.seconds"),
    ({"config": {"embedding": "bert"}}, "config.embedding"),
    ({"config": {"embedding": "pixels"}}, "config.embedding"),  # an image module in a text prior
    ({"config": {"deep_lr": -1}}, "config.deep_lr"),
])
def test_bad_prior_files_name_the_file_and_the_field(space, tmp_path, change, match):
    controller = Controller(space, [("t", "text")], seed=0)
    prior = export_prior(tmp_path / "p.json", controller, "t")
    for key, value in change.items():
        prior[key] = {**prior[key], **value} if key == "config" else value
    path = tmp_path / "bad_prior.json"
    path.write_text(json.dumps(prior))  # json writes NaN as NaN, which json.loads reads back
    with pytest.raises(AutoDLInputError, match=match) as err:
        read_prior(path)
    assert "bad_prior.json" in str(err.value)
    with pytest.raises(AutoDLInputError, match="bad_prior.json"):
        scheduling_prior(path, None)
    for text, what in (("", "not a JSON"), ("{", "not a JSON")):
        path.write_text(text)
        with pytest.raises(AutoDLInputError, match=what):
            read_prior(path)
    with pytest.raises(AutoDLInputError, match="not found"):
        read_prior(tmp_path / "missing.json")


# ----------------------------------------------------------- experiment
def test_experiment_with_the_cost_aware_reward_writes_priors(space, tmp_path):
    specs = [("ta", "text", 0), ("tb", "text", 1), ("tc", "text", 2)]
    paths = {n: str(synthetic_task(n, m, n=120, seed=s, feature_seconds={"fasttext": 0.01, "hashed": 0.0}).save(
        tmp_path / f"{n}.npz")) for n, m, s in specs}
    config = ExperimentConfig(folds=[["tc"]], budget=10, pretrain_trials=6, seed=0, reward="cost_aware",
                              reward_time_budget=30.0, controller=ControllerConfig(lr=0.01))
    with make_executor("serial") as executor:
        result = run_experiment(space, paths, config, executor, tmp_path / "exp.json")
    assert result["settings"]["reward"]["kind"] == "cost_aware"
    assert result["settings"]["reward"]["time_budget"] == 30.0
    entry = result["per_task"]["tc"]
    assert len(entry["runs"]["tnaml"]["reward_top10"]) == 10 and "speedup_reward" in entry
    assert set(result["summary"]["reward"]) == {"naml", "tnaml"}
    prior = read_prior(entry["prior_file"])
    assert prior["reward"]["kind"] == "cost_aware" and prior["learners"] and prior["measured"]["trials"] >= 1
    trials = [json.loads(line) for line in (tmp_path / "exp_trials.jsonl").read_text().splitlines()]
    assert all(t["reward"] <= t["valid_accuracy"] + 1e-12 for t in trials)
