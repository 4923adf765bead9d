"""Logistic regression on standardised features, refitted on growing rows: the linear learner of every domain.

A cheap, strongly regularised opinion (DeepWisdom's speech and text openers
were linear models). Inputs go through
:class:`~autodl_solver.domains.core.standardizer.Standardizer` (missing values ->
0 plus indicators). Multi-class: one multinomial model (rows without a
positive left out); multi-label and ``output_dim == 1``: one binary model per
class, a class without both labels among the rows gets a constant column.
Each call refits scikit-learn's L-BFGS solver, warm-started from the last
coefficients, on twice the rows while unread rows remain; it is done once it
has fitted all rows. ``solver: linear_svm`` fits liblinear's linear SVM
instead (no warm start), whose margins times ``svm_scale`` are the logits:
``text_linear`` uses it because L-BFGS on tens of thousands of sparse
TF-IDF columns and many classes is 8-20x slower for the same NAUC.

:class:`LinearLearner` reads flattened tabular features; it is registered as
``tabular_linear`` by :mod:`autodl_solver.domains.tabular.tabular_linear`, and
the image, video, speech and text linear learners subclass it with their own
features (``_features``). It opens the solver's tabular portfolio: see
:mod:`autodl_solver.domains.methods` for the measurement.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ...errors import AutoDLInputError
from .incremental import IncrementalLearner
from .shapes import flatten_tabular
from .standardizer import Standardizer
from .torch_utils import as_numpy


#: The ``LinearConfig.solver`` values.
SOLVERS = ("lbfgs", "linear_svm")


@dataclass
class LinearConfig:
    """Settings of :class:`LinearLearner` (overridable in ``configs/tabular.yaml``).

    Attributes
    ----------
    first_rows, rows_growth : int, float
        Rows of the first call and their growth factor per call.
    C : float
        Inverse L2 strength of scikit-learn's ``LogisticRegression``.
    max_iter : int
        L-BFGS iterations per fit (the SVM gets at least liblinear's default of 1000: its
        coordinate-descent passes are far cheaper than L-BFGS iterations).
    clip : float
        Standardised inputs are clipped to ``[-clip, clip]``.
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    solver : str
        ``"lbfgs"``: scikit-learn's ``LogisticRegression`` (multinomial,
        warm-started L-BFGS). ``"linear_svm"``: ``LinearSVC`` (one hinge-loss
        model per class, liblinear's dual coordinate descent), whose margins
        times ``svm_scale`` become the logits: a softmax of them (a sigmoid
        for one model per class) gives the probabilities. ``C`` is the
        chosen solver's inverse L2 strength, so the two need different values.
    svm_scale : float
        Logits per unit of SVM margin (``solver="linear_svm"`` only).
    """

    first_rows: int = 500
    rows_growth: float = 2.0
    C: float = 1.0
    max_iter: int = 200
    clip: float = 10.0
    prior_cost_s: float = 0.2
    solver: str = "lbfgs"
    svm_scale: float = 3.0


class LinearLearner(IncrementalLearner):
    """Logistic regression (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[LinearConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(LinearConfig), seed)
        import sklearn.linear_model  # noqa: F401  (import cost paid outside the timed fits)

        self.output_dim = int(metadata.output_dim)
        shape = metadata.tensor_shape
        self._n_features: Optional[int] = None if -1 in shape else int(np.prod(shape))
        self._scaler = Standardizer(self.config.clip)
        self._coef: Optional[np.ndarray] = None  # (in_dim, output_dim)
        self._intercept: Optional[np.ndarray] = None
        self._softmax = True
        if self.config.solver not in SOLVERS:
            raise AutoDLInputError("solver", f"{type(self).__name__}: expected one of {SOLVERS}, "
                                             f"got {self.config.solver!r}")

    def _fitted(self) -> bool:
        return self._coef is not None

    def _fit_rows(self, xs: Sequence[np.ndarray], y: np.ndarray, multilabel: bool) -> None:
        x = self._features(xs)
        self._n_features = x.shape[1]
        self._rows = len(x)
        self._softmax = not (multilabel or self.output_dim == 1)
        self._fit_matrix(x, y)

    def _features(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        """The ``(n, F)`` matrix the model sees (subclasses extract other features)."""
        return flatten_tabular(xs, self._n_features)

    def _svm(self) -> bool:
        return self.config.solver == "linear_svm"

    def _fit_matrix(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        k = self.output_dim
        if self._softmax:
            keep = y.sum(axis=1) > 0
            x, y = x[keep], y[keep]
        self._scaler.fit(x)
        z = self._scaler.transform(x)
        d = z.shape[1]
        old = self._coef
        coef = np.zeros((d, k)) if old is None or old.shape[0] != d else old.copy()
        intercept = np.zeros(k) if self._intercept is None else self._intercept.copy()
        svm = self._svm()
        scale = float(self.config.svm_scale) if svm else 1.0

        def make() -> Any:
            if svm:
                return LinearSVC(C=self.config.C, max_iter=max(int(self.config.max_iter), 1000),
                                 random_state=self.seed)
            return LogisticRegression(C=self.config.C, max_iter=self.config.max_iter, warm_start=True,
                                      random_state=self.seed)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if self._softmax:
                labels = y.argmax(axis=1)
                present = np.unique(labels)
                if len(present) >= 2:
                    model = make()
                    if old is not None and len(present) > 2 and not svm:  # LinearSVC has no warm start
                        model.coef_, model.intercept_ = coef[:, present].T.copy(), intercept[present].clip(min=-10.0)
                    model.fit(z, labels)
                    model.coef_, model.intercept_ = model.coef_ * scale, model.intercept_ * scale
                    coef[:] = 0.0
                    intercept[:] = -1e3  # classes never seen in the rows rank last
                    if len(present) == 2:  # binary: one weight vector for the second class
                        coef[:, present[1]], intercept[present[1]] = model.coef_[0], model.intercept_[0]
                        intercept[present[0]] = 0.0
                    else:
                        coef[:, present], intercept[present] = model.coef_.T, model.intercept_
                else:
                    coef[:] = 0.0
                    intercept[:] = np.log(np.bincount(labels, minlength=k) + 1e-3) if len(labels) else 0.0
            else:
                for j in range(k):
                    col = (y[:, j] > 0).astype(int)
                    if col.min(initial=1) == col.max(initial=0):
                        coef[:, j], intercept[j] = 0.0, float(col.mean()) if len(col) else 0.0
                        continue
                    model = make()
                    model.fit(z, col)
                    coef[:, j], intercept[j] = model.coef_[0] * scale, model.intercept_[0] * scale
        self._coef, self._intercept = coef, intercept

    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if self._coef is None or len(xs) == 0:
            return np.zeros((len(xs), self.output_dim), np.float32)
        z = self._scaler.transform(self._features(xs)).astype(np.float64)
        logits = z @ self._coef + self._intercept
        if self._softmax:
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
        else:
            p = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
        return np.nan_to_num(p, nan=0.0).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        import torch

        if self._coef is None:
            return {"version": 1, "fitted": False}
        return {"version": 1, "fitted": True, "coef": torch.from_numpy(self._coef.copy()),
                "intercept": torch.from_numpy(self._intercept.copy()), "scaler": self._scaler.state(),
                "softmax": self._softmax, "n_features": self._n_features, "rows": self._rows,
                "n_total": self._n_total, "sec_per_row": self._sec_per_row, "done": self._done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state.get("fitted"):
            return
        self._coef = as_numpy(state["coef"]).astype(np.float64)
        self._intercept = as_numpy(state["intercept"]).astype(np.float64)
        self._scaler = Standardizer(self.config.clip).load(state["scaler"])
        self._softmax = bool(state["softmax"])
        self._n_features = None if state["n_features"] is None else int(state["n_features"])
        self._rows = int(state["rows"])
        self._n_total = state["n_total"]
        self._sec_per_row = state["sec_per_row"]
        self._done = bool(state["done"])
