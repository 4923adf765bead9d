"""Search strategies behind one interface: ``next_task()``, ``suggest(task)``, ``observe(suggestion, reward)``.

* :class:`RandomSearch` — choices drawn uniformly (the baseline);
* :class:`SingleTaskNAML` — a fresh controller learning one task (NAML);
* :class:`MultitaskNAML` — one controller for several tasks, the task of
  each trial drawn uniformly (the paper's multitask pre-training);
* :class:`Transfer` — a pre-trained multitask controller with a new,
  randomly initialised task embedding for the new task, all weights then
  trained jointly (T-NAML).

A :class:`Suggestion` carries the choice indices, so the searcher can score
them when the child's reward comes back, in whatever order children finish.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import AutoDLInputError
from .space import SearchSpace, fingerprint_mismatch


@dataclass(frozen=True)
class Suggestion:
    """A configuration to train.

    Attributes
    ----------
    trial : int
        Running number of the suggestion (from 0).
    task : str
        The task to train it on.
    actions : tuple of int
        Choice indices, one per decision.
    config : dict
        Decision name -> choice.
    """

    trial: int
    task: str
    actions: tuple
    config: dict


class Searcher:
    """Base class: the suggest/observe protocol and the task list.

    Parameters
    ----------
    space : SearchSpace
        The decisions.
    tasks : sequence of (str, str)
        ``(task name, modality)`` pairs this searcher serves.
    seed : int
        Seeds the searcher's own random choices.
    """

    kind = "searcher"

    def __init__(self, space: SearchSpace, tasks: Sequence[tuple[str, str]], seed: int = 0) -> None:
        if not tasks:
            raise AutoDLInputError("tasks", "a searcher needs at least one task")
        self.space = space
        self.tasks = [(str(n), str(m)) for n, m in tasks]
        self.modality = dict(self.tasks)
        self.rng = np.random.default_rng(seed)
        self._count = itertools.count()
        self.history: list[dict[str, Any]] = []

    def next_task(self) -> str:
        """The task of the next trial (uniform over the tasks)."""
        return self.tasks[int(self.rng.integers(len(self.tasks)))][0]

    def _check(self, task: str) -> None:
        if task not in self.modality:
            raise AutoDLInputError("task", f"{task!r} is not one of this searcher's tasks {list(self.modality)}")

    def _actions(self, task: str) -> list[int]:
        raise NotImplementedError

    def suggest(self, task: Optional[str] = None) -> Suggestion:
        """A configuration for ``task`` (default :meth:`next_task`)."""
        task = task if task is not None else self.next_task()
        self._check(task)
        actions = self._actions(task)
        return Suggestion(next(self._count), task, tuple(actions), self.space.decode(actions))

    def observe(self, suggestion: Suggestion, reward: float) -> dict[str, float]:
        """Learn from a finished child's reward (:mod:`~autodl_solver.naml.reward`); returns update statistics."""
        self._check(suggestion.task)
        stats = self._learn(suggestion, float(reward))
        self.history.append({"trial": suggestion.trial, "task": suggestion.task, "reward": float(reward), **stats})
        return stats

    def _learn(self, suggestion: Suggestion, reward: float) -> dict[str, float]:
        return {}


class RandomSearch(Searcher):
    """Uniform sampling over the choices each task's modality allows."""

    kind = "random"

    def _actions(self, task: str) -> list[int]:
        return self.space.sample_uniform(self.rng, self.modality[task])


class _ControllerSearcher(Searcher):
    """A searcher driven by a :class:`~autodl_solver.naml.controller.Controller` trained with REINFORCE."""

    def __init__(self, space: SearchSpace, tasks: Sequence[tuple[str, str]], seed: int = 0, config=None,
                 controller=None, normalizer=None) -> None:
        from .controller import Controller, Reinforce

        super().__init__(space, tasks, seed)
        self.controller = controller if controller is not None else Controller(space, self.tasks, config, seed=seed)
        self.trainer = Reinforce(self.controller, normalizer)

    def _actions(self, task: str) -> list[int]:
        return self.controller.sample(task, self.rng)

    def _learn(self, suggestion: Suggestion, reward: float) -> dict[str, float]:
        return self.trainer.update(suggestion.task, suggestion.actions, reward)

    def most_likely(self, task: str) -> dict[str, Any]:
        """The controller's most likely configuration for ``task``."""
        return self.space.decode(self.controller.most_likely(task))

    def save(self, folder: str | Path, extra: Optional[dict] = None) -> Path:
        """Save the controller, its task embeddings and reward statistics (see :func:`save_controller`)."""
        from .controller import save_controller

        return save_controller(folder, self.controller, self.trainer.normalizer,
                               {"searcher": self.kind, "updates": self.trainer.updates, **(extra or {})})


class SingleTaskNAML(_ControllerSearcher):
    """Neural AutoML on one task: a fresh controller (NAML in the paper's tables)."""

    kind = "naml"

    def __init__(self, space: SearchSpace, task: tuple[str, str], seed: int = 0, config=None) -> None:
        super().__init__(space, [task], seed, config)


class MultitaskNAML(_ControllerSearcher):
    """One controller for several tasks; each trial's task drawn uniformly."""

    kind = "multitask"


class Transfer(_ControllerSearcher):
    """T-NAML: a pre-trained multitask controller plus a new task embedding for ``task``.

    Parameters
    ----------
    space : SearchSpace
        Must be the space the controller was trained on.
    task : (str, str)
        The new task's name and modality.
    controller : Controller or path
        The pre-trained controller, or the folder it was saved in.
    seed : int
        Seeds sampling and the new embedding.
    config : ControllerConfig, optional
        Training settings for the transfer phase (learning rate …).
    """

    kind = "transfer"

    def __init__(self, space: SearchSpace, task: tuple[str, str], controller: Any, seed: int = 0,
                 config=None) -> None:
        import copy

        import torch

        from .controller import TaskNormalizer, load_controller

        if isinstance(controller, (str, Path)):
            controller, _, _ = load_controller(controller, space, config)
        else:
            if controller.space.fingerprint != space.fingerprint:
                raise AutoDLInputError("controller", fingerprint_mismatch(controller.space.name,
                                                                          controller.space.fingerprint, space,
                                                                          "the pre-trained controller"))
            controller = copy.deepcopy(controller)  # the pre-trained one stays as it is for the other tasks
            if config is not None:
                controller.config = config
        name, modality = task
        if name in controller.task_modality:
            raise AutoDLInputError("task", f"{name!r} was one of the pre-training tasks; transfer needs a new task")
        controller._gen = torch.Generator().manual_seed(int(seed) + 7919)
        controller.add_task(name, modality)
        cfg = controller.config
        super().__init__(space, [task], seed, controller=controller,
                         normalizer=TaskNormalizer(cfg.alpha, cfg.min_std, cfg.advantage_clip))


def make_searcher(kind: str, space: SearchSpace, tasks: Sequence[tuple[str, str]], seed: int = 0, config=None,
                  controller: Any = None) -> Searcher:
    """Build a searcher by name: ``random``, ``naml``, ``multitask`` or ``transfer`` (needs ``controller``)."""
    if kind == "random":
        return RandomSearch(space, tasks, seed)
    if kind in ("naml", "transfer") and len(tasks) != 1:
        raise AutoDLInputError("tasks", f"{kind} searches one task, got {len(tasks)}")
    if kind == "naml":
        return SingleTaskNAML(space, tasks[0], seed, config)
    if kind == "multitask":
        return MultitaskNAML(space, tasks, seed, config)
    if kind == "transfer":
        if controller is None:
            raise AutoDLInputError("controller", "transfer needs a pre-trained multitask controller")
        return Transfer(space, tasks[0], controller, seed, config)
    raise AutoDLInputError("searcher", f"got {kind!r}, expected one of random, naml, multitask, transfer")
