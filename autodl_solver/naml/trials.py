"""Child trials through the project's Executor, ``max_workers`` of them in flight.

:func:`run_trial` is the module-level (picklable) function an executor runs:
it loads the task from its cache file — once per worker process, then from
memory — and trains one child (:func:`~autodl_solver.naml.child.train_child`).
A child that fails records the error as a trial with reward 0 instead of
stopping the search (a configuration that crashes is a bad configuration).

:func:`run_search` drives a searcher: it keeps ``executor.max_workers``
trials in flight, and as each one finishes it is scored by the run's
:class:`~autodl_solver.naml.reward.Reward` (validation accuracy by default,
or the cost-aware reward), observed (the controller updates after every
child), logged, and replaced by a new suggestion.
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from ..errors import AutoDLInputError
from .reward import Reward, make_reward
from .searchers import Searcher, Suggestion
from .tasks import Task

#: Tasks loaded in this process, by cache path (a worker trains many children on the same tasks).
_TASKS: dict[str, Task] = {}


def load_task_cached(path: str) -> Task:
    """The task saved at ``path``, read once per process."""
    key = str(Path(path).resolve())
    if key not in _TASKS:
        _TASKS[key] = Task.load(key)
    return _TASKS[key]


def run_trial(task_path: str, config: Mapping[str, Any], seed: int = 0, threads: int = 1) -> dict[str, Any]:
    """Train one child on the task cached at ``task_path``; never raises for a bad child.

    Returns
    -------
    dict
        :func:`~autodl_solver.naml.child.train_child`'s result, or
        ``{"valid_accuracy": 0.0, "test_accuracy": 0.0, "error": ...}``.
    """
    from .child import train_child

    task = load_task_cached(task_path)
    try:
        return train_child(task, config, seed=seed, threads=threads)
    except AutoDLInputError:
        raise  # a configuration the task cannot take is a setup error, not a bad child
    except Exception as exc:  # noqa: BLE001 - a crashing child is a bad configuration, not a failed search
        return {"valid_accuracy": 0.0, "test_accuracy": 0.0, "seconds": 0.0, "diverged": True,
                "error": f"{exc.__class__.__name__}: {exc}", "traceback": traceback.format_exc(limit=3)}


def run_search(searcher: Searcher, task_paths: Mapping[str, str], n_trials: int, executor: Any,
               seed: int = 0, on_trial: Optional[Callable[[dict[str, Any]], None]] = None,
               fixed_task: Optional[str] = None, reward: Optional[Reward | str] = None) -> list[dict[str, Any]]:
    """Run ``n_trials`` children suggested by ``searcher``, observing each as it finishes.

    Parameters
    ----------
    searcher : Searcher
        Suggests configurations and learns from rewards.
    task_paths : mapping
        Task name -> cache file (:meth:`Task.save`).
    n_trials : int
        Children to train.
    executor : Executor
        From :func:`autodl_solver.utils.executors.make_executor`; its
        ``max_workers`` children run at once.
    seed : int
        Child seeds are ``seed + trial number``.
    on_trial : callable, optional
        Called with each finished trial's record (progress lines).
    fixed_task : str, optional
        Train every child on this task (default: the searcher's ``next_task``).
    reward : Reward or str, optional
        How a child is scored (:func:`~autodl_solver.naml.reward.make_reward`;
        default the validation accuracy).

    Returns
    -------
    list of dict
        One record per trial, in completion order: ``trial``, ``task``,
        ``config``, ``reward`` (what the searcher observed),
        ``valid_accuracy``, ``test_accuracy``, ``seconds``,
        ``feature_seconds``, ``finished`` (completion rank) and the update
        statistics.
    """
    from ..utils.executors import wait_any

    if n_trials < 0:
        raise AutoDLInputError("n_trials", f"got {n_trials}, expected a non-negative number")
    score = make_reward(reward)
    missing = sorted({n for n, _ in searcher.tasks} - set(task_paths))
    if missing:
        raise AutoDLInputError("tasks", f"no task cache for {missing}")
    in_flight: dict[Any, Suggestion] = {}
    records: list[dict[str, Any]] = []
    submitted = 0
    began = time.perf_counter()

    def submit() -> None:
        nonlocal submitted
        suggestion = searcher.suggest(fixed_task)
        future = executor.submit(run_trial, task_path=str(task_paths[suggestion.task]), config=suggestion.config,
                                 seed=seed + suggestion.trial)
        in_flight[future] = suggestion
        submitted += 1

    width = max(1, int(getattr(executor, "max_workers", 1)))
    while submitted < min(width, n_trials):
        submit()
    while in_flight:
        done, _ = wait_any(list(in_flight))
        for future in done:
            suggestion = in_flight.pop(future)
            result = future.result()
            value = score(suggestion.task, result)
            if value != value:  # NaN: an empty validation set
                raise AutoDLInputError(f"task {suggestion.task}", "empty validation split")
            stats = searcher.observe(suggestion, value)
            record = {"trial": suggestion.trial, "task": suggestion.task, "config": suggestion.config,
                      "reward": value, **{k: v for k, v in result.items() if k != "traceback"}, **stats,
                      "finished": len(records), "elapsed_s": time.perf_counter() - began}
            records.append(record)
            if on_trial is not None:
                on_trial(record)
            if submitted < n_trials:
                submit()
    return records
