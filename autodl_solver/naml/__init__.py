"""Transfer Neural AutoML (T-NAML): a multitask REINFORCE controller that transfers to new tasks.

Public API (imported lazily, so ``import autodl_solver.naml`` does not load torch):

* search space: :func:`load_space`, :class:`SearchSpace`, :class:`Decision`;
* tasks: :class:`Task`, :func:`text_task`, :func:`image_task`, :func:`tabular_task`,
  :func:`speech_task`, :func:`video_task`, :data:`TASK_BUILDERS` / :func:`task_builder` (by domain),
  :func:`synthetic_task`;
* child model: :func:`train_child`, :class:`ProximalAdagrad`;
* controller: :class:`Controller`, :class:`ControllerConfig`, :class:`Reinforce`,
  :class:`TaskNormalizer`, :func:`save_controller`, :func:`load_controller`;
* searchers: :class:`RandomSearch`, :class:`SingleTaskNAML`, :class:`MultitaskNAML`,
  :class:`Transfer`, :func:`make_searcher`, :func:`run_search`, :func:`run_trial`;
* metrics and experiment: :func:`top_n_curves`, :func:`trials_to_reach`, :func:`speedup`,
  :class:`ExperimentConfig`, :func:`run_experiment`;
* rewards: :class:`Reward`, :func:`make_reward` (accuracy or cost-aware);
* solver prior: :func:`export_prior`, :func:`read_prior`, :func:`solver_settings`,
  :func:`build_prior_portfolio`, :func:`scheduling_prior`, :class:`TransferPrior`.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "space": ("SearchSpace", "Decision", "load_space", "space_from_dict", "default_space_path", "EMBEDDINGS",
              "MODALITIES"),
    "tasks": ("Task", "text_task", "image_task", "tabular_task", "speech_task", "video_task", "synthetic_task",
              "text_task_from_docs", "image_task_from_arrays", "tabular_task_from_table", "speech_task_from_clips",
              "video_task_from_clips", "TASK_BUILDERS", "task_builder"),
    "child": ("train_child", "ProximalAdagrad"),
    "controller": ("Controller", "ControllerConfig", "Reinforce", "TaskNormalizer", "save_controller",
                   "load_controller"),
    "searchers": ("Searcher", "Suggestion", "RandomSearch", "SingleTaskNAML", "MultitaskNAML", "Transfer",
                  "make_searcher"),
    "trials": ("run_search", "run_trial"),
    "metrics": ("top_n_curves", "trials_to_reach", "speedup", "plot_curves"),
    "experiment": ("ExperimentConfig", "run_experiment"),
    "reward": ("Reward", "make_reward", "REWARDS"),
    "prior": ("export_prior", "read_prior", "solver_settings", "build_prior_portfolio", "scheduling_prior",
              "TransferPrior", "learner_for", "preferred_learner"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
