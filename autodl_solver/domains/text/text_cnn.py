"""Kim-style word CNN for text: the seed's AutoNLP Baselines 1 and 2, and the solver's ``text_cnn``.

Seed §4.2: Baseline 1 "follows Kim (2014) and uses a convolutional neural
network [...] the text input data is preprocessed like in the previous
baseline [alphanumeric only]. The vocabulary is indexed and the integer
sequence is then padded with a maximum sequence length. The model
architecture consists of an Embedding layer with a dimension of 200, two 1D
convolutional layers, a Maxpooling layer, two 1D convolutional layers, a
Global Average pooling layer and a fully connected layer." Baseline 2 is the
same with a 300-dimensional embedding "loaded with a pretrained embedding
from FastText".

One learner, :class:`TextCNNLearner`, registered three times:

* ``autonlp_baseline1``: random embedding (dim 200), every document padded
  or cut to one fixed length, plain global average pooling (padding
  included, as Keras' ``GlobalAveragePooling1D`` on a padded batch);
* ``autonlp_baseline2``: the same with dim 300, initialised from fastText
  vectors (``vectors_path``, or a skipgram trained on the task's text);
* ``text_cnn``: the solver's variant: dim 100 task-trained vectors, padding
  masked out (each batch is padded only to its longest document, and the
  pooling averages real words only), done early on a stalled hold-out.

Text: the metadata vocabulary rebuilds each document
(:mod:`~autodl_solver.domains.text.text_vocab`), :func:`clean_alphanumeric` keeps
letters and digits (Chinese: one token per character), words are lower-cased
(as Keras' ``Tokenizer``). The word index holds the ``max_vocab`` most frequent
training words; index 0 is padding and 1 any other word. Later calls that see
more rows add their new frequent words to free slots of the index (the
embedding is sized once from the metadata vocabulary), initialised from the
same vector source (trained vectors: the fastText model of the first call,
which gives unseen words an n-gram vector).

Schedule: call ``k`` trains ``1, 1, 2, 4, ...`` epochs over the rows the
engine's window allows (capped at ``max_epochs_per_call``), stopping between
batches at its budget. ``max_epochs`` counts full-data-equivalent epochs
(examples processed / training set size); the learner is done when every row
is in and it reached ``max_epochs`` (or the training loss is ~0). With a
hold-out, the engine retires it after ``patience_calls`` rounds that did not
improve its NAUC (the learner's ``patience``).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import Learner, TrainData
from ...data.metadata import Metadata
from ..core.feature_cache import IdentityCache
from ..core.shapes import available_rows
from ..core.torch_utils import cpu_state, import_torch, seeded
from ..registration import register
from .text_embeddings import load_word_vectors, model_vectors, train_fasttext_vectors
from .text_vocab import UNK, build_table, clean_alphanumeric, documents, is_chinese

PAD, OOV = 0, 1
logger = logging.getLogger(__name__)


@dataclass
class TextCNNConfig:
    """Settings of ``text_cnn``, and the base of the two baselines' configs (``configs/text.yaml`` sections).

    ``text_cnn``'s choices, measured on O1 (7792 short reviews, 2 classes,
    one CPU core): 100-d skipgram vectors trained on the task (5 epochs,
    ~2 s; Baseline 2's 300-d costs 3x and peaked at 0.79), padding masked out (each batch
    only as long as its longest document), dropout 0.3 and Adam 1e-3 (0.5
    and 5e-4 learned slower and peaked lower). The network overfits fast:
    the test NAUC peaks after about 2 epochs (0.80) and falls afterwards, so
    ``patience_calls`` 3 on the hold-out ends it early, and ``max_epochs``
    20 is only a cap for sets without a hold-out.

    Attributes
    ----------
    max_vocab : int
        Words in the index (the seed: 20000 most frequent training words).
    max_len_percentile, max_len_cap : float, int
        Documents are cut to this percentile of the first call's training
        lengths, capped (the sequence length the batches are padded to
        unless ``masked``).
    embedding_dim : int
        Embedding size.
    init : str
        ``"random"`` or ``"fasttext"``: vectors from ``vectors_path`` when set,
        else a skipgram trained on the training documents.
    vectors_path : str, optional
        A fastText ``.bin`` or ``.vec`` (``.vec.gz``) file of ``embedding_dim`` vectors.
    vector_epochs : int
        Skipgram epochs when training vectors (about 0.35 s per epoch per 100
        dimensions on O1's 137k words, one core).
    filters, kernel_size, pool_size : int
        Width of the first two convolutions (the last two have twice as
        many), their kernel, and the max-pool size.
    dropout : float
        Dropout on the embedded words and before the linear layer.
    masked : bool
        Pad each batch to its longest document and average real words only
        (False: pad to the fixed length and average everything, as the seed).
    lr, batch_size : float, int
        Adam's learning rate and the batch size.
    max_epochs : float
        Full-data-equivalent epochs after which the learner is done.
    max_epochs_per_call : float
        Cap of the doubling epochs of one call.
    patience_calls : int
        The engine retires the learner after this many rounds without a better
        hold-out NAUC (0: the engine's own ``patience``).
    min_train_loss : float
        Done when an epoch's mean training loss falls below this (0: never).
    eval_batch_size : int
        Documents per prediction batch.
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    max_vocab: int = 20000
    max_len_percentile: float = 95.0
    max_len_cap: int = 500
    embedding_dim: int = 100
    init: str = "fasttext"
    vectors_path: Optional[str] = None
    vector_epochs: int = 5
    filters: int = 64
    kernel_size: int = 3
    pool_size: int = 3
    dropout: float = 0.3
    masked: bool = True
    lr: float = 1e-3
    batch_size: int = 32
    max_epochs: float = 20.0
    max_epochs_per_call: float = 4.0
    patience_calls: int = 3
    min_train_loss: float = 1e-3
    eval_batch_size: int = 256
    prior_cost_s: float = 5.0


def candidate_words(tokens: Sequence[str], chinese: bool) -> list[str]:
    """Every word cleaning and lower-casing can make of the vocabulary ``tokens`` (sorted, unique)."""
    words = {"unk"}  # what the out-of-vocabulary marker UNK cleans to
    for token in tokens:
        if token and token != UNK:
            words.update(clean_alphanumeric(str(token), per_character=chinese).lower().split())
    return sorted(words)


def build_text_cnn(vocab_size: int, cfg: "TextCNNConfig", output_dim: int) -> Any:
    """The seed's network: Embedding -> Conv1d x2 -> MaxPool1d -> Conv1d x2 -> global average -> Linear.

    ``(n, L)`` int64 word indices -> ``(n, output_dim)`` logits. Convolutions
    keep the length (``"same"`` padding) and are followed by ReLU. With
    ``cfg.masked`` the padding positions are zeroed after every layer and
    the average runs over real positions only, so a document's output does
    not depend on how far its batch is padded (an empty document gives the
    linear layer's bias, never NaN).
    """
    import torch
    from torch import nn

    class KimTextCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            f, k = int(cfg.filters), int(cfg.kernel_size)
            self.masked = bool(cfg.masked)
            self.embedding = nn.Embedding(vocab_size, int(cfg.embedding_dim), padding_idx=PAD)
            nn.init.normal_(self.embedding.weight, std=0.05)  # Keras' uniform(-0.05, 0.05) scale
            with torch.no_grad():
                self.embedding.weight[PAD].zero_()
            self.convs = nn.ModuleList([nn.Conv1d(int(cfg.embedding_dim), f, k, padding="same"),
                                        nn.Conv1d(f, f, k, padding="same"),
                                        nn.Conv1d(f, 2 * f, k, padding="same"),
                                        nn.Conv1d(2 * f, 2 * f, k, padding="same")])
            self.pool = nn.MaxPool1d(int(cfg.pool_size), ceil_mode=True)
            self.drop = nn.Dropout(float(cfg.dropout))
            self.fc = nn.Linear(2 * f, output_dim)

        def forward(self, ids: "torch.Tensor") -> "torch.Tensor":
            h = self.drop(self.embedding(ids)).transpose(1, 2)  # (n, dim, L)
            mask = (ids != PAD).unsqueeze(1).to(h.dtype) if self.masked else None
            for i, conv in enumerate(self.convs):
                if i == 2:
                    h = self.pool(h)
                    mask = self.pool(mask) if mask is not None else None
                h = torch.relu(conv(h))
                if mask is not None:
                    h = h * mask
            if mask is None:
                pooled = h.mean(dim=2)
            else:
                pooled = h.sum(dim=2) / mask.sum(dim=2).clamp_min(1.0)
            return self.fc(self.drop(pooled))

    return KimTextCNN()


class TextCNNLearner(Learner):
    """Kim-style word CNN (see the module docstring); registered under three names with different defaults."""

    budget_aware = True  # fit() checks the time between steps and stops within budget_s

    def __init__(self, metadata: Metadata, config: Optional[TextCNNConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(self.default_config or TextCNNConfig), seed)
        import_torch()  # paid here, off the clock
        cfg = self.config
        if cfg.init not in ("random", "fasttext"):
            from ...errors import AutoDLInputError

            raise AutoDLInputError("init", f"got {cfg.init!r}, expected 'random' or 'fasttext'")
        self.output_dim = int(metadata.output_dim)
        self.table = build_table(metadata)
        self.chinese = is_chinese(self.table)
        # the embedding is sized once: the metadata vocabulary bounds the words cleaning can produce
        if self.table.missing_vocabulary:
            self._candidates: list[str] = []
            capacity = int(cfg.max_vocab)
        else:
            self._candidates = candidate_words(self.table.tokens.tolist(), self.chinese)
            capacity = min(int(cfg.max_vocab), len(self._candidates))
        self.vocab_size = capacity + 2
        with seeded(seed):  # weights are drawn in the constructor, not timed by the protocol
            self.net = build_text_cnn(self.vocab_size, cfg, self.output_dim)
        self._file_vectors: Optional[dict[str, np.ndarray]] = None
        self.vectors_source = "random"
        self.vectors_found = 0
        if cfg.init == "fasttext" and cfg.vectors_path:
            # read once, here (not timed): vectors of every word the metadata vocabulary can give
            matrix, found = load_word_vectors(cfg.vectors_path, self._candidates, int(cfg.embedding_dim))
            self._file_vectors = {w: matrix[i] for i, w in enumerate(self._candidates) if np.any(matrix[i])}
            self.vectors_source = f"file {cfg.vectors_path}"
        self._ft_model: Any = None
        self.words: list[str] = []
        self._index: dict[str, int] = {}
        self.max_len = 0
        self._multilabel = False
        self._opt: Any = None
        self._rng = np.random.default_rng(seed)
        self._train_tokens: list[list[str]] = []
        self._train_ids: list[np.ndarray] = []
        self._ids_version = -1
        self._version = 0
        self._pred_cache: IdentityCache[list[np.ndarray]] = IdentityCache(2)  # keyed by list and version
        self._rows = 0
        self._n_total = 0
        self._calls = 0
        self._examples = 0
        self._sec_per_example: Optional[float] = None
        self._prep_s = 0.0
        self._vector_s = 0.0
        self._last_loss = math.inf
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    @property
    def patience(self) -> Optional[int]:  # read by the engine (Learner.patience)
        return int(self.config.patience_calls) if self.config.patience_calls > 0 else None

    @property
    def epochs_done(self) -> float:
        """Full-data-equivalent epochs trained so far."""
        return self._examples / max(1, self._n_total)

    # -------------------------------------------------------------- text
    def tokens(self, xs: Sequence[np.ndarray]) -> list[list[str]]:
        """Cleaned, lower-cased words of each example."""
        return [clean_alphanumeric(d, per_character=self.chinese).lower().split()
                for d in documents(xs, self.table, chinese=self.chinese)]

    def _ids(self, tokens: list[str]) -> np.ndarray:
        index = self._index
        return np.asarray([index.get(t, OOV) for t in tokens[: self.max_len]], np.int64)

    def _grow_index(self) -> None:
        """Add the most frequent training words not indexed yet to the free slots; initialise their rows."""
        free = self.vocab_size - 2 - len(self.words)
        if free <= 0:
            return
        counts = Counter(t for doc in self._train_tokens for t in doc)
        new = [w for w, _ in counts.most_common() if w not in self._index][:free]
        if not new:
            return
        start = len(self.words) + 2
        self.words.extend(new)
        self._index.update({w: start + i for i, w in enumerate(new)})
        self._version += 1
        self._init_rows(new, start)

    def _init_rows(self, new: list[str], start: int) -> None:
        import torch

        cfg = self.config
        if cfg.init != "fasttext":
            return
        dim = int(cfg.embedding_dim)
        if self._file_vectors is not None:
            zero = np.zeros(dim, np.float32)
            matrix = np.stack([self._file_vectors.get(w, zero) for w in new])
            found = sum(w in self._file_vectors for w in new)
        else:
            if self._ft_model is None:  # first call: a skipgram on the rows seen now
                docs = [" ".join(t) for t in self._train_tokens]
                tic = time.perf_counter()
                self._ft_model = train_fasttext_vectors(docs, dim, cfg.vector_epochs, seed=self.seed)
                self._vector_s = time.perf_counter() - tic  # paid once: not part of later calls' cost
                self.vectors_source = f"trained on {len(docs)} training documents"
            if self._ft_model is None:
                return
            matrix, found = model_vectors(self._ft_model, new, dim)
        self.vectors_found += found
        logger.info("%s: %d of %d new words have fastText vectors (%s)", self.name or type(self).__name__,
                    found, len(new), self.vectors_source)
        has = np.any(matrix != 0, axis=1)
        if not has.any():
            return
        # vectors of another scale than the random init would swamp (or vanish among) the random rows
        scale = float(matrix[has].std())
        weight = self.net.embedding.weight
        with torch.no_grad():
            rows = torch.arange(start, start + len(new))[torch.from_numpy(has)]
            weight[rows] = torch.from_numpy(matrix[has] / max(scale, 1e-8) * float(weight[2:].std()))

    # --------------------------------------------------------------- fit
    def next_cost_s(self) -> float:
        if self._sec_per_example is None:
            return float(self.config.prior_cost_s)
        rows = min(self._n_total, max(self._rows, 2 * self._rows))  # the engine's window doubles
        return self._sec_per_example * self._next_epochs() * rows + self._prep_s

    def _next_epochs(self) -> float:
        cfg = self.config
        epochs = 1.0 if self._calls < 2 else float(2 ** (self._calls - 1))
        epochs = min(epochs, float(cfg.max_epochs_per_call))
        if self._rows >= self._n_total > 0:
            epochs = min(epochs, max(0.0, cfg.max_epochs - self.epochs_done))
        return epochs

    def fit(self, data: TrainData, budget_s: float) -> None:
        start = time.perf_counter()
        if budget_s is None or budget_s <= 0 or self._done:
            return
        deadline = start + float(budget_s)
        self._n_total = int(data.n_total)
        rows = min(self._n_total, available_rows(data))
        if rows == 0:
            return
        xs, y = data.get(rows)
        if len(xs) > len(self._train_tokens):
            self._train_tokens.extend(self.tokens(list(xs[len(self._train_tokens):])))
        if self._opt is None:
            self._setup(data)
        self._rows = len(xs)
        self._grow_index()
        if self._ids_version != self._version or len(self._train_ids) != self._rows:
            self._train_ids = [self._ids(t) for t in self._train_tokens[: self._rows]]
            self._ids_version = self._version
        self._prep_s = max(0.0, time.perf_counter() - start - self._vector_s)
        self._vector_s = 0.0
        self._train(np.asarray(y, np.float32), self._next_epochs(), deadline)
        self._calls += 1
        cfg = self.config
        if self._rows >= self._n_total:
            if self.epochs_done >= cfg.max_epochs - 1e-9 or self._last_loss < cfg.min_train_loss:
                self._done = True

    def _setup(self, data: TrainData) -> None:
        import torch

        cfg = self.config
        self._multilabel = bool(data.multilabel) or self.output_dim == 1
        lengths = [len(t) for t in self._train_tokens]
        self.max_len = max(1, min(int(cfg.max_len_cap), int(math.ceil(np.percentile(lengths, cfg.max_len_percentile)))))
        try:  # the fused kernel: one pass over the (large) embedding instead of ~10 (12x faster on one core)
            self._opt = torch.optim.Adam(self.net.parameters(), lr=float(cfg.lr), fused=True)
        except (RuntimeError, TypeError):
            self._opt = torch.optim.Adam(self.net.parameters(), lr=float(cfg.lr))

    def _batch(self, ids: Sequence[np.ndarray]) -> Any:
        import torch

        width = self.max_len
        if self.config.masked:  # only as long as the longest document (outputs do not depend on padding)
            width = max([len(a) for a in ids] + [int(self.config.pool_size)])
        out = np.full((len(ids), width), PAD, np.int64)
        for i, a in enumerate(ids):
            out[i, : len(a)] = a
        return torch.from_numpy(out)

    def _train(self, y: np.ndarray, epochs: float, deadline: float) -> None:
        import torch

        cfg = self.config
        usable = np.arange(len(y)) if self._multilabel else np.flatnonzero(y.sum(axis=1) > 0)
        if len(usable) == 0 or epochs <= 0:
            return
        n_examples = int(math.ceil(epochs * len(usable)))
        target = torch.from_numpy(y if self._multilabel else y.argmax(axis=1).astype(np.int64))
        loss_fn = torch.nn.BCEWithLogitsLoss() if self._multilabel else torch.nn.CrossEntropyLoss()
        self.net.train()
        tic, done, losses = time.perf_counter(), 0, []
        with seeded(self.seed + self._examples):
            while done < n_examples:
                order = self._rng.permutation(usable)
                for lo in range(0, len(order), int(cfg.batch_size)):
                    if done >= n_examples:
                        break
                    per_batch = (self._sec_per_example or 0.0) * cfg.batch_size
                    if done and time.perf_counter() + per_batch > deadline:
                        n_examples = done  # out of budget: stop between batches
                        break
                    batch = order[lo: lo + int(cfg.batch_size)][: n_examples - done]
                    loss = loss_fn(self.net(self._batch([self._train_ids[i] for i in batch])), target[batch])
                    self._opt.zero_grad(set_to_none=True)
                    loss.backward()
                    self._opt.step()
                    losses.append(float(loss.detach()))
                    done += len(batch)
        self._examples += done
        if done:
            self._sec_per_example = (time.perf_counter() - tic) / done
            recent = losses[-max(1, len(usable) // int(cfg.batch_size)):]  # about the last epoch
            self._last_loss = float(np.mean(recent))

    # ----------------------------------------------------------- predict
    def _test_ids(self, xs: Sequence[np.ndarray]) -> list[np.ndarray]:
        # the engine passes the same validation and test lists again and again
        return self._pred_cache.get_or_compute(xs, lambda: [self._ids(t) for t in self.tokens(xs)], self._version)

    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        if self.max_len == 0 or len(xs) == 0:
            return np.zeros((len(xs), self.output_dim), np.float32)
        ids = self._test_ids(xs)
        # length-sorted batches pad little when masked; unsorted otherwise (the fixed length is padded anyway)
        order = np.argsort([len(a) for a in ids], kind="stable") if self.config.masked else np.arange(len(ids))
        out = np.zeros((len(ids), self.output_dim), np.float32)
        self.net.eval()
        with torch.no_grad():
            for lo in range(0, len(order), int(self.config.eval_batch_size)):
                batch = order[lo: lo + int(self.config.eval_batch_size)]
                logits = self.net(self._batch([ids[i] for i in batch])).float()
                prob = torch.sigmoid(logits) if self._multilabel else torch.softmax(logits, dim=1)
                out[batch] = prob.numpy()
        return np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0).astype(np.float32)

    # -------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        if self.max_len == 0:
            return {"version": 1, "fitted": False}
        return {"version": 1, "fitted": True, "words": list(self.words), "max_len": int(self.max_len),
                "vocab_size": int(self.vocab_size), "embedding_dim": int(self.config.embedding_dim),
                "output_dim": self.output_dim, "multilabel": bool(self._multilabel), "chinese": bool(self.chinese),
                "net": cpu_state(self.net), "examples": int(self._examples), "n_total": int(self._n_total),
                "rows": int(self._rows), "calls": int(self._calls), "done": bool(self._done),
                "sec_per_example": self._sec_per_example,
                "vectors_source": self.vectors_source, "vectors_found": int(self.vectors_found)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state.get("fitted"):
            return
        if int(state["vocab_size"]) != self.vocab_size or int(state["embedding_dim"]) != self.config.embedding_dim:
            with seeded(self.seed):  # saved with another vocabulary or config: rebuild to the saved sizes
                self.vocab_size = int(state["vocab_size"])
                self.config = dataclasses.replace(self.config, embedding_dim=int(state["embedding_dim"]))
                self.net = build_text_cnn(self.vocab_size, self.config, self.output_dim)
        self.net.load_state_dict(state["net"])
        self.words = [str(w) for w in state["words"]]
        self._index = {w: i + 2 for i, w in enumerate(self.words)}
        self.max_len = int(state["max_len"])
        self._multilabel = bool(state["multilabel"])
        self.chinese = bool(state["chinese"])
        self._examples, self._n_total = int(state["examples"]), int(state["n_total"])
        self._rows, self._calls, self._done = int(state["rows"]), int(state["calls"]), bool(state["done"])
        self._sec_per_example = state.get("sec_per_example")
        self.vectors_source, self.vectors_found = str(state["vectors_source"]), int(state["vectors_found"])
        self._version += 1
        self._train_tokens, self._train_ids, self._pred_cache = [], [], IdentityCache(2)
        self._rows = 0  # training rows are re-read if fit() is called again
        self._opt = None


# --------------------------------------------------------------- registered variants
@dataclass
class AutoNLPBaseline1Config(TextCNNConfig):
    """``autonlp_baseline1`` (seed Baseline 1): random 200-d embedding, fixed length, unmasked pooling.

    ``max_epochs`` 4: done after 4 full-data epochs (calls of 1, 1 and 2
    epochs when every row is available). The AutoNLP starting kit stops on a
    validation split, which the paper's no-hold-out comparison does not
    have, so a fixed count stands in for it: on O1 the test NAUC peaks
    around 2 epochs and falls with more (0.79 at 2, 0.77 at 4, 0.73 at 8).
    """

    embedding_dim: int = 200
    init: str = "random"
    dropout: float = 0.2
    masked: bool = False
    max_epochs: float = 4.0
    max_epochs_per_call: float = 4.0
    patience_calls: int = 0
    min_train_loss: float = 0.0


@dataclass
class AutoNLPBaseline2Config(AutoNLPBaseline1Config):
    """``autonlp_baseline2`` (seed Baseline 2): Baseline 1 with a 300-d embedding from fastText vectors.

    ``vectors_path`` names a ``.bin``/``.vec`` file (for example the
    ``cc.en.300.vec.gz`` the AutoDL image shipped); without one a skipgram is
    trained on the training documents (3 epochs: about 10 s on O1, one core).
    """

    embedding_dim: int = 300
    init: str = "fasttext"
    vector_epochs: int = 3


@register("text_cnn", domains=("text",), default_config=TextCNNConfig, config_file="text.yaml")
class TextCNN(TextCNNLearner):
    """The solver's Kim CNN: task-trained 100-d vectors, masked pooling, hold-out patience."""


@register("autonlp_baseline1", domains=("text",), default_config=AutoNLPBaseline1Config, config_file="text.yaml")
class AutoNLPBaseline1(TextCNNLearner):
    """Seed AutoNLP Baseline 1 (Kim CNN, random 200-d embedding)."""


@register("autonlp_baseline2", domains=("text",), default_config=AutoNLPBaseline2Config, config_file="text.yaml")
class AutoNLPBaseline2(TextCNNLearner):
    """Seed AutoNLP Baseline 2 (Kim CNN, 300-d fastText embedding)."""
