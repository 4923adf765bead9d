"""The multitask T-NAML controller and its REINFORCE update.

:class:`Controller` (the paper's Figure 1): a 2-layer LSTM of 50 units. At
every step its input is the embedding (size 25) of the previous action —
a learned start vector at the first step — concatenated with the task's
embedding (size 25). A skip connection across the LSTM adds a linear map of
that input to the LSTM output, so action marginals are easy to learn; one
softmax head per decision reads the sum. Choices a task's modality may not
take (:meth:`~autodl_solver.naml.space.SearchSpace.masks`) get ``-inf``
logits. All weights, task embeddings included, are initialised uniformly in
``[-init_range, init_range]``, so the first policy is about uniform.

:class:`Reinforce` trains it: after every child (batch size 1),
``loss = -A * log pi(actions | task) - entropy_weight * H(pi(. | task))``
with the normalised advantage ``A = (R - b_task) / sigma_task`` from
:class:`TaskNormalizer` (per-task exponential moving averages, α = 0.01,
bias-corrected), Adam at learning rate 1e-4 by default, gradient norm
clipped. The entropy term is a loss term, not a reward bonus, because a
bonus added to R would be normalised away.

Children finish in parallel, so an action sequence may be scored after other
updates: :meth:`Controller.log_prob` recomputes its log-probability under the
current weights (the usual asynchronous REINFORCE approximation).

:func:`save_controller` / :func:`load_controller` write ``controller.pt``
(tensors only, ``weights_only``-loadable) and ``controller.json`` (space
fingerprint, task names, settings, normaliser state); loading into a space
with another fingerprint is refused.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import AutoDLInputError
from ..utils.atomic import atomic_open, atomic_write_text
from .space import SearchSpace, fingerprint_mismatch


@dataclass
class ControllerConfig:
    """Controller and REINFORCE settings (the paper's values are the defaults).

    Attributes
    ----------
    hidden : int
        LSTM units per layer.
    layers : int
        LSTM layers.
    embed_dim : int
        Size of the action and task embeddings.
    init_range : float
        Uniform initialisation range of every weight.
    lr : float
        Adam learning rate of the REINFORCE update.
    alpha : float
        Decay of the per-task reward moving averages.
    entropy_weight : float
        Weight of the entropy regulariser in the loss.
    grad_clip : float
        Maximum gradient norm of one update.
    advantage_clip : float
        Normalised advantages are clipped to ``[-advantage_clip, advantage_clip]``
        (the first trials of a task have a tiny sigma).
    min_std : float
        Floor added to sigma (rewards are accuracies in [0, 1]).
    """

    hidden: int = 50
    layers: int = 2
    embed_dim: int = 25
    init_range: float = 0.1
    lr: float = 1e-4
    alpha: float = 0.01
    entropy_weight: float = 1e-3
    grad_clip: float = 5.0
    advantage_clip: float = 5.0
    min_std: float = 0.01


class Controller(nn.Module):
    """The recurrent multitask policy over a :class:`SearchSpace` (see the module docstring).

    Parameters
    ----------
    space : SearchSpace
        The decisions to take.
    tasks : sequence of (str, str)
        ``(task name, modality)`` of every task the controller knows.
    config : ControllerConfig, optional
        Sizes and initialisation.
    seed : int
        Seeds the initial weights.
    """

    def __init__(self, space: SearchSpace, tasks: Sequence[tuple[str, str]], config: Optional[ControllerConfig] = None,
                 seed: int = 0) -> None:
        super().__init__()
        self.space = space
        self.config = config or ControllerConfig()
        cfg = self.config
        gen = torch.Generator().manual_seed(int(seed))
        self._gen = gen
        self.task_names: list[str] = []
        self.task_modality: dict[str, str] = {}
        self.task_embeddings = nn.ParameterList()
        for name, modality in tasks:
            self.add_task(name, modality)
        self.start = nn.Parameter(self._uniform((cfg.embed_dim,)))
        self.action_embeddings = nn.ModuleList(nn.Embedding(len(d), cfg.embed_dim) for d in space.decisions)
        in_dim = 2 * cfg.embed_dim
        self.lstm = nn.LSTM(in_dim, cfg.hidden, num_layers=cfg.layers)
        self.skip = nn.Linear(in_dim, cfg.hidden)
        self.heads = nn.ModuleList(nn.Linear(cfg.hidden, len(d)) for d in space.decisions)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if not name.startswith(("task_embeddings", "start")):
                    p.copy_(self._uniform(tuple(p.shape)))

    def _uniform(self, shape: tuple) -> torch.Tensor:
        r = self.config.init_range
        return (torch.rand(shape, generator=self._gen) * 2 - 1) * r

    # ----------------------------------------------------------- tasks
    def add_task(self, name: str, modality: str) -> int:
        """Add a task with a new randomly initialised embedding (transfer); returns its index."""
        if name in self.task_modality:
            raise AutoDLInputError("task", f"the controller already has a task named {name!r}")
        self.space.masks(modality)  # validates the modality
        self.task_names.append(name)
        self.task_modality[name] = modality
        self.task_embeddings.append(nn.Parameter(self._uniform((self.config.embed_dim,))))
        return len(self.task_names) - 1

    def task_index(self, name: str) -> int:
        """Index of task ``name`` (an error naming the known tasks when absent)."""
        if name not in self.task_modality:
            raise AutoDLInputError("task", f"unknown task {name!r}; the controller knows {self.task_names}")
        return self.task_names.index(name)

    # ------------------------------------------------------------ policy
    def _run(self, task: str, actions: Optional[Sequence[int]], rng: Optional[np.random.Generator],
             greedy: bool = False):
        """Walk the decisions; sample (or replay ``actions``); return (actions, log_prob, entropy, probs)."""
        emb = self.task_embeddings[self.task_index(task)]
        masks = self.space.masks(self.task_modality[task])
        prev = self.start
        state = None
        taken: list[int] = []
        log_prob = torch.zeros(())
        entropy = torch.zeros(())
        probs = []
        for i, head in enumerate(self.heads):
            x = torch.cat([prev, emb]).view(1, 1, -1)
            out, state = self.lstm(x, state)
            logits = head(out.view(-1) + self.skip(x.view(-1)))
            logits = logits.masked_fill(torch.from_numpy(~masks[i]), float("-inf"))
            logp = torch.log_softmax(logits, -1)
            p = logp.exp()
            probs.append(p.detach().numpy())
            if actions is not None:
                a = int(actions[i])
                if not masks[i][a]:
                    raise AutoDLInputError("actions", f"choice {a} of {self.space.decisions[i].name!r} is not "
                                                      f"allowed for task {task!r}")
            elif greedy:
                a = int(torch.argmax(p))
            else:
                pn = p.detach().double().numpy()
                a = int(rng.choice(len(pn), p=pn / pn.sum()))
            taken.append(a)
            log_prob = log_prob + logp[a]
            entropy = entropy - (p * logp.masked_fill(~torch.from_numpy(masks[i]), 0.0)).sum()
            prev = self.action_embeddings[i].weight[a]
        return taken, log_prob, entropy, probs

    def sample(self, task: str, rng: np.random.Generator) -> list[int]:
        """Choice indices sampled from the policy of ``task``."""
        with torch.no_grad():
            return self._run(task, None, rng)[0]

    def most_likely(self, task: str) -> list[int]:
        """The greedy (step by step most probable) choice indices for ``task``."""
        with torch.no_grad():
            return self._run(task, None, None, greedy=True)[0]

    def log_prob(self, task: str, actions: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-probability, entropy) of ``actions`` under the current policy (differentiable)."""
        _, lp, ent, _ = self._run(task, actions, None)
        return lp, ent

    def probabilities(self, task: str, actions: Sequence[int]) -> list[np.ndarray]:
        """Per decision, the choice probabilities along the path ``actions``."""
        with torch.no_grad():
            return self._run(task, actions, None)[3]


@dataclass
class TaskNormalizer:
    """Per-task EMA baseline and standard deviation of rewards, bias-corrected.

    ``b_t = (1 - α) b_{t-1} + α R`` and ``v_t = (1 - α) v_{t-1} + α (R - b̂_t)²``
    (the paper's recursions) from zero, then divided by ``1 - (1 - α)^t`` (as
    Adam's moments), so the first estimates are means of the rewards seen,
    not rewards shrunk towards 0. :meth:`advantage` uses the statistics
    *before* the new reward, then :meth:`update` adds it.
    """

    alpha: float = 0.01
    min_std: float = 0.01
    clip: float = 5.0
    mean: dict = field(default_factory=dict)
    var: dict = field(default_factory=dict)
    count: dict = field(default_factory=dict)

    def baseline(self, task: str) -> Optional[float]:
        """Bias-corrected baseline of ``task`` (``None`` before its first reward)."""
        n = self.count.get(task, 0)
        if n == 0:
            return None
        return self.mean[task] / (1 - (1 - self.alpha) ** n)

    def std(self, task: str) -> Optional[float]:
        """Bias-corrected standard deviation of ``task`` (``None`` before its first reward)."""
        n = self.count.get(task, 0)
        if n == 0:
            return None
        return math.sqrt(max(self.var[task] / (1 - (1 - self.alpha) ** n), 0.0))

    def advantage(self, task: str, reward: float) -> float:
        """Normalised, clipped advantage of ``reward`` (0 for a task's first reward: no baseline yet)."""
        b = self.baseline(task)
        if b is None:
            return 0.0
        a = (reward - b) / (self.std(task) + self.min_std)
        return float(np.clip(a, -self.clip, self.clip))

    def update(self, task: str, reward: float) -> None:
        """Fold ``reward`` into the task's moving averages."""
        a = self.alpha
        self.count[task] = self.count.get(task, 0) + 1
        self.mean[task] = (1 - a) * self.mean.get(task, 0.0) + a * reward
        b = self.baseline(task)
        self.var[task] = (1 - a) * self.var.get(task, 0.0) + a * (reward - b) ** 2


class Reinforce:
    """REINFORCE with per-task normalised advantages, one update per child.

    Parameters
    ----------
    controller : Controller
        The policy (its config gives lr, α, entropy weight, clipping).
    normalizer : TaskNormalizer, optional
        Reward statistics (a fresh one by default).
    """

    def __init__(self, controller: Controller, normalizer: Optional[TaskNormalizer] = None) -> None:
        cfg = controller.config
        self.controller = controller
        self.normalizer = normalizer or TaskNormalizer(cfg.alpha, cfg.min_std, cfg.advantage_clip)
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=cfg.lr)
        self.updates = 0

    def reset_optimizer(self) -> None:
        """A new Adam over the current parameters (after :meth:`Controller.add_task`)."""
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=self.controller.config.lr)

    def update(self, task: str, actions: Sequence[int], reward: float) -> dict[str, float]:
        """One policy-gradient step on a finished child; returns the advantage, loss and entropy."""
        if not math.isfinite(reward):
            raise AutoDLInputError("reward", f"got {reward!r}, expected a finite number")
        advantage = self.normalizer.advantage(task, reward)
        self.normalizer.update(task, reward)
        log_prob, entropy = self.controller.log_prob(task, actions)
        loss = -advantage * log_prob - self.controller.config.entropy_weight * entropy
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.controller.parameters(), self.controller.config.grad_clip)
        self.optimizer.step()
        self.updates += 1
        return {"advantage": advantage, "loss": float(loss.detach()), "entropy": float(entropy.detach())}


# -------------------------------------------------------------- save / load
def save_controller(folder: str | os.PathLike, controller: Controller,
                    normalizer: Optional[TaskNormalizer] = None, extra: Optional[dict] = None) -> Path:
    """Write ``controller.pt`` and ``controller.json`` into ``folder`` (each atomically); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_open(folder / "controller.pt", "wb") as handle:
        torch.save({k: v.detach().clone() for k, v in controller.state_dict().items()}, handle)
    meta = {"format": "autodl_solver.naml.controller/1", "space_name": controller.space.name,
            "space_fingerprint": controller.space.fingerprint, "space": controller.space.to_dict(),
            "tasks": [[n, controller.task_modality[n]] for n in controller.task_names],
            "config": asdict(controller.config),
            "normalizer": None if normalizer is None else {"mean": normalizer.mean, "var": normalizer.var,
                                                           "count": normalizer.count},
            **(extra or {})}
    atomic_write_text(folder / "controller.json", json.dumps(meta, indent=1))
    return folder


def load_controller(folder: str | os.PathLike, space: SearchSpace,
                    config: Optional[ControllerConfig] = None) -> tuple[Controller, TaskNormalizer, dict]:
    """Read a controller saved by :func:`save_controller` for ``space``.

    Parameters
    ----------
    folder : path
        Holds ``controller.pt`` and ``controller.json``.
    space : SearchSpace
        Must have the saved fingerprint.
    config : ControllerConfig, optional
        Overrides the saved settings' training fields (sizes must match).

    Raises
    ------
    AutoDLInputError
        Missing or unreadable files, or a different space fingerprint.
    """
    folder = Path(folder)
    meta_path, weights_path = folder / "controller.json", folder / "controller.pt"
    for p in (meta_path, weights_path):
        if not p.is_file():
            raise AutoDLInputError(p, "controller file not found (expected controller.json and controller.pt)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        saved_fp, tasks, saved_cfg = meta["space_fingerprint"], meta["tasks"], meta["config"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AutoDLInputError(meta_path, f"not a controller description ({exc.__class__.__name__}: {exc})") from None
    if saved_fp != space.fingerprint:
        raise AutoDLInputError(meta_path, fingerprint_mismatch(meta.get("space_name"), saved_fp, space,
                                                               "the controller"))
    cfg = config or ControllerConfig(**saved_cfg)
    for key in ("hidden", "layers", "embed_dim"):
        if getattr(cfg, key) != saved_cfg.get(key):
            raise AutoDLInputError("config", f"{key}={getattr(cfg, key)} differs from the saved {saved_cfg.get(key)}")
    controller = Controller(space, [tuple(t) for t in tasks], cfg)
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        controller.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file: say which
        raise AutoDLInputError(weights_path, f"cannot load the controller weights ({exc.__class__.__name__}: "
                                             f"{exc})") from None
    normalizer = TaskNormalizer(cfg.alpha, cfg.min_std, cfg.advantage_clip)
    if meta.get("normalizer"):
        n = meta["normalizer"]
        normalizer.mean, normalizer.var = dict(n["mean"]), dict(n["var"])
        normalizer.count = {k: int(v) for k, v in n["count"].items()}
    return controller, normalizer, meta
