"""The library face: :class:`AutoDLClassifier`, a scikit-learn any-time classifier.

>>> from sklearn.datasets import load_iris
>>> from autodl_solver import AutoDLClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = AutoDLClassifier(time_budget=10).fit(X, y)       # doctest: +SKIP
>>> clf.predict(X[:3]), clf.learning_curve_[-1]["val_score"]  # doctest: +SKIP

It runs the same any-time :class:`~autodl_solver.anytime.engine.Engine` as
the challenge ``model.py``: a portfolio of learners for the inferred domain,
trained in growing increments under ``time_budget`` seconds, each new best
model validated on a small hold-out with the AutoDL metric (NAUC). Inputs
(DataFrames, strings, waveforms, image files, arrays) are converted by
:mod:`autodl_solver.data.inputs`, fitted on the training data.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning, NotFittedError

from .anytime.callbacks import LearningCurveRecorder
from .data.dataset import ArrayDataset, Dataset
from .data.inputs import InputEncoder, encode_labels, labels_for
from .data.metadata import Metadata
from .errors import AutoDLInputError

__all__ = ["AutoDLClassifier", "AutoDLNotFittedError", "EXPECTED_FAILED_CHECKS"]

#: Marker written in ``config.json`` so that :meth:`AutoDLClassifier.load` recognises its own folders.
SAVE_FORMAT = "autodl_solver.AutoDLClassifier"
SAVE_VERSION = 2
_READABLE_VERSIONS = (1, 2)

#: ``sklearn.utils.estimator_checks.check_estimator`` checks that cannot apply to an any-time
#: solver, each with the reason (passed as ``expected_failed_checks``; everything else passes).
EXPECTED_FAILED_CHECKS: dict[str, str] = {
    "check_dataframe_column_names_consistency": (
        "columns of a DataFrame given in another order are reordered by name (documented), "
        "not refused; missing and unseen names are refused with scikit-learn's message"),
    "check_fit_idempotent": (
        "any-time: which learners finish within time_budget, and so the model, depends on the "
        "machine's speed at that moment; two fits of the same data may differ"),
    "check_classifiers_multilabel_representation_invariance": (
        "fits the same multi-label data three times (array, list, ...) and wants identical predictions: "
        "any-time fits differ when a learner finishes a round within the budget in one fit and not in "
        "another (the three label forms give the same 0/1 matrix: tests/test_library_inputs.py)"),
}

# (method, domain) pairs whose learners' libraries this process already imported (see fit's docstring)
_WARM: set[tuple[str, str]] = set()


class AutoDLNotFittedError(AutoDLInputError, NotFittedError):
    """Raised by a method that needs a fitted model (both an AutoDLInputError and sklearn's NotFittedError)."""


class _CurveRecorder(LearningCurveRecorder):
    """The learning curve, with the test NAUC of each prediction when test labels are known."""

    def __init__(self, y_test: Optional[np.ndarray]) -> None:
        super().__init__()
        self.y_test = y_test

    def on_prediction(self, engine, prediction: np.ndarray, elapsed_s: float) -> None:
        super().on_prediction(engine, prediction, elapsed_s)
        if self.y_test is not None:
            from .challenge.scoring import nauc

            try:
                self.points[-1]["test_nauc"] = nauc((self.y_test > 0).astype(np.float64), prediction)
            except AutoDLInputError:  # no class with both positives and negatives in the test labels
                self.points[-1]["test_nauc"] = None


class AutoDLClassifier(ClassifierMixin, BaseEstimator):
    """Any-time AutoDL classifier: a scikit-learn estimator for tables, text, speech, images and video.

    The constructor only stores its parameters; :meth:`fit` does the work and
    sets the fitted attributes (names ending in ``_``). ``clone``,
    ``cross_val_score``, ``GridSearchCV`` and ``Pipeline`` work as with any
    scikit-learn classifier.

    Parameters
    ----------
    time_budget : float
        Wall-clock seconds :meth:`fit` may take (> 0), input conversion
        included; see :meth:`fit` for the one-time library imports.
    method : str
        ``"solver"`` (the any-time portfolio) or a baseline registered in
        ``autodl_solver.domains.methods.METHODS`` (``"learner:<name>"`` runs one learner).
    seed : int
        Seed of the hold-out split and of every learner.
    config : dict, EngineConfig or path, optional
        Engine settings overrides (:class:`~autodl_solver.anytime.config.EngineConfig`
        field names), an ``EngineConfig``, or a YAML file of them.
    verbose : bool
        Show a progress bar on stderr.
    output_dir : str or os.PathLike, optional
        When given (and a test set is known), every emitted test prediction
        is written there as the official ingestion does (``start.txt``,
        ``<task>.predict_<k>``, ``end.txt``), ready for ``autodl-solver score``.
    sample_rate : int, optional
        Sample rate (Hz) of waveform inputs (a list of 1-D arrays); 16 kHz is
        assumed, with a warning, when waveforms come without one.

    Attributes
    ----------
    engine_ : Engine
        The fitted engine.
    metadata_ : Metadata
        Metadata of the training data (given or built from the inputs).
    inputs_ : InputEncoder or None
        The fitted input conversion (None when fitted on a Dataset or a dataset folder).
    classes_ : ndarray
        Class labels: the sorted unique values of a 1-D ``y``; the sorted labels of
        label lists; the columns of a 0/1 DataFrame; else ``0..k-1``.
    n_classes_ : int
        Number of classes (columns of :meth:`predict_proba`).
    multilabel_ : bool
        Whether several classes may be positive at once.
    domain_ : str
        The inferred domain (tabular, image, video, text or speech).
    n_features_in_ : int
        Input columns (tables and DataFrames only).
    feature_names_in_ : ndarray of str
        Column names of a training DataFrame whose names are all strings.
    learning_curve_ : list of dict
        One point per emitted prediction (or per new best model when no
        test set was given): ``elapsed_s``, ``val_score`` (hold-out NAUC),
        ``learner``, ``n_rows`` and, when test labels are known, ``test_nauc``.
    fit_time_s_ : float
        Wall time of the last :meth:`fit` on the budget's clock (see :meth:`fit`).
    """

    def __init__(self, time_budget: float = 60.0, method: str = "solver", seed: int = 0, config: Any = None,
                 verbose: bool = False, output_dir: Optional[str | os.PathLike] = None,
                 sample_rate: Optional[int] = None) -> None:
        self.time_budget = time_budget
        self.method = method
        self.seed = seed
        self.config = config
        self.verbose = verbose
        self.output_dir = output_dir
        self.sample_rate = sample_rate

    # ------------------------------------------------------- sklearn params
    def set_params(self, **params: Any) -> "AutoDLClassifier":
        """Set constructor parameters; unknown names raise :class:`AutoDLInputError` (a ValueError)."""
        valid = self.get_params(deep=False)
        for name in params:
            if name not in valid:
                raise AutoDLInputError(name, f"unknown parameter; expected one of {sorted(valid)}")
        return super().set_params(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN is a missing value in tables
        tags.non_deterministic = True  # any-time: what trains within time_budget depends on timing
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True  # densified: AutoDL tables are dense tensors
        tags.input_tags.string = True  # strings are text; string columns are categories
        tags.input_tags.categorical = True
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "engine_")

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, X_test: Any = None) -> "AutoDLClassifier":
        """Train the any-time solver for at most ``time_budget`` seconds of wall time.

        The clock starts when ``fit`` is called and covers input conversion,
        building the portfolio, training and the final checks. The one thing
        done off the clock is the **one-time import** of the learners'
        libraries (torch, LightGBM, ...), which happens the first time a
        process fits a given method on a given domain and takes seconds:
        that first ``fit`` can last ``time_budget`` plus the import time,
        later ones ``time_budget`` at most (less when every learner is done
        early). :attr:`fit_time_s_` reports the time on the clock.

        Parameters
        ----------
        X : table, DataFrame, strings, waveforms, images, array, Dataset or path
            A 2-D ``(n, F)`` numeric table; a pandas DataFrame (numeric,
            boolean, datetime, categorical and string columns, missing values:
            encoded as fitted here); a list / Series of strings (text); a list
            of 1-D waveforms (speech, with ``sample_rate``); image file paths,
            PIL images or ``(H, W[, C])`` arrays of any size, or ``(n, H, W[, C])``
            arrays (images, resized to one training size); an ``(n, T, H, W, C)``
            array (video) or a list of 4-D ``(T, R, C, Ch)`` tensors; one of our
            :class:`Dataset` objects (labels from it); or the path of an AutoDL
            dataset (its test set, and ``X.solution`` when present, give the
            learning curve). See :mod:`autodl_solver.data.inputs`.
        y : array-like, optional
            Class labels ``(n,)`` (any hashable values; a single column ``(n, 1)``
            is read as such, 0/1 giving two classes), a 0/1 multi-label matrix
            ``(n, k)`` or DataFrame, or a list of label lists (multi-label).
            Required with inputs; ignored with a Dataset or a path.
        X_test : inputs, Dataset or (X_test, y_test), optional
            Test examples predicted at every new best model; with labels the
            learning curve also gets ``test_nauc``.

        Returns
        -------
        AutoDLClassifier
            ``self``, fitted.

        Raises
        ------
        AutoDLInputError
            Empty ``X``, a length mismatch, NaN in ``y``, a single class, a
            continuous ``y``, a non-positive ``time_budget``, an unknown method
            or config field, and a ``time_budget`` too small for any learner to
            finish one round (``where`` is ``"time_budget"``): ``fit`` never
            returns an estimator that cannot predict.
        """
        from .anytime.callbacks import PredictionWriter, ProgressBar
        from .anytime.clock import check_budget
        from .domains.inference import infer_domain

        tic = time.perf_counter()
        budget = check_budget(self.time_budget, where="time_budget")
        config = _engine_config(self.config)
        train, test, y_test, classes, task, encoder = _training_data(X, y, self.sample_rate)
        if X_test is not None:
            test, y_test = _test_data(X_test, train.metadata, classes, encoder)
        metadata = train.metadata
        recorder = _CurveRecorder(y_test)
        callbacks: list[Any] = [recorder]
        if self.output_dir is not None:
            callbacks.append(PredictionWriter(self.output_dir, task))
        if self.verbose:
            callbacks.append(ProgressBar())
        engine, off_clock = _build_engine(metadata, self.method, config, int(self.seed), callbacks)
        spent = time.perf_counter() - tic - off_clock
        if budget - spent <= 0:
            raise AutoDLInputError("time_budget", f"{budget:g} s is used up before training starts (reading the "
                                                  f"inputs and building the learners took {spent:.2f} s); give a "
                                                  "larger time_budget")
        engine.fit(train, budget - spent, test)
        engine.callbacks = []  # they hold the run's files and bars: not part of the model
        if engine.best_learner is None:
            raise AutoDLInputError("time_budget", f"{budget:g} s was too short for any learner to finish a first "
                                                  f"round on this data (start-up {spent:.2f} s; the engine keeps "
                                                  f"a {config.safety_margin_s:g} s safety margin); give a larger "
                                                  "time_budget (a few seconds for a small table)")
        self.fit_time_s_ = time.perf_counter() - tic - off_clock
        self.engine_ = engine
        self.metadata_ = metadata
        self.inputs_ = encoder
        self.classes_ = classes
        self.n_classes_ = int(metadata.output_dim)
        self.multilabel_ = bool(metadata.multilabel) if metadata.multilabel is not None else bool(
            engine.pool.multilabel if engine.pool is not None else False)
        self.domain_ = infer_domain(metadata)
        _set_feature_attributes(self, encoder)
        points = recorder.points if test is not None else engine.learning_curve
        self.learning_curve_ = [dict(p) for p in points]
        return self

    # -------------------------------------------------------------- predict
    def predict_scores(self, X: Any) -> np.ndarray:
        """The best model's raw class scores ``(n, n_classes_)``, as the engine emits them.

        A single learner's softmax / sigmoid outputs, or an ensemble's
        rank-normalised blend in [0, 1]: only their order matters to NAUC,
        and these are what the AutoDL prediction files hold.
        """
        self._check_fitted()
        xs = _examples_for(X, self.metadata_, self.inputs_)
        return np.asarray(self.engine_.predict(xs), dtype=np.float64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes_)``.

        Single-label tasks: rows sum to 1. Non-negative scores (a learner's
        softmax, one-vs-rest sigmoids, an ensemble's rank blend) are divided
        by their row sum; scores with negative values (margins) go through a
        softmax. Either keeps each row's arg-max, so :meth:`predict` agrees.
        Multi-label tasks: one score in [0, 1] per class (margins through a
        sigmoid), rows need not sum to 1. :meth:`predict_scores` gives the
        raw scores.
        """
        scores = self.predict_scores(X)
        if self.multilabel_:
            return scores if scores.size == 0 or (scores.min() >= 0 and scores.max() <= 1) else _sigmoid(scores)
        return _as_distribution(scores)

    def predict(self, X: Any) -> np.ndarray:
        """Labels: ``classes_[argmax]`` (single-label), or a 0/1 ``(n, k)`` matrix over ``classes_`` (multi-label).

        Multi-label scores in [0, 1] are thresholded at 0.5; scores outside
        that range are taken as margins (threshold 0, a sigmoid's 0.5).
        """
        scores = self.predict_scores(X)
        if self.multilabel_:
            inside = scores.size == 0 or (scores.min() >= 0.0 and scores.max() <= 1.0)
            return (scores >= (0.5 if inside else 0.0)).astype(np.int64)
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)`` (subset accuracy for multi-label), as scikit-learn's.

        :meth:`nauc_score` gives the AutoDL metric.
        """
        from sklearn.metrics import accuracy_score

        predicted = self.predict(X)
        if self.multilabel_:
            truth = (labels_for(y, self.classes_, len(predicted), True) > 0).astype(np.int64)
        else:
            truth = _label_array(y)
        return float(accuracy_score(truth, predicted, sample_weight=sample_weight))

    def nauc_score(self, X: Any, y: Any) -> float:
        """NAUC (``2 * macro AUC - 1``, the AutoDL metric) of :meth:`predict_scores` on ``(X, y)``.

        Classes without both positive and negative examples in ``y`` are
        left out, as the official scorer does.
        """
        from .challenge.scoring import nauc

        scores = self.predict_scores(X)
        labels = labels_for(y, self.classes_, len(scores), self.multilabel_)
        return nauc((labels > 0).astype(np.float64), scores)

    # ---------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to the folder ``path`` (atomically).

        The folder holds ``config.json`` (parameters, metadata, input
        encoding, classes, learning curve) and ``weights.pt`` (``torch.save``
        of the engine's ``state_dict``, only tensors and plain types, so
        :meth:`load` can use ``weights_only=True``). An existing folder is
        replaced only if it is a saved model.
        """
        import io

        import torch

        from .utils.atomic import atomic_dir

        self._check_fitted()
        path = Path(path)
        if path.exists() and not (path.is_dir() and _is_saved_model(path)):
            raise AutoDLInputError(path, "exists and is not a saved AutoDLClassifier; choose a new folder")
        buffer = io.BytesIO()
        torch.save(self.engine_.state_dict(), buffer)
        params = self.get_params()
        params["config"] = _config_to_json(self.config)
        params["output_dir"] = None if self.output_dir is None else os.fspath(self.output_dir)
        document = {
            "format": SAVE_FORMAT, "version": SAVE_VERSION, "params": params,
            "metadata": self.metadata_.to_dict(), "classes": _jsonable(self.classes_.tolist()),
            "classes_dtype": self.classes_.dtype.str if self.classes_.dtype != object else "object",
            "multilabel": self.multilabel_, "domain": self.domain_, "method": self.method,
            "inputs": None if self.inputs_ is None else _jsonable(self.inputs_.to_dict()),
            "learning_curve": _jsonable(self.learning_curve_),
        }
        with atomic_dir(path) as tmp:
            (tmp / "config.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            (tmp / "weights.pt").write_bytes(buffer.getvalue())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "AutoDLClassifier":
        """Rebuild a classifier written by :meth:`save` (weights read with ``weights_only=True``).

        Only the learners of the saved best model (its blend members) are
        built and restored, not the whole portfolio: loading a model whose
        best is the GBDT builds neither the MLP nor the linear model.
        """
        import torch

        from .domains.inference import infer_domain

        path = Path(path)
        if not _is_saved_model(path):
            raise AutoDLInputError(path, "not a saved AutoDLClassifier (expected config.json and weights.pt)")
        document = json.loads((path / "config.json").read_text(encoding="utf-8"))
        if document.get("version") not in _READABLE_VERSIONS:
            raise AutoDLInputError(path / "config.json", f"version {document.get('version')!r}, expected one "
                                                         f"of {_READABLE_VERSIONS}")
        model = cls(**document["params"])
        metadata = Metadata.from_dict(document["metadata"])
        try:
            state = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file: say which
            raise AutoDLInputError(path / "weights.pt", f"cannot be read as saved weights ({exc})") from None
        state = _members_only(state)
        engine = _engine_for_state(metadata, model.method, _engine_config(model.config), int(model.seed), state)
        engine.load_state_dict(state)
        dtype = object if document["classes_dtype"] == "object" else np.dtype(document["classes_dtype"])
        model.engine_ = engine
        model.metadata_ = metadata
        model.inputs_ = None if document.get("inputs") is None else InputEncoder.from_dict(document["inputs"])
        if model.inputs_ is None and document.get("version") == 1:  # version 1 was fitted on arrays
            model.inputs_ = _encoder_for(metadata)
        model.classes_ = np.asarray(document["classes"], dtype=dtype)
        model.n_classes_ = int(metadata.output_dim)
        model.multilabel_ = bool(document["multilabel"])
        model.domain_ = document.get("domain") or infer_domain(metadata)
        model.learning_curve_ = list(document.get("learning_curve") or [])
        _set_feature_attributes(model, model.inputs_)
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "engine_"):
            raise AutoDLNotFittedError("AutoDLClassifier", "This AutoDLClassifier instance is not fitted yet; "
                                                           "call fit() (or load()) first")


# ====================================================================== inputs
def _engine_config(config: Any):
    """``config`` (None, dict, EngineConfig or a YAML path) as an :class:`EngineConfig`."""
    from .anytime.config import EngineConfig

    if config is None:
        return EngineConfig()
    if isinstance(config, EngineConfig):
        return config
    if isinstance(config, dict):
        return EngineConfig().update(config)
    if isinstance(config, (str, os.PathLike)):
        return EngineConfig.from_yaml(config)
    raise AutoDLInputError("config", f"expected a dict, an EngineConfig or a YAML path, got {type(config).__name__}")


def _config_to_json(config: Any) -> Any:
    if config is None or isinstance(config, dict):
        return config
    if isinstance(config, (str, os.PathLike)):
        return _engine_config(config).to_dict()  # the file may move: store its values
    return config.to_dict()


def _is_saved_model(path: Path) -> bool:
    try:
        document = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.get("format") == SAVE_FORMAT and (path / "weights.pt").is_file()


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _build_engine(metadata: Metadata, method: str, config, seed: int, callbacks):
    """``(engine, seconds off the clock)``: the first build per (method, domain) imports the learners' libraries."""
    from .anytime.engine import Engine
    from .domains.inference import infer_domain

    try:
        key = (str(method), infer_domain(metadata))
    except Exception:  # noqa: BLE001 - the engine names the problem
        key = (str(method), "unknown")
    tic = time.perf_counter()
    engine = Engine(metadata, method=method, config=config, seed=seed, callbacks=callbacks)
    off_clock = 0.0
    if key not in _WARM:
        _WARM.add(key)
        off_clock = time.perf_counter() - tic
    return engine, off_clock


def _members_only(state: Any) -> Any:
    """``state`` with only the learners of the best model (the others are never used to predict)."""
    if not isinstance(state, dict) or not isinstance(state.get("learners"), dict) or "members" not in state:
        return state  # load_state_dict names what is missing
    members = {str(name) for name, _ in state["members"]}
    if not members <= set(state["learners"]):
        return state
    refs = state.get("refs") or {}
    return {**state, "learners": {k: v for k, v in state["learners"].items() if k in members},
            "refs": {k: v for k, v in refs.items() if k in members}}


def _engine_for_state(metadata: Metadata, method: str, config, seed: int, state: dict):
    """An engine holding only the learners saved in ``state`` (the whole portfolio when they cannot be matched)."""
    from .anytime.engine import Engine
    from .domains import registry

    names = list(state.get("learners", {})) if isinstance(state, dict) else []
    learners = []
    try:
        if not names or any("#" in n for n in names):
            raise KeyError("duplicate learner names")
        for name in names:
            learners.append(registry.create(name, metadata, registry.load_config(name), seed=seed))
        if [getattr(l, "name", "") or type(l).__name__ for l in learners] != names:
            raise KeyError("learner names differ from their registry names")
    except (KeyError, AutoDLInputError):
        return Engine(metadata, method=method, config=config, seed=seed)
    return Engine(metadata, learners, method=method, config=config, seed=seed)


def _encoder_for(metadata: Metadata) -> InputEncoder:
    """An input encoding for models fitted on a Dataset or a folder (numeric arrays of the training shape)."""
    seq, rows, cols, channels = metadata.tensor_shape
    if seq == 1 and rows == 1 and cols > 0:
        return InputEncoder.from_dict({"kind": "table", "state": {"n_features": int(cols)}})
    if seq == 1 and rows > 1 and cols > 1:
        return InputEncoder.from_dict({"kind": "image", "state": {"height": rows, "width": cols,
                                                                  "channels": channels}})
    if rows == 1 and cols == 1 and not metadata.channel_to_index:
        return InputEncoder.from_dict({"kind": "speech", "sample_rate": metadata.sample_rate,
                                       "state": {"sample_rate": metadata.effective_sample_rate}})
    return InputEncoder.from_dict({"kind": "tensor", "state": {"shape": list(metadata.tensor_shape)}})


def _set_feature_attributes(model: AutoDLClassifier, encoder: Optional[InputEncoder]) -> None:
    for name in ("n_features_in_", "feature_names_in_"):
        model.__dict__.pop(name, None)
    if encoder is None:
        return
    if encoder.n_features_in is not None:
        model.n_features_in_ = int(encoder.n_features_in)
    if encoder.feature_names_in is not None:
        model.feature_names_in_ = encoder.feature_names_in


def _label_array(y: Any) -> np.ndarray:
    from .data.inputs import densify

    y = densify(y, "y")
    y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y


def _training_data(X: Any, y: Any, sample_rate: Optional[int]):
    """``(train, test, y_test, classes, task_name, encoder)`` from any accepted ``X``."""
    if isinstance(X, Dataset):
        if len(X) == 0:
            raise AutoDLInputError("X", "the dataset has no examples")
        if not X.has_labels:
            raise AutoDLInputError("X", "the dataset has no labels (a test set?); expected a training set")
        return X, None, None, np.arange(X.metadata.output_dim), X.metadata.name or "dataset", None
    if isinstance(X, (str, os.PathLike)):
        from .data.reader import load_dataset

        # A few undecodable images should not sink a whole run: both subsets put zero images and
        # warn (naming the record). Test rows so marked get the engine's neutral prediction; a
        # training row keeps its label and just trains as noise (rare, and its label still counts).
        data = load_dataset(X, on_corrupt="skip")
        if len(data.train) == 0:
            raise AutoDLInputError(data.train.subset_dir, "the training set has no examples")
        _restore_sample_rate(data)
        test = data.test if len(data.test) else None
        return data.train, test, data.solution, np.arange(data.metadata.output_dim), data.name, None
    if y is None:
        raise AutoDLInputError("y", "AutoDLClassifier requires y to be passed, but the target y is None "
                                    "(class labels (n,), a 0/1 matrix (n, k) or a list of label lists)")
    _check_not_complex(X)
    encoder = InputEncoder(sample_rate)
    xs, fields = encoder.fit_transform(X, "X")
    from .data.inputs import densify

    y = densify(y, "y")
    if isinstance(y, np.ndarray) and y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                      "to (n_samples,), for example using ravel().", DataConversionWarning, stacklevel=3)
    labels = encode_labels(y, len(xs), "y")
    fields = {"raw_num_channels": 1, **fields}
    metadata = Metadata(output_dim=int(labels.matrix.shape[1]), sample_count=len(xs), multilabel=labels.multilabel,
                        name="arrays", **fields)
    return ArrayDataset(xs, labels.matrix, metadata), None, None, labels.classes, "arrays", encoder


def _restore_sample_rate(data) -> None:
    """The speech sample rate of a folder written by our converters (the metadata format has no field for it)."""
    from .data.metadata import read_extras

    try:
        folder = Path(data.train.subset_dir)
    except AttributeError:
        return
    rate = read_extras(folder).get("sample_rate")
    if rate and data.train.metadata.sample_rate is None:
        for subset in (data.train, data.test):
            subset.metadata.sample_rate = int(rate)
        if getattr(data, "metadata", None) is not None and data.metadata is not data.train.metadata:
            data.metadata.sample_rate = int(rate)


def _check_not_complex(X: Any) -> None:
    if isinstance(X, np.ndarray) and X.dtype.kind == "c":
        raise AutoDLInputError("X", "Complex data not supported")


def _test_data(X_test: Any, metadata: Metadata, classes: np.ndarray, encoder: Optional[InputEncoder]):
    """``(test Dataset, labels or None)`` from ``X_test`` or ``(X_test, y_test)``."""
    y_test = None
    if isinstance(X_test, tuple) and len(X_test) == 2 and _ndim(X_test[0]) != 4:  # (X_test, y_test)
        X_test, y_test = X_test
    multilabel = bool(metadata.multilabel)
    if isinstance(X_test, Dataset):
        labels = X_test.labels() if y_test is None and X_test.has_labels else None
        if y_test is not None:
            labels = labels_for(y_test, classes, len(X_test), multilabel, "y_test")
        return X_test, labels
    xs = _examples_for(X_test, metadata, encoder, where="X_test")
    labels = None if y_test is None else labels_for(y_test, classes, len(xs), multilabel, "y_test")
    return ArrayDataset(xs, None, metadata.replace(sample_count=len(xs))), labels


def _ndim(x: Any) -> Optional[int]:
    """``np.ndim(x)``, or None for a ragged list (waveforms of different lengths: a list of examples)."""
    try:
        return int(np.ndim(x))
    except ValueError:
        return None


def _examples_for(X: Any, metadata: Metadata, encoder: Optional[InputEncoder], where: str = "X") -> list[np.ndarray]:
    """Examples encoded as the training ones, checked against the training metadata."""
    if isinstance(X, Dataset):
        xs, _ = X.take(0, len(X))
        xs = [np.asarray(e, dtype=np.float32) for e in xs]
    else:
        _check_not_complex(X)
        xs = (encoder or _encoder_for(metadata)).transform(X, where)
    want = metadata.tensor_shape
    for i, e in enumerate(xs):
        if e.ndim != 4 or any(w != -1 and g != w for g, w in zip(e.shape, want)):
            raise AutoDLInputError(f"{where}[{i}]", f"shape {e.shape} does not match the training shape {want} "
                                   "(-1: any size)")
    return xs


def _as_distribution(scores: np.ndarray) -> np.ndarray:
    """Rows summing to 1 with the same arg-max: renormalised when non-negative, else a softmax."""
    if scores.size == 0:
        return scores
    if scores.min() >= 0:
        total = scores.sum(axis=1, keepdims=True)
        out = np.divide(scores, total, out=np.full_like(scores, 1.0 / scores.shape[1]), where=total > 0)
        return out
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _sigmoid(scores: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(scores, -500, 500)))
