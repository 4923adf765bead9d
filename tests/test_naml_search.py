"""T-NAML searchers, trials through executors, metrics and the leave-tasks-out experiment on tiny tasks."""
from __future__ import annotations

import json

import numpy as np
import pytest

from autodl_solver.errors import AutoDLInputError
from autodl_solver.naml.controller import ControllerConfig
from autodl_solver.naml.experiment import ExperimentConfig, run_experiment
from autodl_solver.naml.metrics import speedup, top_n_curves, trials_to_reach
from autodl_solver.naml.searchers import (MultitaskNAML, RandomSearch, SingleTaskNAML, Transfer, make_searcher)
from autodl_solver.naml.space import default_space_path, load_space
from autodl_solver.naml.tasks import synthetic_task
from autodl_solver.naml.trials import run_search
from autodl_solver.utils.executors import make_executor


@pytest.fixture(scope="module")
def space():
    return load_space(default_space_path(tiny=True))


@pytest.fixture(scope="module")
def task_paths(tmp_path_factory):
    root = tmp_path_factory.mktemp("naml_tasks")
    specs = [("ta", "text", 0), ("tb", "text", 1), ("tc", "text", 2), ("ia", "image", 3), ("ib", "image", 4)]
    return {n: str(synthetic_task(n, m, n=150, seed=s).save(root / f"{n}.npz")) for n, m, s in specs}


def test_every_searcher_speaks_suggest_observe(space):
    pre = MultitaskNAML(space, [("a", "text"), ("b", "image")], seed=0)
    searchers = [RandomSearch(space, [("a", "text")]), SingleTaskNAML(space, ("a", "text")), pre,
                 Transfer(space, ("new", "text"), pre.controller, seed=1)]
    for s in searchers:
        task = s.next_task()
        sug = s.suggest()
        assert sug.task == task or s is pre
        assert sorted(sug.config) == sorted(space.names) and space.encode(sug.config) == list(sug.actions)
        s.observe(sug, 0.5)
        s.observe(s.suggest(), 0.7)
        assert len(s.history) == 2
    assert {pre.next_task() for _ in range(40)} == {"a", "b"}  # uniform over the tasks
    assert "new" not in pre.controller.task_names  # transfer works on a copy
    with pytest.raises(AutoDLInputError, match="pre-training"):
        Transfer(space, ("a", "text"), pre.controller)
    with pytest.raises(AutoDLInputError, match="not one of"):
        searchers[0].suggest("b")
    with pytest.raises(AutoDLInputError, match="searcher"):
        make_searcher("bayes", space, [("a", "text")])


def test_metrics():
    v, t = top_n_curves([0.1 * i for i in range(12)], [1.0] * 11 + [0.0], n=10)
    assert np.isnan(v[8]) and v[9] == pytest.approx(0.45) and v[11] == pytest.approx(0.65)
    assert t[11] == pytest.approx(0.9)
    assert trials_to_reach([np.nan, 0.2, 0.5, 0.5], 0.5) == 3 and trials_to_reach([0.1, 0.2], 0.5) is None
    rs = [None] * 9 + [0.5, 0.6, 0.6, 0.6, 0.7]
    fast = [None] * 9 + [0.7, 0.8, 0.8, 0.8, 0.8]
    out = speedup(rs, fast)
    assert out["rs_trials"] == 14 and out["method_trials"] == 10 and out["speedup"] == pytest.approx(1.4)
    slow = speedup(rs, [None] * 9 + [0.1] * 5)
    assert slow["speedup"] is None and slow["speedup_upper_bound"] == pytest.approx(1.0)


def test_run_search_serial_observes_every_trial(space, task_paths):
    searcher = SingleTaskNAML(space, ("ta", "text"), seed=0, config=ControllerConfig(lr=0.01))
    seen = []
    with make_executor("serial") as ex:
        records = run_search(searcher, task_paths, 12, ex, on_trial=seen.append)
    assert len(records) == 12 == len(seen) == searcher.trainer.updates
    assert all(0 <= r["reward"] <= 1 and r["task"] == "ta" for r in records)
    with pytest.raises(AutoDLInputError, match="no task cache"):
        run_search(RandomSearch(space, [("zz", "text")]), task_paths, 1, make_executor("serial"))


@pytest.mark.slow
def test_experiment_json_serial(space, task_paths, tmp_path):
    cfg = ExperimentConfig(folds=[["ta"], ["ia"]], budget=12, pretrain_trials=15, controller=ControllerConfig(lr=0.01))
    with make_executor("serial") as ex:
        result = run_experiment(space, task_paths, cfg, ex, tmp_path / "exp.json")
    saved = json.loads((tmp_path / "exp.json").read_text())
    assert saved["space_fingerprint"] == space.fingerprint == result["space_fingerprint"]
    for name in ("ta", "ia"):
        entry = saved["per_task"][name]
        assert sorted(entry["runs"]) == ["naml", "random", "tnaml"]
        assert all(len(entry["runs"][m]["valid"]) == 12 for m in entry["runs"])
        assert entry["at_budget"]["random"]["valid_top10"] is not None
        assert set(entry["speedup"]) == {"naml", "tnaml"}
    assert saved["pretrain"][0]["tasks"] == ["tb", "tc", "ia", "ib"]
    assert (tmp_path / "exp_controllers" / "fold0" / "controller.pt").is_file()
    assert (tmp_path / "exp_controllers" / "transfer_ia" / "controller.json").is_file()
    assert (tmp_path / "exp_test_top10.png").stat().st_size > 1000
    assert len((tmp_path / "exp_trials.jsonl").read_text().splitlines()) == 2 * 15 + 2 * 3 * 12
    assert saved["summary"]["tnaml"]["tasks"] == 2
    with pytest.raises(AutoDLInputError, match="unknown tasks"):
        run_experiment(space, task_paths, ExperimentConfig(folds=[["zz"]], budget=10), make_executor("serial"),
                       tmp_path / "x.json")


@pytest.mark.slow
def test_experiment_with_local_processes(space, task_paths, tmp_path):
    paths = {k: task_paths[k] for k in ("ta", "tb", "ia")}
    cfg = ExperimentConfig(folds=[["ta"]], budget=10, pretrain_trials=6, controller=ControllerConfig(lr=0.01))
    with make_executor("local", max_workers=2) as ex:
        run_experiment(space, paths, cfg, ex, tmp_path / "exp.json")
    saved = json.loads((tmp_path / "exp.json").read_text())
    assert saved["settings"]["max_workers"] == 2
    assert len(saved["per_task"]["ta"]["runs"]["tnaml"]["valid"]) == 10
