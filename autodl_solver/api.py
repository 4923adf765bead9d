"""The library face: :class:`AutoDLClassifier`, a scikit-learn style any-time classifier.

>>> from sklearn.datasets import load_iris
>>> from autodl_solver import AutoDLClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = AutoDLClassifier(time_budget=10).fit(X, y)       # doctest: +SKIP
>>> clf.predict(X[:3]), clf.learning_curve_[-1]["val_score"]  # doctest: +SKIP

It runs the same any-time :class:`~autodl_solver.anytime.engine.Engine` as
the challenge ``model.py``: a portfolio of learners for the inferred domain,
trained in growing increments under ``time_budget`` seconds, each new best
model validated on a small hold-out with the AutoDL metric (NAUC).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .anytime.callbacks import LearningCurveRecorder
from .data.dataset import ArrayDataset, Dataset
from .data.labels import is_multilabel
from .data.metadata import Metadata
from .errors import AutoDLInputError

__all__ = ["AutoDLClassifier"]

#: Marker written in ``config.json`` so that :meth:`AutoDLClassifier.load` recognises its own folders.
SAVE_FORMAT = "autodl_solver.AutoDLClassifier"
SAVE_VERSION = 1
_PARAMS = ("time_budget", "method", "seed", "config", "verbose", "output_dir")


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


class AutoDLClassifier:
    """Any-time AutoDL classifier with the scikit-learn estimator contract.

    The constructor only stores its parameters; :meth:`fit` does the work and
    sets the fitted attributes (names ending in ``_``).

    Parameters
    ----------
    time_budget : float
        Wall-clock seconds :meth:`fit` may use (> 0).
    method : str
        ``"solver"`` (the any-time portfolio) or a baseline registered in
        ``autodl_solver.domains.registry.METHODS``.
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

    Attributes
    ----------
    engine_ : Engine
        The fitted engine.
    metadata_ : Metadata
        Metadata of the training data (given or built from the arrays).
    classes_ : ndarray
        Class labels: the sorted unique values of a 1-D ``y``, else ``0..k-1``.
    n_classes_ : int
        Number of classes (columns of :meth:`predict_proba`).
    multilabel_ : bool
        Whether several classes may be positive at once.
    domain_ : str
        The inferred domain (tabular, image, video, text or speech).
    learning_curve_ : list of dict
        One point per emitted prediction (or per new best model when no
        test set was given): ``elapsed_s``, ``val_score`` (hold-out NAUC),
        ``learner``, ``n_rows`` and, when test labels are known,
        ``test_nauc``.
    """

    def __init__(self, time_budget: float = 60.0, method: str = "solver", seed: int = 0, config: Any = None,
                 verbose: bool = False, output_dir: Optional[str | os.PathLike] = None) -> None:
        self.time_budget = time_budget
        self.method = method
        self.seed = seed
        self.config = config
        self.verbose = verbose
        self.output_dir = output_dir

    # ------------------------------------------------------- sklearn params
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn contract)."""
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params: Any) -> "AutoDLClassifier":
        """Set constructor parameters; unknown names raise :class:`AutoDLInputError`."""
        for name, value in params.items():
            if name not in _PARAMS:
                raise AutoDLInputError(name, f"unknown parameter; expected one of {list(_PARAMS)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != type(self)().get_params()[k]}
        return f"AutoDLClassifier({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, X_test: Any = None) -> "AutoDLClassifier":
        """Train the any-time solver for at most ``time_budget`` seconds.

        Parameters
        ----------
        X : array-like, Dataset or path
            One of: a 2-D ``(n, F)`` table (each row becomes a ``(1, 1, F, 1)``
            tensor); ``(n, H, W)`` or ``(n, H, W, C)`` images (each becomes a
            ``(1, H, W, C)`` tensor); a ``(n, T, R, C, Ch)`` array or a list of 4-D
            ``(T, R, C, Ch)`` arrays (shapes may differ: those dimensions are
            variable, ``-1`` in the metadata); one of our :class:`Dataset`
            objects (labels from it); or the path of an AutoDL dataset (its
            test set, and ``X.solution`` when present, give the learning curve;
            undecodable images are read as zeros with a warning, and such test
            rows get a neutral class-prior prediction).
        y : array-like, optional
            Class labels ``(n,)`` (any hashable values) or a multi-hot
            ``(n, k)`` matrix. Required with arrays; ignored otherwise.
        X_test : array-like, Dataset or (X_test, y_test), optional
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
            non-positive ``time_budget``, an unknown method or config field.
        """
        from .anytime.callbacks import PredictionWriter, ProgressBar
        from .anytime.clock import check_budget
        from .anytime.engine import Engine
        from .domains.inference import infer_domain

        budget = check_budget(self.time_budget, where="time_budget")
        config = _engine_config(self.config)
        train, test, y_test, classes, task = _training_data(X, y)
        if X_test is not None:
            test, y_test = _test_data(X_test, train.metadata, classes)
        metadata = train.metadata
        recorder = _CurveRecorder(y_test)
        callbacks: list[Any] = [recorder]
        if self.output_dir is not None:
            callbacks.append(PredictionWriter(self.output_dir, task))
        if self.verbose:
            callbacks.append(ProgressBar())
        engine = Engine(metadata, method=self.method, config=config, seed=int(self.seed), callbacks=callbacks)
        engine.fit(train, budget, test)
        self.engine_ = engine
        self.metadata_ = metadata
        self.classes_ = classes
        self.n_classes_ = int(metadata.output_dim)
        self.multilabel_ = bool(metadata.multilabel) if metadata.multilabel is not None else bool(
            engine.pool.multilabel if engine.pool is not None else False)
        self.domain_ = infer_domain(metadata)
        points = recorder.points if test is not None else engine.learning_curve
        self.learning_curve_ = [dict(p) for p in points]
        return self

    # -------------------------------------------------------------- predict
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class scores ``(n, n_classes_)`` of the best model.

        Softmax or sigmoid probabilities for a single learner that outputs
        them; an ensemble outputs rank-normalised scores in [0, 1]. Only
        their order matters to NAUC.
        """
        self._check_fitted()
        xs = _examples_for(X, self.metadata_)
        return np.asarray(self.engine_.predict(xs), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Labels: ``classes_[argmax]`` (multi-class), or a 0/1 ``(n, k)`` matrix (multi-label).

        Multi-label scores in [0, 1] are thresholded at 0.5; scores outside
        that range are taken as margins (threshold 0, a sigmoid's 0.5).
        """
        proba = self.predict_proba(X)
        if self.multilabel_:
            inside = proba.size == 0 or (proba.min() >= 0.0 and proba.max() <= 1.0)
            return (proba >= (0.5 if inside else 0.0)).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X: Any, y: Any) -> float:
        """NAUC (``2 * macro AUC - 1``, the AutoDL metric) of :meth:`predict_proba` on ``(X, y)``.

        Classes without both positive and negative examples in ``y`` are
        left out, as the official scorer does.
        """
        from .challenge.scoring import nauc

        proba = self.predict_proba(X)
        labels = _labels_for(y, self.classes_, self.n_classes_, len(proba))
        return nauc((labels > 0).astype(np.float64), proba)

    # ---------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to the folder ``path`` (atomically).

        The folder holds ``config.json`` (parameters, metadata, classes,
        learning curve) and ``weights.pt`` (``torch.save`` of the engine's
        ``state_dict``, only tensors and plain types, so :meth:`load` can use
        ``weights_only=True``). An existing folder is replaced only if it is
        a saved model.
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
            "learning_curve": _jsonable(self.learning_curve_),
        }
        with atomic_dir(path) as tmp:
            (tmp / "config.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            (tmp / "weights.pt").write_bytes(buffer.getvalue())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "AutoDLClassifier":
        """Rebuild a classifier written by :meth:`save` (weights read with ``weights_only=True``)."""
        import torch

        from .anytime.engine import Engine
        from .domains.inference import infer_domain

        path = Path(path)
        if not _is_saved_model(path):
            raise AutoDLInputError(path, "not a saved AutoDLClassifier (expected config.json and weights.pt)")
        document = json.loads((path / "config.json").read_text(encoding="utf-8"))
        if document.get("version") != SAVE_VERSION:
            raise AutoDLInputError(path / "config.json", f"version {document.get('version')!r}, expected {SAVE_VERSION}")
        model = cls(**document["params"])
        metadata = Metadata.from_dict(document["metadata"])
        engine = Engine(metadata, method=model.method, config=_engine_config(model.config), seed=int(model.seed))
        try:
            state = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file: say which
            raise AutoDLInputError(path / "weights.pt", f"cannot be read as saved weights ({exc})") from None
        engine.load_state_dict(state)
        dtype = object if document["classes_dtype"] == "object" else np.dtype(document["classes_dtype"])
        model.engine_ = engine
        model.metadata_ = metadata
        model.classes_ = np.asarray(document["classes"], dtype=dtype)
        model.n_classes_ = int(metadata.output_dim)
        model.multilabel_ = bool(document["multilabel"])
        model.domain_ = document.get("domain") or infer_domain(metadata)
        model.learning_curve_ = list(document.get("learning_curve") or [])
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "engine_"):
            raise AutoDLInputError("AutoDLClassifier", "not fitted yet; call fit() (or load()) first")


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


def _as_examples(X: Any, where: str) -> list[np.ndarray]:
    """Examples as a list of float32 ``(T, R, C, Ch)`` arrays."""
    if isinstance(X, (list, tuple)) and X and all(np.ndim(e) == 4 for e in X):
        try:
            return [np.asarray(e, dtype=np.float32) for e in X]
        except (TypeError, ValueError) as exc:
            raise AutoDLInputError(where, f"expected numeric examples ({exc})") from None
    try:
        array = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise AutoDLInputError(where, f"expected a numeric (n, F) table or (n, T, R, C, Ch) array ({exc})") from None
    if array.ndim == 0 or array.shape[0] == 0:
        raise AutoDLInputError(where, "no examples (expected at least one row)")
    if array.ndim == 2:
        return list(array.reshape(array.shape[0], 1, 1, array.shape[1], 1))
    if array.ndim == 3:  # (n, H, W) grey images, as the array converter reads them
        return list(array[:, None, :, :, None])
    if array.ndim == 4:  # (n, H, W, C) images
        return list(array[:, None])
    if array.ndim == 5:
        return list(array)
    raise AutoDLInputError(where, f"got a {array.ndim}-D array {array.shape}; expected a 2-D (n, F) table, "
                                  "(n, H, W) or (n, H, W, C) images, a 5-D (n, T, R, C, Ch) array or a list of "
                                  "4-D (T, R, C, Ch) arrays")


def _labels_from(y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, multi-hot labels (n, k))`` from class ids or a multi-hot matrix."""
    if y is None:
        raise AutoDLInputError("y", "required when X is an array (class labels (n,) or multi-hot (n, k))")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "iuf" and not np.isin(y, (0, 1)).all():
        y = y.ravel()  # a column vector of class ids
    if y.ndim not in (1, 2):
        raise AutoDLInputError("y", f"expected class labels (n,) or a multi-hot matrix (n, k), got shape {y.shape}")
    if y.shape[0] != n:
        raise AutoDLInputError("y", f"has {y.shape[0]} rows but X has {n} examples")
    if y.dtype.kind in "fc" and np.isnan(y).any():
        raise AutoDLInputError("y", f"contains NaN at row {int(np.argwhere(np.isnan(y))[0][0])}")
    if y.dtype == object and any(v is None or (isinstance(v, float) and np.isnan(v)) for v in y.ravel()):
        raise AutoDLInputError("y", "contains missing values (None or NaN)")
    if y.ndim == 1 and y.dtype.kind in "fc":
        if not np.isfinite(y).all():
            raise AutoDLInputError("y", f"contains an infinite value at row {int(np.argwhere(~np.isfinite(y))[0][0])}")
        fractional = np.flatnonzero(y != np.round(y))
        if len(fractional):  # a regression target: refuse it rather than make one class per value
            row = int(fractional[0])
            raise AutoDLInputError("y", f"holds continuous values ({float(y[row].real):g} at row {row}, {len(fractional)} "
                                        "non-integer values); expected class labels (integers or strings) or a "
                                        "0/1 multi-hot matrix (n, k): AutoDLClassifier is a classifier")
    if y.ndim == 1:
        try:
            classes, index = np.unique(y, return_inverse=True)
        except TypeError as exc:
            raise AutoDLInputError("y", f"labels cannot be sorted ({exc})") from None
        if len(classes) < 2:
            raise AutoDLInputError("y", f"has a single class ({classes[0]!r}); expected at least two")
        return classes, np.eye(len(classes), dtype=np.float32)[index.ravel()]
    if y.dtype.kind not in "biuf":
        raise AutoDLInputError("y", f"a multi-hot matrix must be numeric, got dtype {y.dtype}")
    labels = y.astype(np.float32)
    if not np.isfinite(labels).all() or labels.min() < 0 or labels.max() > 1:
        raise AutoDLInputError("y", "a multi-hot matrix must hold values in [0, 1]")
    positive = labels > 0
    if not (positive.any(axis=0) & ~positive.all(axis=0)).any():
        raise AutoDLInputError("y", "no class has both positive and negative examples (a single class)")
    return np.arange(labels.shape[1]), labels


def _array_metadata(xs: Sequence[np.ndarray], labels: np.ndarray) -> Metadata:
    """Metadata of in-memory examples: fixed dimensions kept, varying ones ``-1``."""
    shapes = np.array([e.shape for e in xs])
    dims = [int(shapes[0, a]) if (shapes[:, a] == shapes[0, a]).all() else -1 for a in range(4)]
    if dims[3] == -1:
        raise AutoDLInputError("X", "examples must all have the same number of channels (last axis)")
    return Metadata(output_dim=int(labels.shape[1]), sample_count=len(xs), sequence_size=dims[0], row_count=dims[1],
                    col_count=dims[2], raw_num_channels=dims[3], multilabel=is_multilabel(labels), name="arrays")


def _training_data(X: Any, y: Any):
    """``(train, test, y_test, classes, task_name)`` from any accepted ``X``."""
    if isinstance(X, Dataset):
        if len(X) == 0:
            raise AutoDLInputError("X", "the dataset has no examples")
        if not X.has_labels:
            raise AutoDLInputError("X", "the dataset has no labels (a test set?); expected a training set")
        return X, None, None, np.arange(X.metadata.output_dim), X.metadata.name or "dataset"
    if isinstance(X, (str, os.PathLike)):
        from .data.reader import load_dataset

        # A few undecodable images should not sink a whole run: both subsets put zero images and
        # warn (naming the record). Test rows so marked get the engine's neutral prediction; a
        # training row keeps its label and just trains as noise (rare, and its label still counts).
        data = load_dataset(X, on_corrupt="skip")
        if len(data.train) == 0:
            raise AutoDLInputError(data.train.subset_dir, "the training set has no examples")
        test = data.test if len(data.test) else None
        return data.train, test, data.solution, np.arange(data.metadata.output_dim), data.name
    xs = _as_examples(X, "X")
    classes, labels = _labels_from(y, len(xs))
    metadata = _array_metadata(xs, labels)
    return ArrayDataset(xs, labels, metadata), None, None, classes, "arrays"


def _test_data(X_test: Any, metadata: Metadata, classes: np.ndarray):
    """``(test Dataset, labels or None)`` from ``X_test`` or ``(X_test, y_test)``."""
    y_test = None
    if isinstance(X_test, tuple) and len(X_test) == 2 and np.ndim(X_test[0]) != 4:  # (X_test, y_test)
        X_test, y_test = X_test
    if isinstance(X_test, Dataset):
        labels = X_test.labels() if y_test is None and X_test.has_labels else None
        if y_test is not None:
            labels = _labels_for(y_test, classes, metadata.output_dim, len(X_test))
        return X_test, labels
    xs = _examples_for(X_test, metadata, where="X_test")
    labels = None if y_test is None else _labels_for(y_test, classes, metadata.output_dim, len(xs))
    return ArrayDataset(xs, None, metadata.replace(sample_count=len(xs))), labels


def _examples_for(X: Any, metadata: Metadata, where: str = "X") -> list[np.ndarray]:
    """Examples checked against the training metadata."""
    if isinstance(X, Dataset):
        xs, _ = X.take(0, len(X))
        xs = [np.asarray(e, dtype=np.float32) for e in xs]
    else:
        xs = _as_examples(X, where)
    want = metadata.tensor_shape
    for i, e in enumerate(xs):
        if e.ndim != 4 or any(w != -1 and g != w for g, w in zip(e.shape, want)):
            raise AutoDLInputError(f"{where}[{i}]", f"shape {e.shape} does not match the training shape {want} "
                                   "(-1: any size)")
    return xs


def _labels_for(y: Any, classes: np.ndarray, k: int, n: int) -> np.ndarray:
    """``y`` (class labels or multi-hot) as a multi-hot ``(n, k)`` matrix over ``classes``."""
    y = np.asarray(y)
    if y.shape[:1] != (n,):
        raise AutoDLInputError("y", f"has {y.shape[0] if y.ndim else 0} rows, expected {n}")
    if y.ndim == 2 and y.shape[1] == k:
        labels = y.astype(np.float32)
        if not np.isfinite(labels).all():
            raise AutoDLInputError("y", "contains NaN or infinite values")
        return labels
    if y.ndim != 1:
        raise AutoDLInputError("y", f"expected class labels (n,) or a multi-hot (n, {k}) matrix, got {y.shape}")
    lookup = {c.item() if isinstance(c, np.generic) else c: i for i, c in enumerate(classes.tolist())}
    labels = np.zeros((n, k), np.float32)
    for row, value in enumerate(y.tolist()):
        if value not in lookup:
            raise AutoDLInputError("y", f"label {value!r} at row {row} was not seen in fit (classes_ = {classes.tolist()})")
        labels[row, lookup[value]] = 1.0
    return labels
