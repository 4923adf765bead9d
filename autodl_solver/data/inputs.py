"""Inputs users have -> AutoDL examples: one conversion shared by the library and the array converter.

:class:`InputEncoder` turns what a user holds into the ``(T, R, C, Ch)`` float32
tensors and :class:`~autodl_solver.data.metadata.Metadata` fields of an AutoDL
dataset, and the domain follows from the official shape rule
(:func:`autodl_solver.domains.inference.infer_domain`). Everything that
depends on the data (column encodings, vocabulary, image size) is fitted on
the training inputs and applied unchanged at predict time.

=========================================  ==========  ==========================================
input                                      kind        stored tensor ``(T, R, C, Ch)``
=========================================  ==========  ==========================================
2-D numeric array ``(n, F)``               ``table``   ``(1, 1, F, 1)``; NaN = missing
pandas DataFrame / 2-D object array        ``frame``   ``(1, 1, F', 1)``: numbers as floats, bool
                                                       0/1, datetimes in seconds, categories and
                                                       strings one-hot (<= 32 values) or ordinal,
                                                       missing values NaN
list / Series / 1-D array of strings       ``text``    ``(T, 1, 1, 1)`` token indices; vocabulary
                                                       from train, unseen tokens -> ``<unk>``
list of 1-D waveforms (+ ``sample_rate``)  ``speech``  ``(T, 1, 1, 1)`` samples, T variable
image paths, PIL images, ``(H, W[, C])``   ``image``   ``(1, H, W, C)``, every image resized to the
arrays (any size), ``(n, H, W[, C])``                  training size (the median size, long side
                                                       capped at :data:`MAX_IMAGE_SIDE`)
``(n, T, R, C, Ch)`` array or list of 4-D  ``tensor``  as given (video: ``(n, T, H, W, C)``)
=========================================  ==========  ==========================================

Labels (:func:`encode_labels`): class labels ``(n,)`` of any hashable type; a
single column ``(n, 1)`` is a column of class labels (0/1 gives **two**
classes, as the AutoDL formatting toolkit does, and as the array converter
does); a 0/1 matrix ``(n, k)`` (``k >= 2``, a DataFrame keeps its column names)
or a list of label lists is multi-label.
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import AutoDLInputError

__all__ = ["InputEncoder", "LabelEncoding", "encode_labels", "labels_for", "label_column", "detect_kind",
           "MAX_ONEHOT", "MAX_IMAGE_SIDE", "UNKNOWN_TOKEN", "IMAGE_SUFFIXES"]

MAX_ONEHOT = 32  # as the CSV converter (converters/tabular.py)
MAX_IMAGE_SIDE = 256
MAX_DENSE_CELLS = 200_000_000  # a sparse table is densified up to this many cells (800 MB of float32)
UNKNOWN_TOKEN = "<unk>"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
KINDS = ("table", "frame", "text", "speech", "image", "tensor")


# ====================================================================== labels
def label_column(y: np.ndarray) -> np.ndarray:
    """A single label column ``(n, 1)`` as ``(n,)`` class labels; anything else unchanged.

    The one rule both :class:`~autodl_solver.api.AutoDLClassifier` and
    :func:`~autodl_solver.data.converters.arrays.from_arrays` follow: a column
    of 0/1 is a binary task with two classes, not a one-class multi-label one.
    """
    y = np.asarray(y)
    return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y


@dataclass
class LabelEncoding:
    """Labels as a float32 multi-hot ``(n, k)`` matrix and the names of its columns."""

    classes: np.ndarray
    matrix: np.ndarray
    multilabel: bool


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or value is getattr(_pandas(), "NA", object())
    except TypeError:
        return False


def _is_label_lists(y: Any) -> bool:
    """A list of label lists (not rows of a 0/1 matrix: equal-length rows of 0/1 are a matrix, as in scikit-learn)."""
    if isinstance(y, np.ndarray) and y.dtype != object:
        return False
    items = list(y) if isinstance(y, (list, tuple)) or _is_series(y) or isinstance(y, np.ndarray) else []
    if not items or not all(isinstance(v, (list, tuple, set, frozenset, np.ndarray)) for v in items):
        return False
    if len({len(v) for v in items}) == 1 and not any(isinstance(v, (set, frozenset)) for v in items):
        values = {x for v in items for x in (v.tolist() if isinstance(v, np.ndarray) else v)
                  if not isinstance(x, (list, tuple, dict, set))}
        if values and values <= {0, 1} and not any(isinstance(x, str) for x in values):
            return False  # a 0/1 indicator matrix written as lists
    return True


def encode_labels(y: Any, n: int, where: str = "y") -> LabelEncoding:
    """Class labels, a single label column, a 0/1 matrix or label lists -> :class:`LabelEncoding`."""
    if y is None:
        raise AutoDLInputError(where, "required (class labels (n,), a 0/1 matrix (n, k) or a list of label lists)")
    y = densify(y, where)
    if _is_label_lists(y):
        lists = [list(v) for v in y]
        if len(lists) != n:
            raise AutoDLInputError(where, f"has {len(lists)} rows but X has {n} examples")
        names = {v for row in lists for v in row}
        if any(_is_missing(v) for v in names):
            raise AutoDLInputError(where, "a label list contains a missing value (None or NaN)")
        try:
            classes = np.asarray(sorted(names), dtype=object if any(isinstance(v, str) for v in names) else None)
        except TypeError as exc:
            raise AutoDLInputError(where, f"labels cannot be sorted ({exc})") from None
        if classes.dtype.kind == "U":
            classes = classes.astype(object)
        index = {v.item() if isinstance(v, np.generic) else v: i for i, v in enumerate(classes.tolist())}
        matrix = np.zeros((n, len(classes)), np.float32)
        for row, labels in enumerate(lists):
            for v in labels:
                matrix[row, index[v.item() if isinstance(v, np.generic) else v]] = 1.0
        return _checked_matrix(classes, matrix, where, multilabel=True)
    columns = None
    if _is_frame(y):
        columns = [c for c in y.columns]
        y = y.to_numpy()
    elif _is_series(y):
        y = y.to_numpy()
    y = label_column(np.asarray(y))
    if y.ndim not in (1, 2):
        raise AutoDLInputError(where, f"expected class labels (n,) or a 0/1 matrix (n, k), got shape {y.shape}")
    if y.shape[0] != n:
        raise AutoDLInputError(where, f"has {y.shape[0]} rows but X has {n} examples")
    if y.dtype.kind in "fc" and np.isnan(y).any():
        raise AutoDLInputError(where, f"contains NaN at row {int(np.argwhere(np.isnan(y))[0][0])}")
    if y.dtype == object and any(_is_missing(v) for v in y.ravel()):
        raise AutoDLInputError(where, "contains missing values (None or NaN)")
    if y.ndim == 1:
        if y.dtype.kind in "fc":
            if not np.isfinite(y).all():
                raise AutoDLInputError(where,
                                       f"contains an infinite value at row {int(np.argwhere(~np.isfinite(y))[0][0])}")
            fractional = np.flatnonzero(y != np.round(y))
            if len(fractional):  # a regression target: refuse it rather than make one class per value
                row = int(fractional[0])
                raise AutoDLInputError(where, f"holds continuous values ({float(y[row].real):g} at row {row}, "
                                              f"{len(fractional)} non-integer values); expected class labels "
                                              "(integers or strings) or a 0/1 multi-hot matrix (n, k): "
                                              "AutoDLClassifier is a classifier")
        try:
            classes, inverse = np.unique(y, return_inverse=True)
        except TypeError as exc:
            raise AutoDLInputError(where, f"labels cannot be sorted ({exc})") from None
        if len(classes) < 2:
            raise AutoDLInputError(where, f"has one class only ({_plain(classes[0])!r}); a classifier needs at "
                                          "least two")
        return LabelEncoding(classes, np.eye(len(classes), dtype=np.float32)[inverse.ravel()], False)
    if y.dtype.kind not in "biuf":
        raise AutoDLInputError(where, f"a multi-hot matrix must be numeric, got dtype {y.dtype}")
    matrix = y.astype(np.float32)
    if not np.isfinite(matrix).all() or matrix.min() < 0 or matrix.max() > 1:
        raise AutoDLInputError(where, "a multi-hot matrix must hold values in [0, 1]")
    classes = np.asarray(columns, dtype=object) if columns is not None else np.arange(matrix.shape[1])
    return _checked_matrix(classes, matrix, where, multilabel=None)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _checked_matrix(classes: np.ndarray, matrix: np.ndarray, where: str, multilabel: Optional[bool]) -> LabelEncoding:
    from .labels import is_multilabel

    positive = matrix > 0
    if matrix.shape[1] < 1 or not (positive.any(axis=0) & ~positive.all(axis=0)).any():
        raise AutoDLInputError(where, "no class has both positive and negative examples (a single class)")
    return LabelEncoding(classes, matrix, bool(is_multilabel(matrix)) if multilabel is None else multilabel)


def labels_for(y: Any, classes: np.ndarray, n: int, multilabel: bool = False, where: str = "y") -> np.ndarray:
    """``y`` (class labels, a 0/1 matrix or label lists) as a multi-hot ``(n, len(classes))`` matrix over
    ``classes``."""
    k = len(classes)
    y = densify(y, where)
    lookup = {c.item() if isinstance(c, np.generic) else c: i for i, c in enumerate(np.asarray(classes).tolist())}
    if _is_label_lists(y):
        rows = [list(v) for v in y]
        if len(rows) != n:
            raise AutoDLInputError(where, f"has {len(rows)} rows, expected {n}")
        labels = np.zeros((n, k), np.float32)
        for row, values in enumerate(rows):
            for v in values:
                v = v.item() if isinstance(v, np.generic) else v
                if v not in lookup:
                    raise AutoDLInputError(where, f"label {v!r} at row {row} was not seen in fit "
                                                  f"(classes_ = {list(lookup)})")
                labels[row, lookup[v]] = 1.0
        return labels
    if _is_frame(y) or _is_series(y):
        y = y.to_numpy()
    y = np.asarray(y)
    if not (y.ndim == 2 and y.shape[1] == k and k > 1):
        y = label_column(y)
    if y.shape[:1] != (n,):
        raise AutoDLInputError(where, f"has {y.shape[0] if y.ndim else 0} rows, expected {n}")
    if y.ndim == 2 and y.shape[1] == k:
        labels = y.astype(np.float32)
        if not np.isfinite(labels).all():
            raise AutoDLInputError(where, "contains NaN or infinite values")
        return labels
    if y.ndim != 1:
        raise AutoDLInputError(where, f"expected class labels (n,) or a multi-hot (n, {k}) matrix, got {y.shape}")
    labels = np.zeros((n, k), np.float32)
    for row, value in enumerate(y.tolist()):
        if value not in lookup:
            raise AutoDLInputError(where, f"label {value!r} at row {row} was not seen in fit "
                                          f"(classes_ = {list(lookup)})")
        labels[row, lookup[value]] = 1.0
    return labels


# ====================================================================== helpers
def _pandas():
    import sys

    return sys.modules.get("pandas")  # never import pandas just to find out that X is not a DataFrame


def _is_frame(x: Any) -> bool:
    pd = _pandas()
    return pd is not None and isinstance(x, pd.DataFrame)


def _is_series(x: Any) -> bool:
    pd = _pandas()
    return pd is not None and isinstance(x, pd.Series)


def _is_pil(x: Any) -> bool:
    import sys

    image = sys.modules.get("PIL.Image")
    return image is not None and isinstance(x, image.Image)


def _is_image_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike)) and Path(x).suffix.lower() in IMAGE_SUFFIXES and Path(x).is_file()


def _is_sparse(x: Any) -> bool:
    import sys

    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def densify(X: Any, where: str = "X") -> Any:
    """A scipy sparse matrix as a dense array (AutoDL tables are dense tensors); anything else unchanged."""
    if _is_sparse(X):
        n, f = X.shape
        if n * f > MAX_DENSE_CELLS:
            raise AutoDLInputError(where, f"a sparse {n} x {f} matrix is too large to densify ({n * f} cells > "
                                          f"{MAX_DENSE_CELLS}); reduce the features first")
        return np.asarray(X.toarray())
    if not isinstance(X, (np.ndarray, list, tuple)) and not _is_frame(X) and not _is_series(X) \
            and hasattr(X, "__array__"):
        return np.asarray(X)  # array-likes that numpy functions refuse (scikit-learn's _NotAnArray)
    return X


def detect_kind(X: Any) -> str:
    """Which row of the module table ``X`` is (an :class:`AutoDLInputError` naming ``X`` when none)."""
    X = densify(X)
    if _is_frame(X):
        return "frame"
    if _is_series(X):
        X = X.to_numpy()
    if isinstance(X, np.ndarray) and X.dtype.kind in "OUS":
        if X.ndim == 1:
            items = list(X)
        elif X.ndim == 2:
            return "frame"
        else:
            raise AutoDLInputError("X", f"a {X.ndim}-D array of {X.dtype}; expected numbers, or a 1-D array of strings")
    elif isinstance(X, (list, tuple)):
        items = list(X)
    else:
        try:
            ndim = np.ndim(X)
        except Exception:  # noqa: BLE001 - an object numpy cannot read
            ndim = -1
        if ndim == 2:
            return "table"
        if ndim in (3, 4):
            return "image"
        if ndim == 5:
            return "tensor"
        if ndim == 1:
            raise AutoDLInputError("X", "Expected 2D array, got 1D array instead. Reshape your data with "
                                        "X.reshape(-1, 1) for a single feature, or pass a list of strings (text) "
                                        "or of 1-D waveforms "
                                        "(speech, with sample_rate=)")
        raise AutoDLInputError("X", f"cannot read a {type(X).__name__} as examples; expected a 2-D (n, F) table, a "
                                    "DataFrame, strings, waveforms, images or an (n, T, H, W, C) array")
    if not items:
        raise AutoDLInputError("X", "no examples (expected at least one)")
    if all(isinstance(v, str) for v in items):
        return "image" if all(_is_image_path(v) for v in items) else "text"
    if all(isinstance(v, os.PathLike) or _is_pil(v) for v in items):
        return "image"
    if all(isinstance(v, (str, os.PathLike)) or _is_pil(v) for v in items):
        return "image"
    dims: set[Optional[int]] = set()
    for v in items:
        if isinstance(v, (list, tuple, np.ndarray)) or hasattr(v, "__array__"):
            dims.add(np.ndim(v))
        else:
            dims.add(None)
    if dims == {1}:
        # equal-length rows of plain numbers are a table, as numpy reads them; 1-D arrays are waveforms
        if len({len(v) for v in items}) == 1 and all(isinstance(v, (list, tuple)) for v in items):
            return "table"
        return "speech"
    if dims <= {2, 3}:
        return "image"
    if dims == {4}:
        return "tensor"
    if dims == {0}:
        raise AutoDLInputError("X", "Expected 2D array, got 1D array instead. Reshape your data with "
                                    "X.reshape(-1, 1) for a single feature")
    raise AutoDLInputError("X", f"a list mixing examples of {sorted(d for d in dims if d is not None)} dimensions "
                                "(or non-arrays); expected strings, image paths, PIL images, 1-D waveforms, "
                                "2-D/3-D images or 4-D (T, R, C, Ch) tensors")


def _float_table(X: Any, where: str) -> np.ndarray:
    X = densify(X, where)
    try:
        array = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise AutoDLInputError(where, f"expected a numeric (n, F) table ({exc}); pass a DataFrame for "
                                      "categorical or string columns") from None
    if array.ndim != 2:
        raise AutoDLInputError(where, f"Expected 2D array, got {array.ndim}D array instead. Reshape your data "
                                      "to (n_samples, n_features)")
    if array.shape[0] == 0:
        raise AutoDLInputError(where, "no examples (expected at least one row)")
    if array.shape[1] == 0:
        raise AutoDLInputError(where, f"0 feature(s) (shape={array.shape}) while a minimum of 1 is required.")
    if np.isinf(array).any():
        raise AutoDLInputError(where, "contains infinity (NaN is read as a missing value, inf is not allowed)")
    return array


# ====================================================================== encoder
class InputEncoder:
    """Fitted conversion of one kind of input into AutoDL examples (see the module table).

    Parameters
    ----------
    sample_rate : int, optional
        The rate of waveform inputs in Hz (16 kHz assumed, with a warning,
        when waveforms come without one).
    """

    def __init__(self, sample_rate: Optional[int] = None) -> None:
        self.sample_rate = sample_rate
        self.kind: Optional[str] = None
        self.state: dict[str, Any] = {}

    # ---------------------------------------------------------------- fit
    def fit_transform(self, X: Any, where: str = "X") -> tuple[list[np.ndarray], dict[str, Any]]:
        """``(examples, metadata fields)`` of the training inputs; the encoding is kept for :meth:`transform`."""
        X = densify(X, where)
        self.kind = detect_kind(X)
        self.state = {}
        return getattr(self, f"_fit_{self.kind}")(X, where)

    def transform(self, X: Any, where: str = "X") -> list[np.ndarray]:
        """Examples of new inputs encoded as the training ones were."""
        if self.kind is None:
            raise AutoDLInputError("InputEncoder", "not fitted")
        X = densify(X, where)
        return getattr(self, f"_apply_{self.kind}")(X, where)

    @property
    def n_features_in(self) -> Optional[int]:
        """Input columns of a table or DataFrame, else None."""
        return self.state.get("n_features")

    @property
    def feature_names_in(self) -> Optional[np.ndarray]:
        names = self.state.get("feature_names")
        return None if names is None else np.asarray(names, dtype=object)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (saved with a model)."""
        return {"kind": self.kind, "sample_rate": self.sample_rate, "state": self.state}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InputEncoder":
        encoder = cls(data.get("sample_rate"))
        encoder.kind, encoder.state = data.get("kind"), dict(data.get("state") or {})
        if encoder.kind is not None and encoder.kind not in KINDS:
            raise AutoDLInputError("inputs", f"unknown input kind {encoder.kind!r}; expected one of {KINDS}")
        return encoder

    # ---------------------------------------------------------------- table
    def _fit_table(self, X: Any, where: str):
        array = _float_table(X, where)
        self.state = {"n_features": int(array.shape[1])}
        return self._apply_table(array, where), {"col_count": int(array.shape[1])}

    def _apply_table(self, X: Any, where: str) -> list[np.ndarray]:
        if _is_frame(X):  # a DataFrame after a fit on an unnamed array: its values, in order
            X = X.to_numpy()
        array = _float_table(X, where)
        want = self.state["n_features"]
        if array.shape[1] != want:
            raise AutoDLInputError(where, f"X has {array.shape[1]} features, but AutoDLClassifier is expecting "
                                          f"{want} features as input")
        return list(array.reshape(array.shape[0], 1, 1, want, 1))

    # ---------------------------------------------------------------- frame
    def _fit_frame(self, X: Any, where: str):
        pd = _require_pandas()
        frame = X if _is_frame(X) else pd.DataFrame(np.asarray(X, dtype=object))
        if frame.shape[0] == 0:
            raise AutoDLInputError(where, "no examples (expected at least one row)")
        if frame.shape[1] == 0:
            raise AutoDLInputError(where, "0 feature(s): the DataFrame has no columns")
        names = list(frame.columns)
        named = _is_frame(X) and all(isinstance(c, str) for c in names)
        columns = []
        for position, name in enumerate(names):
            columns.append(_fit_column(frame.iloc[:, position], str(name), f"{where}[{name!r}]"))
        self.state = {"n_features": len(names), "feature_names": [str(c) for c in names] if named else None,
                      "columns": columns}
        features = [f for c in columns for f in c["features"]]
        xs = self._encode_frame(frame, where)
        return xs, {"col_count": len(features), "feature_to_index": {f: i for i, f in enumerate(features)}}

    def _apply_frame(self, X: Any, where: str) -> list[np.ndarray]:
        pd = _require_pandas()
        names = self.state.get("feature_names")
        if _is_frame(X):
            if names is not None:
                given = [str(c) for c in X.columns]
                missing = [n for n in names if n not in given]
                if missing:
                    unseen = [g for g in given if g not in names]
                    text = "".join(f"- {n}\n" for n in missing[:10])
                    extra = "".join(f"- {n}\n" for n in unseen[:10])
                    raise AutoDLInputError(where, "The feature names should match those that were passed during "
                                                  f"fit.\nFeature names seen at fit time, yet now missing:\n{text}"
                                                  + (f"Feature names unseen at fit time:\n{extra}" if extra else ""))
                if given != names:  # every name is there: reorder (and drop extra columns) by name
                    X = X.loc[:, [X.columns[given.index(n)] for n in names]]
            frame = X
        else:
            frame = pd.DataFrame(np.asarray(X, dtype=object))
            if frame.ndim != 2:
                raise AutoDLInputError(where, "expected a 2-D table")
        if frame.shape[1] != self.state["n_features"]:
            raise AutoDLInputError(where, f"X has {frame.shape[1]} features, but AutoDLClassifier is expecting "
                                          f"{self.state['n_features']} features as input")
        if frame.shape[0] == 0:
            raise AutoDLInputError(where, "no examples (expected at least one row)")
        return self._encode_frame(frame, where)

    def _encode_frame(self, frame, where: str) -> list[np.ndarray]:
        blocks = [_encode_column(frame.iloc[:, i], spec, f"{where}[{spec['name']!r}]")
                  for i, spec in enumerate(self.state["columns"])]
        table = np.concatenate(blocks, axis=1).astype(np.float32)
        return list(table.reshape(table.shape[0], 1, 1, table.shape[1], 1))

    # ---------------------------------------------------------------- text
    def _texts(self, X: Any, where: str) -> list[str]:
        items = list(X.to_numpy() if _is_series(X) else X)
        if not items:
            raise AutoDLInputError(where, "no examples (expected at least one string)")
        for i, v in enumerate(items):
            if not isinstance(v, str):
                raise AutoDLInputError(f"{where}[{i}]", f"is a {type(v).__name__}; expected a string")
        return items

    def _fit_text(self, X: Any, where: str):
        from .converters.text import EMPTY_TOKEN, detect_language, tokenize

        texts = self._texts(X, where)
        language = detect_language(texts)
        vocabulary: dict[str, int] = {}
        for text in texts:
            for token in tokenize(text, language):
                vocabulary.setdefault(token, len(vocabulary))
        specials = []
        for base in (UNKNOWN_TOKEN, EMPTY_TOKEN):
            key = base
            while key in vocabulary:  # never merge a special token with a real one
                key = f"<{key}>"
            vocabulary[key] = len(vocabulary)
            specials.append(key)
        self.state = {"language": language, "vocabulary": vocabulary, "unknown": specials[0], "empty": specials[1]}
        return self._apply_text(texts, where), {"sequence_size": -1, "channel_to_index": vocabulary,
                                                "is_sequence": True}

    def _apply_text(self, X: Any, where: str) -> list[np.ndarray]:
        from .converters.text import tokenize

        vocabulary, language = self.state["vocabulary"], self.state["language"]
        unknown, empty = vocabulary[self.state["unknown"]], vocabulary[self.state["empty"]]
        xs = []
        for text in self._texts(X, where):
            ids = [vocabulary.get(t, unknown) for t in tokenize(text, language)] or [empty]
            xs.append(np.asarray(ids, np.float32).reshape(-1, 1, 1, 1))
        return xs

    # ---------------------------------------------------------------- speech
    def _waves(self, X: Any, where: str) -> list[np.ndarray]:
        xs = []
        for i, wave in enumerate(X):
            try:
                array = np.asarray(wave, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise AutoDLInputError(f"{where}[{i}]", f"not a numeric waveform ({exc})") from None
            if array.ndim != 1:
                raise AutoDLInputError(f"{where}[{i}]",
                                       f"a waveform must be 1-D (mono samples), got shape {array.shape}")
            if array.size == 0:
                raise AutoDLInputError(f"{where}[{i}]", "an empty waveform")
            if not np.isfinite(array).all():
                raise AutoDLInputError(f"{where}[{i}]", "contains NaN or infinite samples")
            xs.append(array.reshape(-1, 1, 1, 1))
        if not xs:
            raise AutoDLInputError(where, "no examples (expected at least one waveform)")
        return xs

    def _fit_speech(self, X: Any, where: str):
        from .metadata import DEFAULT_SAMPLE_RATE

        rate = self.sample_rate
        if rate is None:
            warnings.warn(f"waveforms without sample_rate: {DEFAULT_SAMPLE_RATE} Hz assumed; pass sample_rate=",
                          UserWarning, stacklevel=4)
            rate = DEFAULT_SAMPLE_RATE
        try:
            rate = int(rate)
        except (TypeError, ValueError):
            raise AutoDLInputError("sample_rate", f"expected a rate in Hz, got {self.sample_rate!r}") from None
        if rate < 100:
            raise AutoDLInputError("sample_rate", f"got {rate}, expected a rate in Hz (>= 100)")
        self.state = {"sample_rate": rate}
        return self._waves(X, where), {"sequence_size": -1, "sample_rate": rate, "is_sequence": True}

    def _apply_speech(self, X: Any, where: str) -> list[np.ndarray]:
        if self.sample_rate is not None and int(self.sample_rate) != int(self.state["sample_rate"]):
            raise AutoDLInputError("sample_rate", f"{self.sample_rate} Hz differs from the training rate "
                                                  f"{self.state['sample_rate']} Hz")
        return self._waves(X, where)

    # ---------------------------------------------------------------- image
    def _images(self, X: Any, where: str) -> list[np.ndarray]:
        """Each image as a float32 ``(H, W, C)`` array at its own size."""
        if isinstance(X, np.ndarray) and X.dtype.kind in "biuf" and X.ndim in (3, 4):
            X = X[..., None] if X.ndim == 3 else X
            return [np.asarray(x, dtype=np.float32) for x in X]
        out = []
        for i, item in enumerate(X):
            at = f"{where}[{i}]"
            if isinstance(item, (str, os.PathLike)):
                from PIL import Image, UnidentifiedImageError

                try:
                    with Image.open(item) as image:
                        item = _pil_array(image)
                except (OSError, UnidentifiedImageError) as exc:
                    raise AutoDLInputError(at, f"cannot read the image file {os.fspath(item)!r} ({exc})") from None
            elif _is_pil(item):
                item = _pil_array(item)
            try:
                array = np.asarray(item, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise AutoDLInputError(at, f"not a numeric image ({exc})") from None
            if array.ndim == 2:
                array = array[..., None]
            if array.ndim != 3 or 0 in array.shape:
                raise AutoDLInputError(at, f"expected an (H, W) or (H, W, C) image, got shape {array.shape}")
            out.append(array)
        if not out:
            raise AutoDLInputError(where, "no examples (expected at least one image)")
        for i, array in enumerate(out):
            if not np.isfinite(array).all():
                raise AutoDLInputError(f"{where}[{i}]", "contains NaN or infinite pixel values")
        return out

    def _fit_image(self, X: Any, where: str):
        images = self._images(X, where)
        sizes = np.array([a.shape[:2] for a in images])
        if (sizes == sizes[0]).all():
            height, width = (int(v) for v in sizes[0])
        else:  # the median size, long side capped
            height, width = (int(round(float(v))) for v in np.median(sizes, axis=0))
            scale = min(1.0, MAX_IMAGE_SIDE / max(height, width))
            height, width = max(1, int(round(height * scale))), max(1, int(round(width * scale)))
        channels = sorted({int(a.shape[2]) for a in images})
        if len(channels) == 1:
            n_channels = channels[0]
        else:  # mixed grey / colour / alpha: colour
            n_channels = 3
        self.state = {"height": height, "width": width, "channels": n_channels}
        meta = {"row_count": height, "col_count": width, "raw_num_channels": n_channels,
                "has_locality_row": True, "has_locality_col": True}
        return [self._fit_size(a) for a in images], meta

    def _apply_image(self, X: Any, where: str) -> list[np.ndarray]:
        if isinstance(X, np.ndarray) and X.dtype.kind in "biuf" and X.ndim == 2:
            X = [X]  # a single grey image, not a table
        return [self._fit_size(a) for a in self._images(X, where)]

    def _fit_size(self, image: np.ndarray) -> np.ndarray:
        """``(1, H, W, C)`` at the trained size and channel count."""
        height, width, channels = self.state["height"], self.state["width"], self.state["channels"]
        have = image.shape[2]
        if have != channels:
            if channels == 1:
                image = image[..., :3].mean(axis=2, keepdims=True)
            elif have == 1:
                image = np.repeat(image, channels, axis=2)
            elif have > channels:
                image = image[..., :channels]  # RGBA -> RGB
            else:
                image = np.concatenate([image, np.repeat(image[..., -1:], channels - have, axis=2)], axis=2)
        if image.shape[:2] != (height, width):
            image = _resize(image, height, width)
        return np.ascontiguousarray(image, dtype=np.float32)[None]

    # ---------------------------------------------------------------- tensor
    def _tensors(self, X: Any, where: str) -> list[np.ndarray]:
        if isinstance(X, (list, tuple)):
            try:
                xs = [np.asarray(e, dtype=np.float32) for e in X]
            except (TypeError, ValueError) as exc:
                raise AutoDLInputError(where, f"expected numeric examples ({exc})") from None
        else:
            try:
                array = np.asarray(X, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise AutoDLInputError(where, f"expected a numeric (n, T, R, C, Ch) array ({exc})") from None
            if array.ndim != 5:
                raise AutoDLInputError(where, f"got a {array.ndim}-D array {array.shape}; expected (n, T, R, C, Ch)")
            xs = list(array)
        if not xs:
            raise AutoDLInputError(where, "no examples (expected at least one)")
        for i, e in enumerate(xs):
            if e.ndim != 4:
                raise AutoDLInputError(f"{where}[{i}]", f"expected a 4-D (T, R, C, Ch) array, got shape {e.shape}")
            if 0 in e.shape:
                raise AutoDLInputError(f"{where}[{i}]", f"has an empty axis: shape {e.shape}")
            if np.isinf(e).any():
                raise AutoDLInputError(f"{where}[{i}]", "contains infinite values (NaN is allowed, inf is not)")
        return xs

    def _fit_tensor(self, X: Any, where: str):
        xs = self._tensors(X, where)
        shapes = np.array([e.shape for e in xs])
        dims = [int(shapes[0, a]) if (shapes[:, a] == shapes[0, a]).all() else -1 for a in range(4)]
        if dims[3] == -1:
            raise AutoDLInputError(where, "examples must all have the same number of channels (last axis)")
        self.state = {"shape": dims}
        seq, rows, cols, ch = dims
        return xs, {"sequence_size": seq, "row_count": rows, "col_count": cols, "raw_num_channels": ch,
                    "is_sequence": seq != 1, "has_locality_row": rows != 1 and cols != 1,
                    "has_locality_col": rows != 1 and cols != 1}

    def _apply_tensor(self, X: Any, where: str) -> list[np.ndarray]:
        xs = self._tensors(X, where)
        want = tuple(self.state["shape"])
        for i, e in enumerate(xs):
            if any(w != -1 and g != w for g, w in zip(e.shape, want)):
                raise AutoDLInputError(f"{where}[{i}]", f"shape {e.shape} does not match the training shape {want} "
                                                        "(-1: any size)")
        return xs


# ====================================================================== columns
def _require_pandas():
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in requirements.lock
        raise AutoDLInputError("X", "reading a DataFrame or a 2-D table of strings needs pandas") from None
    return pd


def _fit_column(series, name: str, where: str) -> dict[str, Any]:
    """How one column becomes features: ``numeric``, ``datetime``, ``onehot`` or ``ordinal``."""
    pd = _require_pandas()
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or (pd.api.types.is_numeric_dtype(dtype)
                                             and not isinstance(dtype, pd.CategoricalDtype)):
        return {"name": name, "type": "numeric", "features": [name]}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return {"name": name, "type": "datetime", "features": [name]}
    if not isinstance(dtype, pd.CategoricalDtype):
        numbers = pd.to_numeric(series, errors="coerce")
        present = series.notna()
        if present.any() and numbers[present].notna().all():  # numbers stored as text or objects
            return {"name": name, "type": "numeric", "features": [name]}
    values = sorted({str(v) for v in series[series.notna()].tolist()})
    if len(values) <= MAX_ONEHOT:
        return {"name": name, "type": "onehot", "categories": values,
                "features": [f"{name}={v}" for v in values] or [f"{name}=?"]}
    return {"name": name, "type": "ordinal", "categories": values, "features": [name]}


def _encode_column(series, spec: dict[str, Any], where: str) -> np.ndarray:
    pd = _require_pandas()
    kind = spec["type"]
    if kind == "numeric":
        values = pd.to_numeric(series.astype("float64") if pd.api.types.is_bool_dtype(series.dtype) else series,
                               errors="coerce")
        block = values.to_numpy(dtype=np.float64, na_value=np.nan)[:, None]
        if np.isinf(block).any():
            raise AutoDLInputError(where, "holds an infinite value (NaN is read as missing)")
        bad = series.notna().to_numpy() & np.isnan(block[:, 0])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise AutoDLInputError(where, f"row {row} holds {series.iloc[row]!r}; the column was numeric in fit")
        return block
    if kind == "datetime":
        values = pd.to_datetime(series, errors="coerce")
        block = values.astype("int64").to_numpy(dtype=np.float64) / 1e9
        block[values.isna().to_numpy()] = np.nan
        return block[:, None]
    present = series.notna().to_numpy()
    cells = [str(v) if p else None for v, p in zip(series.tolist(), present)]
    code = {c: i for i, c in enumerate(spec["categories"])}
    if kind == "ordinal":  # unseen and missing values: NaN
        return np.asarray([code.get(c, np.nan) if c is not None else np.nan for c in cells], np.float64)[:, None]
    block = np.zeros((len(cells), max(len(code), 1)))
    for row, cell in enumerate(cells):
        if cell is None:
            block[row, :] = np.nan  # missing stays missing in every indicator, as the CSV converter does
        elif cell in code:
            block[row, code[cell]] = 1.0
        # an unseen category: all indicators 0
    return block


# ====================================================================== images
def _pil_array(image) -> np.ndarray:
    if image.mode in ("L", "RGB"):
        return np.asarray(image)
    if image.mode in ("1", "I;16", "I", "F"):
        return np.asarray(image.convert("F"))
    return np.asarray(image.convert("RGBA" if "A" in image.mode else "RGB"))


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a float ``(H, W, C)`` array, channel by channel (values kept as floats)."""
    from PIL import Image

    planes = [np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c], dtype=np.float32), mode="F")
                         .resize((width, height), Image.Resampling.BILINEAR)) for c in range(image.shape[2])]
    return np.stack(planes, axis=2)


def examples_of(X: Any, where: str = "x") -> list[np.ndarray]:
    """Examples of numeric arrays (the array converter's layouts), as float32 ``(T, R, C, Ch)`` arrays."""
    if isinstance(X, (list, tuple)):
        return InputEncoder()._tensors(X, where)
    try:
        array = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise AutoDLInputError(where, f"expected a numeric array: {exc}") from None
    if array.ndim == 2:
        array = array[:, None, None, :, None]
    elif array.ndim == 3:
        array = array[:, None, :, :, None]
    elif array.ndim == 4:
        array = array[:, None]
    elif array.ndim != 5:
        raise AutoDLInputError(where, f"expected shape (n,F), (n,H,W), (n,H,W,C) or (n,T,R,C,Ch), got {array.shape}")
    return InputEncoder()._tensors(list(array), where)
