"""The text portfolio's fast first model: TF-IDF + logistic regression on a growing slice of documents.

``text_linear`` rebuilds each example's text through the metadata vocabulary
(:mod:`autodl_solver.domains.text.text_vocab`, truncated to ``max_tokens``),
vectorises it with scikit-learn's TF-IDF — word 1-2-grams plus character
2-4-grams inside word boundaries (``char_wb``), or character 1-2-grams for
Chinese, whose tokens are characters — capped at ``max_features`` and
``max_char_features``, and fits the shared linear learner
(:class:`~autodl_solver.domains.core.linear.LinearLearner`: growing rows,
softmax or one model per class) on the sparse matrix, without
standardisation (TF-IDF rows are already L2-normalised and centring would
densify them). Its model is a linear SVM (``solver: linear_svm``, C = 0.3,
margins x 3 as logits), not the L-BFGS logistic regression of the other
domains: on all of fortunes categories (29 classes, 70k columns) L-BFGS
took 17.5 s to fit and the SVM 2.3 s, for test NAUC 0.8426 vs 0.8382; on
O1 and fortunes language the two are within 0.001
(``benchmarks/results/text_solver.md``). In the any-time engine that is
what decides: the second round, the first with character n-grams, took
8.7 s with L-BFGS on fortunes categories and held back everything else
(``members_T60_more.md``). DeepWisdom's and the other AutoDL winners' text openers
were such linear models (``docs/winners.md``). The character n-grams were
added by measurement (``benchmarks/results/text_features.md``): with the same
logistic regression, word 1-2-grams alone gave test NAUC 0.796 on O1, 0.780
on fortunes categories and 0.9954 on fortunes language ID; word + ``char_wb``
2-4-grams 0.811, 0.843 and 0.9975 (spelling, morphology and the letters of
each language), for about 3-5x the vectorising time.

The vectoriser is refitted whenever the rows grow, not kept from the first
call: fitting it is a pass over the text of the same order of cost as
vectorising alone, and a vocabulary learned from the first 500 documents
misses most words of the later ones. The warm start is dropped then, since
the feature columns change meaning. Rebuilt training documents are cached
(only new rows are rebuilt), and the validation and test lists, which the
engine passes again and again, are cached by identity.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack

from ...anytime.learner import TrainData
from ...data.metadata import Metadata
from ..core.feature_cache import IdentityCache
from ..core.linear import LinearConfig, LinearLearner
from ..core.torch_utils import as_numpy
from ..registration import register
from .text_vocab import TokenTable, build_table, documents, is_chinese

#: Words of at least one character (scikit-learn's default drops one-letter words and digits like "5").
WORD_PATTERN = r"(?u)\b\w+\b"


@dataclass
class TextLinearConfig(LinearConfig):
    """:class:`LinearConfig` plus the TF-IDF settings (``configs/text.yaml``).

    Attributes
    ----------
    max_features : int
        Columns kept by the vectoriser (most frequent n-grams).
    word_ngrams, char_ngrams : tuple of int
        ``(min_n, max_n)`` of word n-grams (English and other spaced text)
        and of character n-grams (Chinese).
    char_wb_ngrams : tuple of int
        ``(min_n, max_n)`` of the character n-grams inside word boundaries
        added to the word n-grams of spaced text (``(0, 0)``: none), from
        the second fit on: the first fit is the solver's first prediction,
        and words alone make it about 3x faster.
    max_char_features : int
        Columns kept by the ``char_wb`` vectoriser.
    max_tokens : int
        Documents are truncated to their first ``max_tokens`` tokens.
    min_df : int
        Minimum document frequency of a kept n-gram.
    sublinear_tf : bool
        ``1 + log(tf)`` term frequencies.
    C : float
        Inverse L2 strength of the SVM (``text_solver.md``: 0.3 of 0.1, 0.3 and 1).
    solver, svm_scale : str, float
        :class:`LinearConfig`'s; here the linear SVM with margins x 3 (see the module docstring).
    """

    max_features: int = 20000
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 2)
    char_wb_ngrams: tuple[int, int] = (2, 4)
    max_char_features: int = 50000
    max_tokens: int = 1000
    min_df: int = 1
    sublinear_tf: bool = True
    C: float = 0.3
    prior_cost_s: float = 0.5
    solver: str = "linear_svm"
    svm_scale: float = 3.0


def make_vectorizer(chinese: bool, max_features: int, ngrams: tuple[int, int], min_df: int = 1,
                    sublinear_tf: bool = True, vocabulary: Optional[dict[str, int]] = None,
                    analyzer: Optional[str] = None) -> Any:
    """A ``TfidfVectorizer``: character n-grams for Chinese, word n-grams otherwise (or ``analyzer`` when given)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    common = dict(ngram_range=tuple(int(n) for n in ngrams), sublinear_tf=bool(sublinear_tf), lowercase=True,
                  dtype=np.float64, vocabulary=vocabulary)
    if vocabulary is None:
        common.update(max_features=int(max_features), min_df=int(min_df))
    if analyzer is not None and analyzer != "word":
        return TfidfVectorizer(analyzer=analyzer, **common)
    if chinese:
        return TfidfVectorizer(analyzer="char", **common)
    return TfidfVectorizer(analyzer="word", token_pattern=WORD_PATTERN, **common)


def vectorizer_state(vectorizer: Any) -> dict[str, Any]:
    """A fitted vectoriser as plain values: its terms in column order and its idf (no pickle)."""
    import torch

    vocab = vectorizer.vocabulary_
    terms = [""] * len(vocab)
    for term, column in vocab.items():
        terms[column] = term
    return {"terms": terms, "idf": torch.from_numpy(np.asarray(vectorizer.idf_, np.float64).copy())}


def vectorizer_from_state(state: dict[str, Any], chinese: bool, ngrams: tuple[int, int],
                          sublinear_tf: bool = True, analyzer: Optional[str] = None) -> Any:
    """Inverse of :func:`vectorizer_state` (a vectoriser that transforms exactly as the saved one)."""
    terms = list(state["terms"])
    vectorizer = make_vectorizer(chinese, len(terms), ngrams, sublinear_tf=sublinear_tf,
                                 vocabulary={t: i for i, t in enumerate(terms)}, analyzer=analyzer)
    vectorizer.fit(["x"])  # sets the fixed vocabulary; the idf is overwritten just below
    vectorizer.idf_ = as_numpy(state["idf"]).astype(np.float64)
    return vectorizer


class _Identity:
    """Stands in for the tabular Standardizer: sparse TF-IDF rows go to the model as they are."""

    def fit(self, x: Any) -> "_Identity":
        return self

    def transform(self, x: Any) -> Any:
        return x

    def state(self) -> dict[str, Any]:
        # the shape of Standardizer.state() with nothing in it, so LinearLearner.load_state_dict accepts it
        import torch

        empty = torch.zeros(0, dtype=torch.float64)
        return {"mean": empty, "std": empty.clone(), "nan_cols": torch.zeros(0, dtype=torch.int64), "clip": 0.0}


class _CSR(csr_matrix):
    """A CSR matrix whose ``len()`` is its row count (``LinearLearner.fit`` counts rows with ``len``)."""

    def __len__(self) -> int:
        return int(self.shape[0])


def _rows(matrix: Any) -> _CSR:
    return _CSR(matrix)


@register("text_linear", domains=("text",), default_config=TextLinearConfig)
class TextLinearLearner(LinearLearner):
    """TF-IDF + logistic regression on a growing slice of documents (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[TextLinearConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(TextLinearConfig), seed)
        import sklearn.feature_extraction.text  # noqa: F401  (import cost paid outside the timed fits)

        self.table: TokenTable = build_table(metadata)
        self.chinese = is_chinese(self.table)
        self._n_features = None
        self._scaler = _Identity()
        self._vectorizer: Any = None
        self._char_vectorizer: Any = None
        self._version = 0  # bumped when the vectoriser is refitted: invalidates cached matrices
        self._in_fit = False
        self._train_docs: list[str] = []
        self._doc_cache: IdentityCache[list[str]] = IdentityCache(2)
        self._matrix_cache: IdentityCache[Any] = IdentityCache(2)  # keyed by list and vectoriser version

    def _ngrams(self) -> tuple[int, int]:
        return tuple(self.config.char_ngrams if self.chinese else self.config.word_ngrams)

    def _use_char_wb(self) -> bool:
        low, high = (int(n) for n in self.config.char_wb_ngrams)
        return not self.chinese and 0 < low <= high

    def texts(self, xs: Sequence[np.ndarray]) -> list[str]:
        """The rebuilt (truncated) documents of ``xs``."""
        return documents(xs, self.table, chinese=self.chinese, max_tokens=int(self.config.max_tokens))

    def fit(self, data: TrainData, budget_s: float) -> None:
        self._in_fit = True
        try:
            super().fit(data, budget_s)
        finally:
            self._in_fit = False

    def _features(self, xs: Sequence[np.ndarray]) -> Any:
        if self._in_fit:
            # fit() hands the growing training prefix: rebuild only the new documents, refit the vectoriser
            if len(xs) > len(self._train_docs):
                self._train_docs.extend(self.texts(list(xs[len(self._train_docs):])))
            docs = self._train_docs[: len(xs)]
            cfg = self.config
            vectorizer = make_vectorizer(self.chinese, cfg.max_features, self._ngrams(), cfg.min_df,
                                         cfg.sublinear_tf)
            try:
                matrix = vectorizer.fit_transform(docs)
            except ValueError:  # only empty documents or stop words: keep one never-matching column
                vectorizer = make_vectorizer(self.chinese, 1, self._ngrams(), sublinear_tf=cfg.sublinear_tf,
                                             vocabulary={"\x00": 0})
                matrix = vectorizer.fit_transform(docs)
            self._char_vectorizer = None
            if self._use_char_wb() and self._rows > 0:  # not in the first fit: see char_wb_ngrams
                char_vectorizer = make_vectorizer(False, cfg.max_char_features, tuple(cfg.char_wb_ngrams),
                                                  cfg.min_df, cfg.sublinear_tf, analyzer="char_wb")
                try:
                    matrix = hstack([matrix, char_vectorizer.fit_transform(docs)]).tocsr()
                    self._char_vectorizer = char_vectorizer
                except ValueError:  # no characters at all: the word columns alone
                    pass
            self._vectorizer, self._version = vectorizer, self._version + 1
            self._coef = self._intercept = None  # new columns: the old coefficients mean nothing
            self._matrix_cache.clear()
            return _rows(matrix)
        matrix = self._matrix_cache.get(xs, self._version)  # validation and test: the same lists every time
        if matrix is not None:
            return matrix
        docs = self._doc_cache.get_or_compute(xs, lambda: self.texts(xs))
        matrix = self._vectorizer.transform(docs).tocsr()
        if self._char_vectorizer is not None:
            matrix = hstack([matrix, self._char_vectorizer.transform(docs)]).tocsr()
        return self._matrix_cache.put(xs, matrix, self._version)

    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if self._vectorizer is None:
            return np.zeros((len(xs), self.output_dim), np.float32)
        return super().predict(xs)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self._vectorizer is not None and state.get("fitted"):
            state["vectorizer"] = vectorizer_state(self._vectorizer)
            state["chinese"] = bool(self.chinese)
            if self._char_vectorizer is not None:
                state["char_vectorizer"] = vectorizer_state(self._char_vectorizer)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state.get("fitted"):
            return
        super().load_state_dict(state)
        self._scaler = _Identity()
        self.chinese = bool(state["chinese"])
        self._vectorizer = vectorizer_from_state(state["vectorizer"], self.chinese, self._ngrams(),
                                                 self.config.sublinear_tf)
        self._char_vectorizer = None
        if "char_vectorizer" in state:
            self._char_vectorizer = vectorizer_from_state(state["char_vectorizer"], False,
                                                          tuple(self.config.char_wb_ngrams),
                                                          self.config.sublinear_tf, analyzer="char_wb")
        self._version += 1
        self._train_docs = []  # rebuilt from the data if fit() is called again
