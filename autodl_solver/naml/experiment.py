"""The leave-tasks-out experiment: multitask pre-training, transfer, vs single-task search and random search.

For each fold (a group of held-out tasks): a :class:`MultitaskNAML`
controller is pre-trained on every task *not* in the fold for
``pretrain_trials`` trials, then transferred (:class:`Transfer`: a new task
embedding) to each held-out task for ``budget`` trials. Every held-out task
also gets ``budget`` trials of random search and of single-task NAML (fresh
controller), which do not depend on the fold. Per task the result holds the
validation and test accuracy-top10 curves of the three methods, their values
at the budget, and the speed-up in trials of NAML and T-NAML over random
search (:func:`~autodl_solver.naml.metrics.speedup`); the file holds the
medians, the settings, the search space fingerprint and the machine.

Every searcher is rewarded by ``config.reward`` (:mod:`~autodl_solver.naml.reward`):
the paper's validation accuracy by default, or the cost-aware reward. The
paper's metrics (accuracy-top10, their speed-ups) are always computed on
accuracy, so runs under both rewards compare; under another reward each run
also has its ``reward_top10`` curve and each task a ``speedup_reward``
(the same speed-up computed on the rewards), summarised as ``reward``.
The JSON is written atomically; ``trials.jsonl`` beside it has every trial.
"""
from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ..errors import AutoDLInputError
from ..utils.atomic import atomic_write_text
from .controller import ControllerConfig
from .metrics import TOP_N, plot_curves, speedup, to_json_list, top_n_curves
from .prior import export_prior
from .reward import Reward
from .searchers import MultitaskNAML, RandomSearch, SingleTaskNAML, Transfer
from .space import SearchSpace
from .tasks import Task
from .trials import run_search

METHODS = ("random", "naml", "tnaml")


@dataclass
class ExperimentConfig:
    """Settings of :func:`run_experiment`.

    Attributes
    ----------
    folds : list of list of str
        Held-out task groups; each fold pre-trains on all the other tasks.
    budget : int
        Trials per method on each held-out task (B).
    pretrain_trials : int
        Multitask trials per fold.
    seed : int
        Seeds searchers and children.
    controller : ControllerConfig
        Controller settings for pre-training and single-task NAML.
    transfer_controller : ControllerConfig, optional
        Training settings after transfer (default: ``controller``).
    reward : {"accuracy", "cost_aware"}
        What the searchers are rewarded with (:class:`~autodl_solver.naml.reward.Reward`);
        ``"accuracy"`` is the paper's.
    reward_time_budget : float
        ``T`` in seconds of the cost-aware reward's log time axis.
    """

    folds: list
    budget: int = 100
    pretrain_trials: int = 200
    seed: int = 0
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    transfer_controller: Optional[ControllerConfig] = None
    reward: str = "accuracy"
    reward_time_budget: float = 60.0

    def make_reward(self) -> Reward:
        """The :class:`~autodl_solver.naml.reward.Reward` of these settings."""
        return Reward(kind=self.reward, time_budget=self.reward_time_budget)


def _summary(records: Sequence[dict], with_reward: bool = False) -> dict[str, Any]:
    """Curves of one run, in trial order (suggestion order, which is the budget order).

    ``with_reward`` adds the rewards, their top-10 curve and the feature
    seconds (a reward other than the accuracy).
    """
    ordered = sorted(records, key=lambda r: r["finished"])
    valid = [r["valid_accuracy"] for r in ordered]
    test = [r["test_accuracy"] for r in ordered]
    v, t = top_n_curves(valid, test)
    out = {"valid": valid, "test": test, "valid_top10": to_json_list(v), "test_top10": to_json_list(t),
           "seconds": sum(float(r.get("seconds", 0.0)) for r in ordered)}
    if with_reward:
        rewards = [r["reward"] for r in ordered]
        out["reward"] = rewards
        out["reward_top10"] = to_json_list(top_n_curves(rewards, rewards)[0])
        out["feature_seconds"] = sum(float(r.get("feature_seconds") or 0.0) for r in ordered)
    return out


def run_experiment(space: SearchSpace, task_paths: Mapping[str, str], config: ExperimentConfig, executor: Any,
                   out: str | os.PathLike, progress: Optional[Callable[[str], None]] = None,
                   extra: Optional[dict] = None) -> dict[str, Any]:
    """Run the leave-tasks-out experiment and write its JSON result to ``out``.

    Parameters
    ----------
    space : SearchSpace
        The search space.
    task_paths : mapping
        Task name -> cache file of every task (pre-training and held out).
    config : ExperimentConfig
        Folds, budgets, seeds and controller settings.
    executor : Executor
        Runs the children (``max_workers`` in flight).
    out : path
        The result file (``.json``); ``trials.jsonl`` and the learning-curve
        PNGs go beside it, with the same stem, and the pre-trained
        (``fold<i>``) and transferred (``transfer_<task>``) controllers under
        ``<stem>_controllers/``, and each held-out task's solver prior
        (:func:`~autodl_solver.naml.prior.export_prior` with the transfer's
        trials) as ``<stem>_priors/<task>.json``.
    progress : callable, optional
        Receives one-line progress messages.
    extra : dict, optional
        Added to the result (command, machine).

    Returns
    -------
    dict
        The result written to ``out``.
    """
    say = progress or (lambda msg: None)
    out = Path(out)
    tasks = {name: Task.load(path) for name, path in task_paths.items()}
    modality = {n: t.modality for n, t in tasks.items()}
    held = [t for fold in config.folds for t in fold]
    unknown = sorted(set(held) - set(tasks))
    if unknown:
        raise AutoDLInputError("folds", f"unknown tasks {unknown}; known {sorted(tasks)}")
    if len(set(held)) != len(held):
        raise AutoDLInputError("folds", "a task is held out in two folds")
    if config.budget < TOP_N or config.pretrain_trials < 1:
        raise AutoDLInputError("budget", f"the budget must be at least {TOP_N} trials (accuracy-top{TOP_N}) and "
                                         f"pretrain_trials at least 1")
    reward = config.make_reward()
    costed = reward.kind != "accuracy"
    began = time.perf_counter()
    trial_log: list[dict] = []

    def logger(method: str, task: str, n: int):
        def on_trial(record: dict) -> None:
            trial_log.append({"method": method, "target": task, **record})
            done = record["finished"] + 1
            if done == n or done % max(1, n // 4) == 0:
                best = max(r['reward'] for r in trial_log if r['method'] == method and r['target'] == task)
                say(f"{method} {task}: {done}/{n} trials, best reward ({reward.kind}) {best:.4f}")
        return on_trial

    per_task: dict[str, dict[str, Any]] = {}
    for name in held:
        pair = (name, modality[name])
        runs = {}
        for method, searcher in (("random", RandomSearch(space, [pair], config.seed)),
                                 ("naml", SingleTaskNAML(space, pair, config.seed, config.controller))):
            records = run_search(searcher, task_paths, config.budget, executor, seed=config.seed,
                                 on_trial=logger(method, name, config.budget), reward=reward)
            runs[method] = _summary(records, costed)
        per_task[name] = {"modality": modality[name], "runs": runs}
    pretrain: list[dict] = []
    for i, fold in enumerate(config.folds):
        train_tasks = [(n, modality[n]) for n in tasks if n not in fold]
        if not train_tasks:
            raise AutoDLInputError("folds", f"fold {i} holds out every task; nothing to pre-train on")
        multitask = MultitaskNAML(space, train_tasks, config.seed, config.controller)
        records = run_search(multitask, task_paths, config.pretrain_trials, executor, seed=config.seed + 10**6,
                             on_trial=logger(f"multitask[fold {i}]", "*", config.pretrain_trials), reward=reward)
        folder = multitask.save(out.parent / f"{out.stem}_controllers" / f"fold{i}",
                                {"held_out": list(fold), "trials": config.pretrain_trials})
        by_task = {n: _summary([r for r in records if r["task"] == n], costed) for n, _ in train_tasks}
        pretrain.append({"fold": i, "held_out": list(fold), "tasks": [n for n, _ in train_tasks],
                         "controller": str(folder), "per_task_trials": {n: len(s["valid"]) for n, s in by_task.items()},
                         "valid_top10_final": {n: s["valid_top10"][-1] for n, s in by_task.items() if s["valid"]}})
        for name in fold:
            searcher = Transfer(space, (name, modality[name]), multitask.controller, config.seed,
                                config.transfer_controller or config.controller)
            prior = searcher.most_likely(name)
            records = run_search(searcher, task_paths, config.budget, executor, seed=config.seed,
                                 on_trial=logger("tnaml", name, config.budget), reward=reward)
            per_task[name]["runs"]["tnaml"] = _summary(records, costed)
            per_task[name]["transfer_controller"] = str(searcher.save(
                out.parent / f"{out.stem}_controllers" / f"transfer_{name}", {"fold": i, "trials": config.budget}))
            per_task[name]["transfer_prior"] = prior
            prior_file = out.parent / f"{out.stem}_priors" / f"{name}.json"
            export_prior(prior_file, searcher.controller, name, source=per_task[name]["transfer_controller"],
                         records=records, reward=reward, task_path=task_paths[name], seed=config.seed)
            per_task[name]["prior_file"] = str(prior_file)
            per_task[name]["tnaml_most_likely_after"] = searcher.most_likely(name)
    for name, entry in per_task.items():
        runs = entry["runs"]
        rs = runs["random"]["valid_top10"]
        entry["at_budget"] = {m: {"valid_top10": runs[m]["valid_top10"][-1], "test_top10": runs[m]["test_top10"][-1]}
                              for m in METHODS}
        entry["speedup"] = {m: speedup(rs, runs[m]["valid_top10"]) for m in ("naml", "tnaml")}
        if all("reward_top10" in runs[m] for m in METHODS):
            entry["speedup_reward"] = {m: speedup(runs["random"]["reward_top10"], runs[m]["reward_top10"])
                                       for m in ("naml", "tnaml")}
    result = {"format": "autodl_solver.naml.experiment/1", "space_name": space.name,
              "space_fingerprint": space.fingerprint, "settings": {
                  "folds": config.folds, "budget": config.budget, "pretrain_trials": config.pretrain_trials,
                  "seed": config.seed, "reward": reward.to_dict(), "controller": asdict(config.controller),
                  "transfer_controller": asdict(config.transfer_controller or config.controller),
                  "executor": type(executor).__name__, "max_workers": getattr(executor, "max_workers", 1)},
              "tasks": {n: t.info | {"modality": t.modality, "n_classes": t.n_classes,
                                     "rows": {k: int(len(v)) for k, v in t.split.items()}} for n, t in tasks.items()},
              "pretrain": pretrain, "per_task": per_task, "summary": summarise(per_task),
              "seconds": time.perf_counter() - began, **(extra or {})}
    atomic_write_text(out, json.dumps(result, indent=1))
    atomic_write_text(out.with_name(out.stem + "_trials.jsonl"),
                      "".join(json.dumps(r, default=str) + "\n" for r in trial_log))
    plot_curves({n: {m: e["runs"][m]["test_top10"] for m in METHODS} for n, e in per_task.items()},
                out.with_name(out.stem + "_test_top10.png"), title=f"test accuracy-top10 ({space.name})")
    plot_curves({n: {m: e["runs"][m]["valid_top10"] for m in METHODS} for n, e in per_task.items()},
                out.with_name(out.stem + "_valid_top10.png"), title=f"validation accuracy-top10 ({space.name})")
    say(f"wrote {out}")
    return result


def _speedup_summary(ups: Sequence[dict]) -> dict[str, Any]:
    reached = [u["speedup"] for u in ups if u["speedup"] is not None]
    bounded = [u["speedup"] if u["speedup"] is not None else u["speedup_upper_bound"] for u in ups]
    return {"tasks_reached": len(reached), "tasks": len(ups),
            "median_speedup_reached": statistics.median(reached) if reached else None,
            "median_speedup_bounded": statistics.median(bounded) if bounded else None,
            "tasks_over_10x": sum(1 for u in reached if u > 10),
            "tasks_over_1x": sum(1 for u in reached if u > 1)}


def summarise(per_task: Mapping[str, dict]) -> dict[str, Any]:
    """Medians over tasks: speed-ups (reached ones, and with unreached counted at their bound) and top-10s.

    With another reward than accuracy, ``reward`` holds the same speed-up
    summary computed on the reward-top10 curves.
    """
    out: dict[str, Any] = {}
    for m in ("naml", "tnaml"):
        out[m] = _speedup_summary([e["speedup"][m] for e in per_task.values()])
    if per_task and all("speedup_reward" in e for e in per_task.values()):
        out["reward"] = {m: _speedup_summary([e["speedup_reward"][m] for e in per_task.values()])
                         for m in ("naml", "tnaml")}
    for m in METHODS:
        vals = [e["at_budget"][m] for e in per_task.values()]
        out.setdefault("mean_at_budget", {})[m] = {
            "valid_top10": statistics.fmean(v["valid_top10"] for v in vals) if vals else None,
            "test_top10": statistics.fmean(v["test_top10"] for v in vals) if vals else None}
    return out
