"""The T-NAML child model: a two-tower (wide and deep) network trained with proximal Adagrad.

* **Deep tower**: an embedding module -> ``hidden_layers`` fully connected
  layers of ``layer_size`` units (activation relu or swish, normalisation
  none / batch / layer, dropout) -> class logits, L2-regularised with
  weight ``deep_reg``. Embedding modules (inputs cached in the
  :class:`~autodl_solver.naml.tasks.Task`): ``fasttext`` and ``hashed`` are
  mean bags of word vectors (the table is trained when ``fine_tune``, frozen
  otherwise; ``hashed`` starts random); every other module (``minilm``,
  ``efficientnet_lite0``, ``pixels``, and the tabular, speech and video
  modules of :data:`~autodl_solver.naml.space.EMBEDDINGS`) is a cached
  matrix of frozen features, and ``fine_tune`` adds a trainable residual
  linear adapter (initialised at zero) on top of it.
* **Wide tower**: a linear map from the bag of tokens (text), of
  (pixel, intensity) tokens (images) or of (feature, quantile bin) tokens
  (tabular, speech statistics, video frames) to the logits, L1-regularised with
  weight ``wide_reg`` through the proximal step, so small weights become
  exactly zero.
* ``deep_reg`` / ``wide_reg`` = ``"disable"`` removes that tower (both
  removed: a bias-only model).

Training: ``train_samples / 100`` steps of batch 100 (Table 1), each tower
with its own proximal Adagrad (:class:`ProximalAdagrad`, TensorFlow's
``ProximalAdagradOptimizer`` update, written here in torch). A run whose loss
becomes non-finite stops there and is evaluated as it is (a diverging
learning rate is a legitimate, bad, choice). The paper's reward is the
validation accuracy; the test accuracy is recorded for the metrics.

Cost: ``seconds`` is the child's own wall time (building, training,
evaluating) on cached inputs; ``feature_seconds`` (:func:`feature_seconds`)
is the share of its embedding module's recorded extraction time that its
rows needed, which the cost-aware reward (:mod:`autodl_solver.naml.reward`)
adds to it.
"""
from __future__ import annotations

import time
from typing import Any, Mapping, Optional

import numpy as np

from ..errors import AutoDLInputError
from .space import DISABLE
from .tasks import Task, feature_seconds_per_row

#: Examples per step (Table 1 / the paper: "batch size 100").
BATCH_SIZE = 100
#: Adagrad's initial accumulator (TensorFlow's default 0.1).
INITIAL_ACCUMULATOR = 0.1
#: Dimension of the random ``hashed`` embedding table.
HASHED_DIM = 32


def _torch():
    import torch

    return torch


class ProximalAdagrad:
    """Adagrad with a proximal L1/L2 step (TensorFlow's ``ProximalAdagradOptimizer``).

    For each parameter ``w`` with gradient ``g``: ``acc += g**2``,
    ``lr_t = lr / sqrt(acc)``, ``v = w - lr_t * g``, then
    ``w = sign(v) * max(|v| - lr_t * l1, 0) / (1 + lr_t * l2)``: the L1 term
    sets small weights exactly to zero, which a plain subgradient never does.

    Parameters
    ----------
    params : iterable of torch.Tensor
        Parameters to update.
    lr : float
        Learning rate.
    l1, l2 : float
        Proximal regularisation strengths.
    """

    def __init__(self, params, lr: float, l1: float = 0.0, l2: float = 0.0,
                 initial_accumulator: float = INITIAL_ACCUMULATOR) -> None:
        torch = _torch()
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.l1, self.l2 = float(lr), float(l1), float(l2)
        self.acc = [torch.full_like(p, float(initial_accumulator)) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One proximal Adagrad update of every parameter that has a gradient."""
        torch = _torch()
        with torch.no_grad():
            for p, acc in zip(self.params, self.acc):
                if p.grad is None:
                    continue
                g = p.grad
                acc.add_(g * g)
                lr_t = self.lr / acc.sqrt()
                v = p - lr_t * g
                if self.l1 > 0:
                    v = v.sign() * (v.abs() - lr_t * self.l1).clamp_min(0.0)
                if self.l2 > 0:
                    v = v / (1.0 + lr_t * self.l2)
                p.copy_(v)


def _build(task: Task, config: Mapping[str, Any], seed: int):
    """(deep tower or None, wide tower or None, bias, input function) for ``config`` on ``task``."""
    torch = _torch()
    nn = torch.nn
    gen = torch.Generator().manual_seed(int(seed))
    module = config["embedding"]
    n_classes = task.n_classes
    deep = wide = None
    if config["deep_reg"] != DISABLE:
        if module in task.dense:
            in_dim = task.dense[module].shape[1]
            embed: Any = _DenseInput(in_dim, bool(config["fine_tune"]))
        elif module == "fasttext" and task.word_vectors is not None:
            embed = _BagInput(torch.from_numpy(task.word_vectors), bool(config["fine_tune"]), "tokens")
            in_dim = task.word_vectors.shape[1]
        elif module == "hashed" and task.hashed is not None:
            from .tasks import HASH_BUCKETS

            table = torch.randn(HASH_BUCKETS, HASHED_DIM, generator=gen) / HASHED_DIM ** 0.5
            embed = _BagInput(table, bool(config["fine_tune"]), "hashed")
            in_dim = HASHED_DIM
        else:
            raise AutoDLInputError("embedding", f"task {task.name!r} ({task.modality}) has no input for module "
                                                f"{module!r}; it has {task.modules()}")
        layers: list = [embed]
        width = in_dim
        for _ in range(int(config["hidden_layers"])):
            layers.append(nn.Linear(width, int(config["layer_size"])))
            width = int(config["layer_size"])
            if config["normalization"] == "batch":
                layers.append(nn.BatchNorm1d(width))
            elif config["normalization"] == "layer":
                layers.append(nn.LayerNorm(width))
            layers.append(nn.ReLU() if config["activation"] == "relu" else nn.SiLU())  # SiLU is swish
            if float(config["dropout"]) > 0:
                layers.append(nn.Dropout(float(config["dropout"])))
        layers.append(nn.Linear(width, n_classes))
        deep = _Deep(layers)
    if config["wide_reg"] != DISABLE:
        if task.tokens is None:
            raise AutoDLInputError("wide_reg", f"task {task.name!r} has no tokens for the wide tower")
        wide = nn.EmbeddingBag(task.n_tokens, n_classes, mode="sum", padding_idx=0)
        nn.init.zeros_(wide.weight)
    bias = nn.Parameter(torch.zeros(n_classes))
    return deep, wide, bias


class _Deep:
    """The deep tower as a callable over a batch dict (an ``nn.Sequential`` whose first layer reads the batch)."""

    def __init__(self, layers: list) -> None:
        torch = _torch()
        self.net = torch.nn.Sequential(*layers[1:])
        self.embed = layers[0]

    def parameters(self):
        return list(self.embed.parameters()) + list(self.net.parameters())

    def train(self, mode: bool = True) -> None:
        self.embed.train(mode)
        self.net.train(mode)

    def __call__(self, batch: dict):
        return self.net(self.embed(batch))


def _DenseInput(in_dim: int, fine_tune: bool):
    torch = _torch()

    class DenseInput(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.adapter = torch.nn.Linear(in_dim, in_dim) if fine_tune else None
            if self.adapter is not None:
                torch.nn.init.zeros_(self.adapter.weight)
                torch.nn.init.zeros_(self.adapter.bias)

        def forward(self, batch):
            x = batch["dense"]
            return x if self.adapter is None else x + self.adapter(x)

    return DenseInput()


def _BagInput(table, fine_tune: bool, key: str):
    torch = _torch()

    class BagInput(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bag = torch.nn.EmbeddingBag.from_pretrained(table.clone().float(), freeze=not fine_tune,
                                                             mode="mean", padding_idx=0)

        def forward(self, batch):
            return self.bag(batch[key])

    return BagInput()


def _batch(task: Task, rows: np.ndarray, module: str) -> dict:
    torch = _torch()
    out = {}
    if module in task.dense:
        out["dense"] = torch.from_numpy(task.dense[module][rows])
    if task.tokens is not None:
        out["tokens"] = torch.from_numpy(task.tokens[rows])
    if module == "hashed" and task.hashed is not None:
        out["hashed"] = torch.from_numpy(task.hashed[rows])
    return out


def feature_seconds(task: Task, config: Mapping[str, Any]) -> Optional[float]:
    """Seconds of feature extraction a child of ``config`` needed on ``task``; ``None`` when not recorded.

    The deep tower reads its embedding module's inputs for the training rows
    it draws (``min(train_samples, train rows)``), the validation rows and
    the test rows, so it is charged the module's recorded seconds per row
    (:func:`~autodl_solver.naml.tasks.feature_seconds_per_row`) times those
    rows: what a learner on that module would spend embedding the rows it
    trains, validates and predicts on. Without a deep tower (``deep_reg`` is
    ``"disable"``) only the shared bag of tokens is read: 0.
    """
    if config["deep_reg"] == DISABLE:
        return 0.0
    per_row = feature_seconds_per_row(task, str(config["embedding"]))
    if per_row is None:
        return None
    return per_row * rows_read(task, config)


def rows_read(task: Task, config: Mapping[str, Any]) -> int:
    """Distinct rows a child of ``config`` reads: the training rows it draws, the validation and test rows."""
    train = min(int(config["train_samples"]), len(task.split["train"]))
    return train + len(task.split.get("valid", ())) + len(task.split.get("test", ()))


def train_child(task: Task, config: Mapping[str, Any], seed: int = 0, threads: Optional[int] = 1) -> dict[str, Any]:
    """Train one child on ``task`` and measure it.

    Parameters
    ----------
    task : Task
        The task (train rows are trained on, valid rows give the reward).
    config : mapping
        A configuration of the search space (decision name -> choice).
    seed : int
        Seeds initialisation and batch order.
    threads : int, optional
        torch threads for this child (``None`` leaves the setting alone).

    Returns
    -------
    dict
        ``valid_accuracy`` (the paper's reward), ``test_accuracy``,
        ``steps``, ``diverged`` (bool), ``seconds``, ``rows``
        (:func:`rows_read`), ``feature_seconds``
        (:func:`feature_seconds`, ``None`` when the task has no recorded
        feature costs), ``wide_zeros`` (share of exactly zero wide weights,
        -1 without a wide tower).
    """
    torch = _torch()
    if threads is not None:
        torch.set_num_threads(int(threads))
    began = time.perf_counter()
    torch.manual_seed(int(seed))
    rng = np.random.default_rng(int(seed))
    deep, wide, bias = _build(task, config, seed)
    optimizers = [ProximalAdagrad([bias], lr=float(config["wide_lr"]))]
    if deep is not None:
        l2 = float(config["deep_reg"])
        weights = [p for p in deep.parameters() if p.ndim >= 2]  # L2 on weight matrices and tables, not biases
        others = [p for p in deep.parameters() if p.ndim < 2]
        optimizers += [ProximalAdagrad(weights, lr=float(config["deep_lr"]), l2=l2),
                       ProximalAdagrad(others, lr=float(config["deep_lr"]))]
    if wide is not None:
        optimizers.append(ProximalAdagrad(wide.parameters(), lr=float(config["wide_lr"]),
                                          l1=float(config["wide_reg"])))
    module = config["embedding"]
    train_rows = task.split["train"]
    steps = max(1, int(config["train_samples"]) // BATCH_SIZE)

    def logits(batch: dict):
        out = bias.expand(len(next(iter(batch.values()))), -1)
        if deep is not None:
            out = out + deep(batch)
        if wide is not None:
            out = out + wide(batch["tokens"])
        return out

    diverged = False
    order = rng.permutation(train_rows)
    pos = 0
    if deep is not None:
        deep.train(True)
    for _ in range(steps):
        if pos + BATCH_SIZE > len(order):
            order, pos = rng.permutation(train_rows), 0
        rows = order[pos:pos + BATCH_SIZE]
        pos += BATCH_SIZE
        if len(rows) < 2:  # batch norm needs two rows
            rows = order[:2]
        batch = _batch(task, rows, module)
        loss = torch.nn.functional.cross_entropy(logits(batch), torch.from_numpy(task.y[rows]))
        if not torch.isfinite(loss):
            diverged = True
            break
        for opt in optimizers:
            opt.zero_grad()
        loss.backward()
        for opt in optimizers:
            opt.step()
    if deep is not None:
        deep.train(False)

    def accuracy(part: str) -> float:
        rows = task.split[part]
        if len(rows) == 0:
            return float("nan")
        with torch.no_grad():
            out = torch.nan_to_num(logits(_batch(task, rows, module)), nan=0.0, posinf=0.0, neginf=0.0)
        return float((out.argmax(1).numpy() == task.y[rows]).mean())

    zeros = -1.0 if wide is None else float((wide.weight == 0).float().mean())
    return {"valid_accuracy": accuracy("valid"), "test_accuracy": accuracy("test"), "steps": steps,
            "diverged": diverged, "seconds": time.perf_counter() - began,
            "rows": rows_read(task, config), "feature_seconds": feature_seconds(task, config), "wide_zeros": zeros}
