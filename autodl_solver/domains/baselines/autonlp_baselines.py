"""The seed paper's AutoNLP Baseline 0: alphanumeric cleaning, TF-IDF (at most 20000 features), a linear SVM.

Seed §4.2: "Baseline 0 uses a Support Vector Machine (SVM) as classifier. The
input text is preprocessed by keeping only the alphanumeric characters and
been vectorized with the Term Frequency Inverse Document Frequency (TF-IDF)
vectorizer with a maximum vocabulary size of 20000."

``autonlp_baseline0`` rebuilds the text through the metadata vocabulary
(:mod:`autodl_solver.domains.text.text_vocab`), replaces every run of
non-alphanumeric characters with a space (Unicode-aware, so Chinese characters
are kept; Chinese is then split per character, since no word segmenter ships
here), fits a ``TfidfVectorizer(max_features=20000)`` and one
scikit-learn ``LinearSVC`` per class (one-vs-rest, which is what
``LinearSVC`` does for several classes and what multi-label needs). Its
predictions are the SVMs' decision values: NAUC only ranks them, and a
class without both labels among the rows gets a constant score.

It trains on every row the engine's window allows (refitting from scratch
when the window has grown) and is done once all rows are in.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ..core.incremental import IncrementalLearner
from ..core.torch_utils import as_numpy
from ..registration import register
from ..text.text_linear import make_vectorizer, vectorizer_from_state, vectorizer_state
from ..text.text_vocab import build_table, clean_alphanumeric, documents, is_chinese


@dataclass
class AutoNLPBaseline0Config:
    """Settings of ``autonlp_baseline0`` (``configs/text.yaml``).

    Attributes
    ----------
    max_features : int
        TF-IDF vocabulary cap (the seed: 20000).
    C : float
        ``LinearSVC`` regularisation (scikit-learn's default).
    max_iter : int
        ``LinearSVC`` iterations.
    max_tokens : int
        Documents are truncated to their first ``max_tokens`` tokens (0: no cap).
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    max_features: int = 20000
    C: float = 1.0
    max_iter: int = 1000
    max_tokens: int = 0
    prior_cost_s: float = 2.0


@register("autonlp_baseline0", domains=("text",), default_config=AutoNLPBaseline0Config)
class AutoNLPBaseline0(IncrementalLearner):
    """Alphanumeric cleaning + TF-IDF + linear SVM (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[AutoNLPBaseline0Config] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(AutoNLPBaseline0Config), seed)
        import sklearn.svm  # noqa: F401  (import cost paid outside the timed fits)

        self.output_dim = int(metadata.output_dim)
        self.table = build_table(metadata)
        self.chinese = is_chinese(self.table)
        self._vectorizer: Any = None
        self._coef: Optional[np.ndarray] = None  # (n_features, output_dim)
        self._intercept: Optional[np.ndarray] = None
        self._train_docs: list[str] = []

    def texts(self, xs: Sequence[np.ndarray]) -> list[str]:
        """The rebuilt, cleaned documents of ``xs``."""
        cap = int(self.config.max_tokens) or None
        raw = documents(xs, self.table, chinese=self.chinese, max_tokens=cap)
        return [clean_alphanumeric(t, per_character=self.chinese) for t in raw]

    def _vectorizer_for(self, vocabulary: Optional[dict[str, int]] = None, max_features: Optional[int] = None) -> Any:
        # after cleaning, Chinese is space-separated characters: word unigrams are exactly the characters
        return make_vectorizer(False, max_features or int(self.config.max_features), (1, 1), sublinear_tf=False,
                               vocabulary=vocabulary)

    # fit: IncrementalLearner's template, on every row of the window (cost: seconds per row times n_total)
    def _next_rows(self, n_total: int) -> int:
        return n_total

    def _fitted(self) -> bool:
        return self._coef is not None

    def _nothing_new(self, rows: int) -> bool:
        return rows == 0 or (rows == self._rows and self._coef is not None)  # nothing new in the window

    def _fit_rows(self, xs: Sequence[np.ndarray], y: np.ndarray, multilabel: bool) -> None:
        if len(xs) > len(self._train_docs):
            self._train_docs.extend(self.texts(list(xs[len(self._train_docs):])))
        docs = self._train_docs[: len(xs)]
        vectorizer = self._vectorizer_for()
        try:
            x = vectorizer.fit_transform(docs)
        except ValueError:  # every document empty after cleaning: one never-matching column
            vectorizer = self._vectorizer_for(vocabulary={"\x00": 0}, max_features=1)
            x = vectorizer.fit_transform(docs)
        self._fit_svms(x.tocsr(), y)
        self._vectorizer, self._rows = vectorizer, len(xs)

    def _fit_svms(self, x: Any, y: np.ndarray) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.svm import LinearSVC

        k = self.output_dim
        coef, intercept = np.zeros((x.shape[1], k)), np.zeros(k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for j in range(k):
                col = (y[:, j] > 0).astype(int)
                if col.min(initial=1) == col.max(initial=0):  # one label only: a constant score
                    intercept[j] = 1.0 if len(col) and col[0] else -1.0
                    continue
                svm = LinearSVC(C=self.config.C, max_iter=self.config.max_iter, random_state=self.seed)
                svm.fit(x, col)
                coef[:, j], intercept[j] = svm.coef_[0], svm.intercept_[0]
        self._coef, self._intercept = coef, intercept

    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if self._coef is None or len(xs) == 0:
            return np.zeros((len(xs), self.output_dim), np.float32)
        scores = self._vectorizer.transform(self.texts(xs)) @ self._coef + self._intercept
        return np.nan_to_num(np.asarray(scores), nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        import torch

        if self._coef is None:
            return {"version": 1, "fitted": False}
        return {"version": 1, "fitted": True, "vectorizer": vectorizer_state(self._vectorizer),
                "coef": torch.from_numpy(self._coef.copy()), "intercept": torch.from_numpy(self._intercept.copy()),
                "chinese": bool(self.chinese), "rows": self._rows, "n_total": self._n_total,
                "sec_per_row": self._sec_per_row, "done": self._done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state.get("fitted"):
            return
        self.chinese = bool(state["chinese"])
        self._vectorizer = vectorizer_from_state(state["vectorizer"], False, (1, 1), sublinear_tf=False)
        self._coef = as_numpy(state["coef"]).astype(np.float64)
        self._intercept = as_numpy(state["intercept"]).astype(np.float64)
        self._rows = int(state["rows"])
        self._n_total = state["n_total"]
        self._sec_per_row = state["sec_per_row"]
        self._done = bool(state["done"])
        self._train_docs = []  # rebuilt from the data if fit() is called again
