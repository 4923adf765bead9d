"""fastText supervised classifier on the documents rebuilt from token indices.

``text_fasttext`` rebuilds each example's text through the metadata
vocabulary (:mod:`autodl_solver.domains.text.text_vocab`), always joining tokens
with spaces — fastText splits words on whitespace, so Chinese text, whose
tokens are characters, is fed character by character — and trains
``fasttext-wheel``'s supervised model (bag of word n-grams, one hidden
linear layer) on a growing slice of the training rows (``first_rows``, then
``rows_growth`` times more per call). fastText cannot warm-start a
supervised model, so every call trains afresh on the larger slice.

* Multi-class: softmax loss, one ``__label__<j>`` per line (rows without a
  positive label are left out). Multi-label and ``output_dim == 1``:
  one-vs-all loss (``"ova"``), every positive label on the line; rows
  without any get the label ``__label__none`` so they still count as
  negatives for every class.
* Divergence: fastText raises ``RuntimeError("Encountered NaN.")`` (genuinely
  at high learning rates, spuriously in some builds:
  ``docs/environment.md`` §1.2). Training is retried with the learning rate
  halved, ``max_tries`` times in all; after that the learner marks itself
  failed (``failed``, ``error``, ``done``) and raises a RuntimeError saying so.
* The training file is written to a temporary directory that is removed
  after every call. ``state_dict`` holds the model as the bytes of
  fastText's own ``.bin`` format (a uint8 tensor), never a pickle.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ..core.feature_cache import IdentityCache
from ..core.incremental import IncrementalLearner
from ..core.torch_utils import as_numpy
from ..registration import register
from .text_vocab import TokenTable, build_table, documents

#: fastText's label prefix; documents never contain it (it would turn a word into a label).
LABEL = "__label__"
#: Label of multi-label rows without any positive class.
NONE_LABEL = LABEL + "none"


@dataclass
class FastTextConfig:
    """Settings of ``text_fasttext`` (overridable in ``configs/text.yaml``).

    Attributes
    ----------
    first_rows, rows_growth : int, float
        Training rows of the first call and their growth factor per call.
    epoch, lr, wordNgrams, dim : int, float, int, int
        fastText's epochs, learning rate, word n-gram length and embedding size.
    bucket : int
        Hash buckets of the word n-grams (memory and model size are ``(words + bucket) * dim`` floats).
    minCount : int
        Minimal count of a kept word.
    thread : int
        fastText's training threads (1: deterministic for a given ``seed``).
    max_tokens : int
        Documents are truncated to their first ``max_tokens`` tokens.
    max_tries : int
        Training attempts when fastText reports NaN, the learning rate halved each time.
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    first_rows: int = 500
    rows_growth: float = 2.0
    epoch: int = 10
    lr: float = 0.5
    wordNgrams: int = 2
    dim: int = 64
    bucket: int = 200000
    minCount: int = 1
    thread: int = 1
    max_tokens: int = 1000
    max_tries: int = 3
    prior_cost_s: float = 1.0


def train_fasttext(path: str, **params: Any) -> Any:
    """``fasttext.train_supervised(input=path, **params)`` with the project's numpy-2 shim applied.

    A module-level function so tests can replace it (the NaN retry path).
    """
    from ..._environment import patch_fasttext

    patch_fasttext()
    import fasttext

    return fasttext.train_supervised(input=path, **params)


def load_fasttext(path: str) -> Any:
    """A fastText model from its ``.bin`` file (without ``fasttext.load_model``'s stderr notice)."""
    from ..._environment import patch_fasttext

    patch_fasttext()
    from fasttext.FastText import _FastText

    return _FastText(model_path=path)


def clean_text(text: str) -> str:
    """One line fastText can read: whitespace runs become single spaces, no word looks like a label."""
    return " ".join(text.replace(LABEL, "_label_").split())


@register("text_fasttext", domains=("text",), default_config=FastTextConfig, config_file="text.yaml")
class FastTextLearner(IncrementalLearner):
    """fastText supervised text classifier on growing rows (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[FastTextConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(FastTextConfig), seed)
        from ..._environment import patch_fasttext

        patch_fasttext()  # import cost paid outside the timed fits
        self.output_dim = int(metadata.output_dim)
        self.table: TokenTable = build_table(metadata)
        self._model: Any = None
        self._ova = False
        self.failed = False
        self.error: Optional[str] = None
        #: Learning rate of the last successful training (lower than ``config.lr`` after NaN retries).
        self.last_lr: Optional[float] = None
        self._train_docs: list[str] = []
        self._doc_cache: IdentityCache[list[str]] = IdentityCache(2)

    def texts(self, xs: Sequence[np.ndarray]) -> list[str]:
        """The rebuilt, truncated, space-joined documents of ``xs`` as fastText lines."""
        docs = documents(xs, self.table, chinese=False, max_tokens=int(self.config.max_tokens))
        return [clean_text(d) for d in docs]

    # ------------------------------------------------------------------ training
    def _lines(self, docs: Sequence[str], y: np.ndarray) -> list[str]:
        lines = []
        for doc, row in zip(docs, y):
            positive = np.flatnonzero(row > 0)
            if self._ova:
                labels = " ".join(f"{LABEL}{j}" for j in positive) or NONE_LABEL
            elif len(positive):
                labels = f"{LABEL}{int(np.argmax(row))}"
            else:
                continue  # softmax needs a class
            lines.append(f"{labels} {doc}\n")
        return lines

    def _train(self, lines: list[str]) -> Any:
        cfg = self.config
        params = dict(epoch=int(cfg.epoch), wordNgrams=int(cfg.wordNgrams), dim=int(cfg.dim),
                      bucket=int(cfg.bucket), minCount=int(cfg.minCount), thread=max(1, int(cfg.thread)),
                      loss="ova" if self._ova else "softmax", seed=int(self.seed), verbose=0)
        lr = float(cfg.lr)
        tries = max(1, int(cfg.max_tries))
        with tempfile.TemporaryDirectory(prefix="autodl_fasttext_") as tmp:
            path = os.path.join(tmp, "train.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(lines)
            for attempt in range(tries):
                try:
                    model = train_fasttext(path, lr=lr, **params)
                    self.last_lr = lr
                    return model
                except RuntimeError as exc:
                    if "NaN" not in str(exc):
                        raise
                    if attempt + 1 < tries:
                        lr /= 2.0  # fastText diverged: a smaller step usually does not
        self.failed, self._done = True, True
        self.error = (f"text_fasttext: fastText diverged (\"Encountered NaN.\") in {tries} tries, "
                      f"learning rate {cfg.lr:g} down to {lr:g}; the learner is marked failed")
        raise RuntimeError(self.error)

    # fit: IncrementalLearner's template (next rows, timed per row, done at the last row)
    def _fitted(self) -> bool:
        return self._model is not None

    def _affordable_rows(self, rows: int, budget_s: float) -> int:
        if self._sec_per_row is not None and self._model is not None:
            # fastText cannot be interrupted: take only the rows the budget pays for (at least one more)
            affordable = int(budget_s / max(self._sec_per_row, 1e-9))
            rows = max(min(rows, affordable), min(self._rows + 1, rows))
        return rows

    def _fit_rows(self, xs: Sequence[np.ndarray], y: np.ndarray, multilabel: bool) -> None:
        if len(xs) > len(self._train_docs):
            self._train_docs.extend(self.texts(list(xs[len(self._train_docs):])))
        self._ova = multilabel or self.output_dim == 1
        lines = self._lines(self._train_docs[: len(xs)], y)
        self._rows = len(xs)
        if lines:
            self._model = self._train(lines)

    # ---------------------------------------------------------------- prediction
    def _docs(self, xs: Sequence[np.ndarray]) -> list[str]:
        # validation and test: the engine passes the same lists again and again
        return self._doc_cache.get_or_compute(xs, lambda: self.texts(xs))

    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(xs), self.output_dim), np.float32)
        if self._model is None or len(xs) == 0:
            return out
        for i, doc in enumerate(self._docs(xs)):
            # one string at a time: fasttext-wheel 0.9.2's list predict (multilinePredict) repeats the
            # top probability for every label (measured), the single-line predict is right
            names, values = self._model.predict(doc, k=-1, threshold=0.0)
            for name, value in zip(names, np.asarray(values, np.float64).tolist()):
                suffix = name[len(LABEL):]
                if suffix.isdigit() and int(suffix) < self.output_dim:
                    out[i, int(suffix)] = value
        return np.nan_to_num(np.clip(out, 0.0, 1.0), nan=0.0)

    # ------------------------------------------------------------------- saving
    def state_dict(self) -> dict[str, Any]:
        import torch

        state: dict[str, Any] = {"version": 1, "fitted": self._model is not None, "ova": self._ova,
                                 "rows": self._rows, "n_total": self._n_total, "sec_per_row": self._sec_per_row,
                                 "done": self._done, "failed": self.failed, "error": self.error}
        if self._model is not None:
            with tempfile.TemporaryDirectory(prefix="autodl_fasttext_") as tmp:
                path = os.path.join(tmp, "model.bin")
                self._model.save_model(path)
                with open(path, "rb") as f:
                    raw = f.read()
            state["model"] = torch.from_numpy(np.frombuffer(raw, np.uint8).copy())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._ova = bool(state.get("ova", False))
        self._rows = int(state.get("rows", 0))
        self._n_total = state.get("n_total")
        self._sec_per_row = state.get("sec_per_row")
        self._done = bool(state.get("done", False))
        self.failed = bool(state.get("failed", False))
        self.error = state.get("error")
        self._train_docs, self._doc_cache = [], IdentityCache(2)
        self._model = None
        if state.get("fitted") and "model" in state:
            raw = as_numpy(state["model"]).astype(np.uint8).tobytes()
            with tempfile.TemporaryDirectory(prefix="autodl_fasttext_") as tmp:
                path = os.path.join(tmp, "model.bin")
                with open(path, "wb") as f:
                    f.write(raw)
                self._model = load_fasttext(path)
