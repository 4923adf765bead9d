"""Pieces every converter shares: labelled file lists, label vectors, results.

A raw source is a folder of files with labels given one of two ways, as in the
official formatting toolkit (``autodl-contrib``, docs/protocol.md §5):

* a ``*labels*.csv`` file with a ``FileName`` column and either ``Labels``
  (space-separated class indices) or ``LabelConfidencePairs`` (``"2 0.9 7
  0.1"``), plus an optional ``subset`` column (``train``/``test``); class
  names may come from a ``label.name`` file (one per line);
* or, when there is no such file, one sub-folder per class (the folder name is
  the class name, classes sorted by name).

Everything the user can get wrong here (a missing file, a label out of range,
an empty folder, an existing output) raises
:class:`~autodl_solver.errors.AutoDLInputError` *before* anything is written.
"""
from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

import numpy as np

from ...errors import AutoDLInputError
from ..metadata import Metadata
from .split import first_labels, split_indices

#: Names accepted for a dataset: they become ``<name>.data`` and ``<name>.solution``,
#: and the official scorer cuts the task name at the first dot, so no dots.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass
class LabeledItem:
    """One raw example: where it is, its labels, and its subset if fixed.

    Attributes
    ----------
    path : Path
        The file (or folder, for a clip stored as frames).
    label_index : list of int
        Positive classes.
    label_score : list of float
        Confidence of each positive class (1.0 unless given).
    subset : {"train", "test"} or None
        Fixed by a ``subset`` column; ``None`` means "split for me".
    source : str
        Where the item was declared (``labels.csv line 7``) for error messages.
    """

    path: Path
    label_index: list[int]
    label_score: list[float]
    subset: Optional[str] = None
    source: str = ""


@dataclass
class LabeledFiles:
    """A labelled file list plus what it says about the classes."""

    items: list[LabeledItem]
    output_dim: int
    label_names: Optional[list[str]] = None


@dataclass
class ConversionResult:
    """What a converter wrote.

    Attributes
    ----------
    path : Path
        The dataset folder (``OUT/<name>``) holding ``<name>.data`` and ``<name>.solution``.
    metadata : Metadata
        Train metadata as written (``sample_count`` = number of train examples).
    num_train, num_test : int
        Examples written to each subset.
    stats : dict
        Converter-specific facts (for example text files that needed an
        encoding fallback, or the detected language).
    """

    path: Path
    metadata: Metadata
    num_train: int
    num_test: int
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Dataset name (``X`` of ``X.data``)."""
        return self.path.name

    @property
    def domain(self) -> str:
        """Domain inferred from the metadata with the official rule."""
        from ...domains.inference import infer_domain

        return infer_domain(self.metadata)

    def summary(self) -> str:
        """One line: name, domain, shape, counts, classes, location."""
        shape = "x".join(str(d) for d in self.metadata.tensor_shape)
        return (f"{self.name}: domain={self.domain} shape={shape} format={self.metadata.format} "
                f"train={self.num_train} test={self.num_test} classes={self.metadata.output_dim} "
                f"-> {self.path}")


# ------------------------------------------------------------------ output
def check_name(name: str) -> str:
    """Return ``name`` if it can name a dataset, else raise."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise AutoDLInputError("name", f"got {name!r}, expected letters, digits, '_' or '-' "
                                       "(no dots or slashes), starting with a letter or digit")
    return name


def sanitize_name(text: str) -> str:
    """``text`` with every run of characters a name cannot hold replaced by ``_``."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", str(text)).strip("_-")
    return cleaned or "dataset"


def default_name(src: str | os.PathLike) -> str:
    """A dataset name from a source path: a folder's name or a file's stem, sanitised."""
    path = Path(src).resolve()
    return sanitize_name(path.name if path.is_dir() else path.stem)


def check_output(out_dir: str | os.PathLike, name: str, overwrite: bool) -> Path:
    """Fail early when ``out_dir/name`` exists and ``overwrite`` is false."""
    check_name(name)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise AutoDLInputError(out_dir, "output path exists and is not a folder")
    target = out_dir / name
    if target.exists() and not overwrite:
        raise AutoDLInputError(target, "already exists; pass overwrite=True (--overwrite) to replace it")
    return target


def check_test_size(test_size: float) -> float:
    """``test_size`` must be a fraction strictly between 0 and 1."""
    try:
        value = float(test_size)
    except (TypeError, ValueError):
        raise AutoDLInputError("test_size", f"got {test_size!r}, expected a number in (0, 1)") from None
    if not 0.0 < value < 1.0:
        raise AutoDLInputError("test_size", f"got {value}, expected a number in (0, 1)")
    return value


def write(out_dir: str | os.PathLike, name: str, metadata: Metadata,
          train: Iterable[tuple[Any, np.ndarray]], test: Iterable[tuple[Any, np.ndarray]], *,
          overwrite: bool, label_names: Optional[Sequence[str]] = None,
          stats: Optional[dict[str, Any]] = None) -> ConversionResult:
    """Stream ``train``/``test`` into the dataset writer and count what went in.

    The writer builds the dataset in a temporary folder renamed on success,
    so an error raised while the iterables are consumed (an unreadable file)
    leaves nothing behind.
    """
    from ..writer import write_dataset

    counts = {"train": 0, "test": 0}

    def counted(pairs: Iterable, subset: str) -> Iterator:
        for pair in pairs:
            counts[subset] += 1
            yield pair

    path = write_dataset(out_dir, name, metadata, counted(train, "train"), counted(test, "test"),
                         overwrite=overwrite, label_names=list(label_names) if label_names else None)
    written = metadata.replace(sample_count=counts["train"], name=name)
    if label_names and not written.label_to_index:
        written = written.replace(label_to_index={str(n): i for i, n in enumerate(label_names)})
    return ConversionResult(Path(path), written, counts["train"], counts["test"], dict(stats or {}))


# ------------------------------------------------------------------ labels
def label_vector(index: Sequence[int], score: Sequence[float], output_dim: int) -> np.ndarray:
    """Dense ``(output_dim,)`` float32 label vector from positive indices and scores."""
    y = np.zeros(output_dim, np.float32)
    for i, s in zip(index, score):
        y[int(i)] = float(s)
    return y


def class_ids_to_matrix(ids: np.ndarray, where: str, output_dim: Optional[int] = None) -> np.ndarray:
    """One-hot ``(n, output_dim)`` matrix from integer class ids, validated."""
    ids = np.asarray(ids)
    if ids.size and not np.all(np.isfinite(ids.astype(np.float64))):
        raise AutoDLInputError(where, "class ids must be finite")
    if ids.size and not np.all(np.equal(np.mod(ids, 1), 0)):
        raise AutoDLInputError(where, "expected integer class ids (or a 2-D multi-hot matrix)")
    ids = ids.astype(np.int64)
    if ids.size and ids.min() < 0:
        raise AutoDLInputError(where, f"class id {int(ids.min())} is negative")
    k = int(ids.max()) + 1 if ids.size else 1
    if output_dim is None:
        output_dim = max(k, 1)
    elif k > output_dim:
        raise AutoDLInputError(where, f"class id {k - 1} is out of range for {output_dim} classes")
    y = np.zeros((len(ids), output_dim), np.float32)
    y[np.arange(len(ids)), ids] = 1.0
    return y


def check_label_matrix(y: np.ndarray, where: str) -> np.ndarray:
    """A 2-D multi-hot / confidence matrix: finite values in [0, 1]."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 2 or y.shape[1] < 1:
        raise AutoDLInputError(where, f"expected a (n, classes) label matrix, got shape {y.shape}")
    if not np.all(np.isfinite(y)) or (y.size and (y.min() < 0 or y.max() > 1)):
        raise AutoDLInputError(where, "label values must be finite and within [0, 1]")
    return y


def read_label_names(path: Path) -> list[str]:
    """Class names, one per non-empty line (``label.name`` / ``X_label.name``)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AutoDLInputError(path, f"cannot read class names: {exc}") from None
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names or any(not n for n in names):
        raise AutoDLInputError(path, "expected one non-empty class name per line")
    if len(set(names)) != len(names):
        raise AutoDLInputError(path, "class names must be distinct")
    return names


def find_labels_csv(src: Path) -> Optional[Path]:
    """The single ``*labels*.csv`` in ``src`` (the toolkit's glob), or ``None``."""
    found = sorted(p for p in src.glob("*labels*.csv") if p.is_file())
    if len(found) > 1:
        raise AutoDLInputError(src, f"ambiguous label files {[p.name for p in found]}; keep exactly one *labels*.csv")
    return found[0] if found else None


def _parse_labels_cell(cell: str, pairs: bool, where: str) -> tuple[list[int], list[float]]:
    tokens = (cell or "").split()
    try:
        if pairs:
            if len(tokens) % 2:
                raise ValueError("odd number of values")
            index = [int(t) for t in tokens[0::2]]
            score = [float(t) for t in tokens[1::2]]
        else:
            index = [int(float(t)) if float(t).is_integer() else int(t) for t in tokens]
            score = [1.0] * len(index)
    except ValueError:
        kind = "'label confidence' pairs" if pairs else "space-separated integer class ids"
        raise AutoDLInputError(where, f"got {cell!r}, expected {kind}") from None
    for i, s in zip(index, score):
        if i < 0:
            raise AutoDLInputError(where, f"class id {i} is negative")
        if not (math.isfinite(s) and 0.0 <= s <= 1.0):
            raise AutoDLInputError(where, f"confidence {s} is not within [0, 1]")
    return index, score


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` stays inside ``root``, both as written and with links resolved."""
    if Path(os.path.normpath(path)).is_relative_to(Path(os.path.normpath(root))) is False:
        return False
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def read_labels_csv(csv_path: Path, output_dim: Optional[int] = None,
                    label_names: Optional[list[str]] = None) -> LabeledFiles:
    """Parse a toolkit ``labels.csv``; every named file must exist beside it.

    A ``FileName`` must stay inside the folder of the CSV (after ``..`` and
    links are resolved): ``../../SECRET.txt`` or ``/etc/passwd`` is an
    error naming the CSV and its line, so nothing from outside the source
    folder is ever embedded in a dataset.

    ``output_dim`` is, in order: the given value, the number of names in
    ``label_names``, else the largest class id + 1 (the toolkit's "distinct
    labels seen" would misnumber classes that never occur).
    """
    root = csv_path.parent
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = list(rows[0].keys()) if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AutoDLInputError(csv_path, f"cannot read labels: {exc}") from None
    if not rows:
        raise AutoDLInputError(csv_path, "has no rows; expected a header 'FileName,Labels' and one row per file")
    header = [h.strip() if h else h for h in header]
    if "FileName" not in header:
        raise AutoDLInputError(csv_path, f"no 'FileName' column (columns: {header})")
    pairs = "LabelConfidencePairs" in header
    if not pairs and "Labels" not in header:
        raise AutoDLInputError(csv_path, f"no 'Labels' or 'LabelConfidencePairs' column (columns: {header})")
    column = "LabelConfidencePairs" if pairs else "Labels"
    if label_names is not None and output_dim is None:
        output_dim = len(label_names)
    items = []
    for line, row in enumerate(rows, start=2):
        row = {(k.strip() if k else k): v for k, v in row.items()}
        where = f"{csv_path}:{line}"
        filename = (row.get("FileName") or "").strip()
        if not filename:
            raise AutoDLInputError(where, "empty FileName")
        path = root / filename
        if not _inside(path, root):
            raise AutoDLInputError(where, f"FileName {filename!r} points outside the source folder {root}; "
                                          "expected a path inside it (no '..', no absolute path, no link out)")
        if not path.exists():
            raise AutoDLInputError(where, f"FileName {filename!r} does not exist in {root}")
        index, score = _parse_labels_cell(row.get(column) or "", pairs, f"{where} ({column})")
        subset = None
        if "subset" in row and (row["subset"] or "").strip():
            subset = row["subset"].strip().lower()
            if subset not in ("train", "test"):
                raise AutoDLInputError(f"{where} (subset)", f"got {row['subset']!r}, expected 'train' or 'test'")
        items.append(LabeledItem(path, index, score, subset, where))
    top = max((max(it.label_index) for it in items if it.label_index), default=-1)
    if output_dim is None:
        output_dim = max(top + 1, 1)
    for it in items:
        for i in it.label_index:
            if i >= output_dim:
                raise AutoDLInputError(f"{it.source} ({column})",
                                       f"class id {i} is out of range for {output_dim} classes")
    return LabeledFiles(items, int(output_dim), label_names)


def natural_key(path: Path) -> list:
    """Sort key where ``frame10`` comes after ``frame9``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def scan_class_folders(src: Path, accept) -> LabeledFiles:
    """One sub-folder per class; ``accept(path)`` says which entries are examples."""
    classes = sorted(p for p in src.iterdir() if p.is_dir() and _visible(p))
    items: list[LabeledItem] = []
    names: list[str] = []
    for folder in classes:
        members = sorted((p for p in folder.iterdir() if _visible(p) and accept(p)), key=natural_key)
        if not members:
            continue
        index = len(names)
        names.append(folder.name)
        items.extend(LabeledItem(p, [index], [1.0], None, str(p)) for p in members)
    return LabeledFiles(items, max(len(names), 1), names)


def collect_labeled_files(src: str | os.PathLike, accept, what: str,
                          output_dim: Optional[int] = None, accept_listed=None) -> LabeledFiles:
    """Labelled examples of a raw folder: ``*labels*.csv`` if present, else class sub-folders.

    Parameters
    ----------
    src : path
        The raw folder.
    accept : callable
        ``accept(path) -> bool`` for entries of a class folder that are examples.
    what : str
        What an example is, for error messages ("image files").
    output_dim : int, optional
        Number of classes when the labels do not say it.
    accept_listed : callable, optional
        The check for files named by ``labels.csv`` (default: ``accept``);
        looser than ``accept`` where a listed file need not have a known suffix.
    """
    src = Path(src)
    if not src.is_dir():
        raise AutoDLInputError(src, "is not a folder")
    names = None
    for candidate in (src / "label.name", *sorted(src.glob("*_label.name"))):
        if candidate.is_file():
            names = read_label_names(candidate)
            if output_dim is not None and output_dim != len(names):
                raise AutoDLInputError(candidate, f"lists {len(names)} classes but output_dim is {output_dim}")
            break
    csv_path = find_labels_csv(src)
    if csv_path is not None:
        found = read_labels_csv(csv_path, output_dim, names)
        bad = [it for it in found.items if not (accept_listed or accept)(it.path)]
        if bad:
            raise AutoDLInputError(bad[0].source, f"{bad[0].path.name!r} is not one of the expected {what}")
    else:
        found = scan_class_folders(src, accept)
        if len(found.label_names or []) < 1:
            raise AutoDLInputError(src, f"no *labels*.csv (FileName,Labels) and no class sub-folders holding {what}")
    if not found.items:
        raise AutoDLInputError(src, f"holds no {what}")
    return found


def split_items(items: Sequence[LabeledItem], output_dim: int, test_size: float,
                seed: int, where: str) -> tuple[list[LabeledItem], list[LabeledItem]]:
    """Train and test items: the ``subset`` column when every row has one, else a seeded split."""
    fixed = [it.subset for it in items]
    if all(s is not None for s in fixed):
        train = [it for it in items if it.subset == "train"]
        test = [it for it in items if it.subset == "test"]
    else:
        if any(s is not None for s in fixed):
            raise AutoDLInputError(where, "the 'subset' column is filled for some rows only; fill it for all or none")
        labels = np.stack([label_vector(it.label_index, it.label_score, output_dim) for it in items])
        train_idx, test_idx = split_indices(len(items), check_test_size(test_size), seed,
                                            strata=first_labels(labels))
        train = [items[i] for i in train_idx]
        test = [items[i] for i in test_idx]
    if not train or not test:
        raise AutoDLInputError(where, f"got {len(train)} train and {len(test)} test examples; both must be non-empty")
    return train, test
