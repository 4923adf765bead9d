"""Tables -> AutoDL tabular dataset (DENSE ``(1, 1, F, 1)``, one row per example).

Two sources:

* a CSV file with a header, one row per example and a label column
  (:func:`from_csv`);
* the AutoML challenge matrix format (:func:`from_automl`): ``X_train.data``,
  ``X_train.solution``, ``X_valid.*`` (merged into train when both are
  non-empty, as the toolkit's ``format_automl_new.py``), ``X_test.data``,
  ``X_test.solution``, optional ``X_feat.name``, ``X_label.name`` and
  ``X_public.info``/``X_private.info``.

Missing values stay NaN in the features (learners decide how to impute).
"""
from __future__ import annotations

import csv
import math
import os
import re
import warnings
from pathlib import Path
from typing import Optional, Union

import numpy as np

from ...errors import AutoDLInputError
from ..metadata import Metadata
from .common import (ConversionResult, check_label_matrix, check_output, check_test_size, class_ids_to_matrix,
                     default_name, read_label_names, sanitize_name, write)
from .split import DEFAULT_SEED, DEFAULT_TEST_SIZE, first_labels, split_indices

#: Cells read as missing (case-insensitive, after stripping spaces).
MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}
#: In ``onehot`` mode, string columns with more categories than this are ordinal-coded.
MAX_ONEHOT = 32


def _tabular_metadata(output_dim: int, features: list[str], name: str, label_names) -> Metadata:
    meta = Metadata(output_dim=output_dim, sequence_size=1, row_count=1, col_count=len(features),
                    raw_num_channels=1, format="DENSE", name=name,
                    feature_to_index={f: i for i, f in enumerate(features)})
    if label_names:
        meta.label_to_index = {str(n): i for i, n in enumerate(label_names)}
    return meta


def _rows(x: np.ndarray):
    return (row.reshape(1, 1, -1, 1) for row in x)


# ------------------------------------------------------------------ CSV
def _number(cell: str) -> Optional[float]:
    """The float of a cell, ``nan`` for a missing one, ``None`` when it is not a number."""
    text = cell.strip()
    if text.lower() in MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _read_csv(path: Path, delimiter: Optional[str]) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(65536)
            handle.seek(0)
            if delimiter is None:
                try:
                    delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
                except csv.Error:
                    delimiter = ","
            rows = [r for r in csv.reader(handle, delimiter=delimiter) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AutoDLInputError(path, f"cannot be read as CSV: {exc}") from None
    if len(rows) < 2:
        raise AutoDLInputError(path, "expected a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise AutoDLInputError(f"{path}:{line}", f"has {len(row)} fields, the header has {len(header)}")
    return header, rows[1:]


def _label_position(header: list[str], label_column: Union[str, int], path: Path) -> int:
    if isinstance(label_column, str) and label_column in header:
        return header.index(label_column)
    try:
        index = int(label_column)
    except (TypeError, ValueError):
        raise AutoDLInputError(f"{path} (label_column)",
                               f"no column named {label_column!r}; columns: {header}") from None
    if not -len(header) <= index < len(header):
        raise AutoDLInputError(f"{path} (label_column)", f"index {index} out of range for {len(header)} columns")
    return index % len(header)


def _encode_column(name: str, cells: list[str], categorical: str, path: Path):
    """Feature names and an ``(n, k)`` float block for one column."""
    numbers = [_number(c) for c in cells]
    if all(v is not None for v in numbers):
        block = np.asarray(numbers, np.float64)[:, None]
        if np.isinf(block).any():
            raise AutoDLInputError(f"{path} (column {name!r})", "holds an infinite value")
        return [name], block
    values = [c.strip() for c in cells]
    present = [v for v in values if v.lower() not in MISSING]
    categories = sorted(set(present))
    if categorical == "onehot" and len(categories) > MAX_ONEHOT:
        warnings.warn(f"{path}: column {name!r} has {len(categories)} categories (> {MAX_ONEHOT}); ordinal-coded")
        categorical = "ordinal"
    code = {c: i for i, c in enumerate(categories)}
    if categorical == "ordinal":
        block = np.asarray([code.get(v, math.nan) for v in values], np.float64)[:, None]
        return [name], block
    block = np.zeros((len(values), len(categories)))
    for row, v in enumerate(values):
        if v in code:
            block[row, code[v]] = 1.0
        else:
            block[row, :] = math.nan  # missing stays missing in every indicator
    return [f"{name}={c}" for c in categories], block


def _encode_labels(cells: list[str], path: Path, column: str) -> tuple[np.ndarray, list[str]]:
    values = [c.strip() for c in cells]
    for line, v in enumerate(values, start=2):
        if v.lower() in MISSING:
            raise AutoDLInputError(f"{path}:{line} ({column})", "the label is missing")
    numbers = [_number(v) for v in values]
    integers = [int(n) for n in numbers if n is not None and float(n).is_integer()]
    classes: list[int] | list[str]
    keys: list[int] | list[str]
    if len(integers) == len(numbers):  # every label is an integer
        classes = sorted(set(integers))
        keys = integers
    else:
        classes = sorted(set(values))
        keys = values
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index[k] for k in keys]), [str(c) for c in classes]


def from_csv(path: str | os.PathLike, out_dir: str | os.PathLike, name: Optional[str] = None, *,
             label_column: Union[str, int] = -1, categorical: str = "onehot", delimiter: Optional[str] = None,
             test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED,
             overwrite: bool = False) -> ConversionResult:
    """Convert a CSV table (header + one row per example) into an AutoDL tabular dataset.

    Parameters
    ----------
    path : path
        The CSV file; the delimiter (``,``, ``;``, tab or ``|``) is sniffed unless given.
    out_dir : path
        The dataset is written to ``out_dir/name``.
    name : str, optional
        Dataset name (default: the file stem).
    label_column : str or int
        The label column's name or index (default: the last column). Labels
        may be integers (classes sorted numerically) or strings (sorted);
        each becomes a class named by its value.
    categorical : {"onehot", "ordinal"}
        Encoding of non-numeric feature columns: one indicator feature per
        category (sorted; ``col=value``), or the category's sorted rank. In
        ``onehot`` mode columns with more than :data:`MAX_ONEHOT` categories
        are ordinal-coded (with a warning). Missing cells (empty, ``NA``,
        ``NaN``, ``?``, ...) become NaN (all indicators NaN for one-hot).
    delimiter : str, optional
        Field separator.
    test_size, seed : float, int
        Seeded stratified split.
    overwrite : bool
        Replace an existing ``out_dir/name``.

    Returns
    -------
    ConversionResult
    """
    path = Path(path)
    name = name or default_name(path)
    check_output(out_dir, name, overwrite)
    if categorical not in ("onehot", "ordinal"):
        raise AutoDLInputError("categorical", f"got {categorical!r}, expected 'onehot' or 'ordinal'")
    if not path.is_file():
        raise AutoDLInputError(path, "is not a file")
    header, rows = _read_csv(path, delimiter)
    label_pos = _label_position(header, label_column, path)
    columns = list(zip(*rows))
    features, blocks = [], []
    for k, column_name in enumerate(header):
        if k != label_pos:
            names, block = _encode_column(column_name or f"column{k}", list(columns[k]), categorical, path)
            features += names
            blocks.append(block)
    if not blocks:
        raise AutoDLInputError(path, "has no feature column besides the label")
    x = np.concatenate(blocks, axis=1).astype(np.float32)
    ids, label_names = _encode_labels(list(columns[label_pos]), path, header[label_pos])
    if len(label_names) < 2:
        raise AutoDLInputError(f"{path} ({header[label_pos]})", "needs at least 2 distinct labels")
    y = class_ids_to_matrix(ids, header[label_pos], len(label_names))
    train, test = split_indices(len(x), check_test_size(test_size), seed, strata=first_labels(y))
    metadata = _tabular_metadata(len(label_names), features, name, label_names)
    return write(out_dir, name, metadata, zip(_rows(x[train]), y[train]), zip(_rows(x[test]), y[test]),
                 overwrite=overwrite, label_names=label_names, stats={"label_column": header[label_pos]})


# ------------------------------------------------------------------ AutoML format
def read_info(path: Path) -> dict[str, str]:
    """``key = 'value'`` lines of an AutoML ``_public.info`` / ``_private.info`` file."""
    info = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            match = re.match(r"\s*(\w+)\s*=\s*(.*?)\s*;?\s*(%.*)?$", line)
            if match:
                info[match.group(1).lower()] = match.group(2).strip().strip("'\"").rstrip(";").strip("'\"")
    return info


def _read_matrix(path: Path, n_features: Optional[int], binary_sparse: bool) -> np.ndarray:
    """Dense matrix from an AutoML ``.data`` file (dense, ``i:v`` sparse, or sparse binary)."""
    try:
        lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise AutoDLInputError(path, f"cannot be read: {exc}") from None
    while lines and not lines[-1]:
        lines.pop()
    sparse = binary_sparse or any(":" in tok for ln in lines for tok in ln[:1])
    try:
        if not sparse:
            x = np.asarray([[float(t) for t in ln] for ln in lines], np.float64)
            if lines and x.ndim != 2:
                raise ValueError("rows have different lengths")
            return x.reshape(len(lines), -1)
        # 1-based column indices, as load_svmlight_file(zero_based=False) in the AutoML kit.
        entries = [[(int(t.split(":")[0]) - 1, 1.0 if binary_sparse else float(t.split(":")[1])) for t in ln]
                   for ln in lines]
    except (ValueError, IndexError) as exc:
        raise AutoDLInputError(path, f"expected rows of space-separated numbers: {exc}") from None
    width = n_features or 1 + max((c for row in entries for c, _ in row), default=0)
    x = np.zeros((len(entries), width))
    for i, row in enumerate(entries):
        for c, v in row:
            if not 0 <= c < width:
                raise AutoDLInputError(f"{path}:{i + 1}", f"feature index {c + 1} outside 1..{width}")
            x[i, c] = v
    return x


def _solution_to_labels(y: np.ndarray, task: str, where: str, threshold: Optional[float],
                        output_dim: Optional[int]) -> np.ndarray:
    """Dense label matrix from an AutoML solution (matrix, class ids, binary or regression column)."""
    if y.shape[1] > 1:
        return check_label_matrix(y, where)
    col = y[:, 0]
    if "regression" in task and "categorical" not in task:
        # The toolkit thresholds regression targets at the median (of each subset);
        # we use the train median for both subsets so one rule labels them.
        return class_ids_to_matrix((col > threshold).astype(np.int64), where, 2)
    values = set(np.unique(col).tolist())
    if "binary" in task or (len(values) <= 2 and output_dim in (None, 2) and values <= {0.0, 1.0, -1.0}):
        # [1 - y, y] as the toolkit; -1/1 targets and other two-valued codes map to 0/1.
        if values <= {0.0, 1.0}:
            positive = col
        elif values <= {-1.0, 1.0}:
            positive = col > 0
        elif len(values) == 2:
            positive = col == max(values)
        else:
            raise AutoDLInputError(where, f"a binary task needs two target values, got {sorted(values)[:5]}")
        return class_ids_to_matrix(np.asarray(positive, np.int64), where, 2)
    return class_ids_to_matrix(col, where, output_dim)


def from_automl(src: str | os.PathLike, out_dir: str | os.PathLike, name: Optional[str] = None, *,
                overwrite: bool = False) -> ConversionResult:
    """Convert an AutoML-format dataset (``X_train.data`` ...) into an AutoDL tabular dataset.

    Parameters
    ----------
    src : path
        Folder holding ``X_train.data``, ``X_train.solution``, ``X_test.data``,
        ``X_test.solution`` and optionally ``X_valid.*``, ``X_feat.name``,
        ``X_label.name``, ``X_public.info`` (its ``task``, ``format`` and
        ``feat_num`` are read). Solutions may be one-hot / multi-hot
        matrices, class ids, a binary column (becomes ``[1-y, y]``) or a
        regression target (thresholded at the train median).
    out_dir : path
        The dataset is written to ``out_dir/name``.
    name : str, optional
        Dataset name (default: ``X``).
    overwrite : bool
        Replace an existing ``out_dir/name``.

    Returns
    -------
    ConversionResult
    """
    src = Path(src)
    found = sorted(src.glob("*_train.data")) if src.is_dir() else []
    if len(found) != 1:
        raise AutoDLInputError(src, "expected a folder holding exactly one X_train.data (AutoML format)")
    base = found[0].name[: -len("_train.data")]
    name = name or sanitize_name(base)
    check_output(out_dir, name, overwrite)
    info = {**read_info(src / f"{base}_private.info"), **read_info(src / f"{base}_public.info")}
    task = info.get("task", "").lower()
    binary_sparse = info.get("format", "").lower() == "sparse_binary"
    feat_path, label_path = src / f"{base}_feat.name", src / f"{base}_label.name"
    feat_names = [ln.strip() for ln in feat_path.read_text(encoding="utf-8").splitlines() if ln.strip()] \
        if feat_path.is_file() else None
    n_features = (int(info["feat_num"]) if info.get("feat_num", "").isdigit()
                  else (len(feat_names) if feat_names else None))
    label_names = read_label_names(label_path) if label_path.is_file() else None

    def subset(kind: str, required: bool):
        data, sol = src / f"{base}_{kind}.data", src / f"{base}_{kind}.solution"
        if not data.is_file() or (not required and data.stat().st_size == 0):
            if required:
                raise AutoDLInputError(data, "is missing")
            return None
        if not sol.is_file() or sol.stat().st_size == 0:
            if required:
                raise AutoDLInputError(sol, "is missing or empty; the labels are needed")
            warnings.warn(f"{data} has no solution file; it is left out")
            return None
        x = _read_matrix(data, n_features, binary_sparse)
        y = _read_matrix(sol, None, False)
        if len(y) != len(x):
            raise AutoDLInputError(sol, f"has {len(y)} rows but {data.name} has {len(x)}")
        return x, y

    train, valid, test = subset("train", True), subset("valid", False), subset("test", True)
    if valid is not None:
        train = (np.concatenate([train[0], valid[0]]), np.concatenate([train[1], valid[1]]))
    if train[0].shape[1] != test[0].shape[1] or train[1].shape[1] != test[1].shape[1]:
        raise AutoDLInputError(src, f"train and test disagree: features {train[0].shape[1]} vs {test[0].shape[1]}, "
                                    f"solution columns {train[1].shape[1]} vs {test[1].shape[1]}")
    n_features = train[0].shape[1]
    if feat_names is not None and len(feat_names) != n_features:
        raise AutoDLInputError(feat_path, f"lists {len(feat_names)} features, the data has {n_features}")
    output_dim = len(label_names) if label_names else None
    if output_dim is None and train[1].shape[1] == 1 and "multiclass" in task:
        output_dim = int(max(train[1].max(), test[1].max())) + 1
    threshold = float(np.median(train[1][:, 0])) if train[1].shape[1] == 1 else None
    y_train = _solution_to_labels(train[1], task, f"{base}_train.solution", threshold, output_dim)
    y_test = _solution_to_labels(test[1], task, f"{base}_test.solution", threshold, y_train.shape[1])
    if y_test.shape[1] != y_train.shape[1]:
        raise AutoDLInputError(src, f"train labels have {y_train.shape[1]} classes, test labels {y_test.shape[1]}")
    if label_names and len(label_names) != y_train.shape[1]:
        raise AutoDLInputError(label_path, f"lists {len(label_names)} classes, the solutions have {y_train.shape[1]}")
    features = feat_names or [f"feature{i}" for i in range(n_features)]
    metadata = _tabular_metadata(int(y_train.shape[1]), features, name, label_names)
    x_train, x_test = train[0].astype(np.float32), test[0].astype(np.float32)
    return write(out_dir, name, metadata, zip(_rows(x_train), y_train), zip(_rows(x_test), y_test),
                 overwrite=overwrite, label_names=label_names, stats={"task": task or "unknown"})
