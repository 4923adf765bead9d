"""The files that ingestion and scoring exchange, in the official formats.

* ``<task>.predict_<k>``: one line per test example, each value written with
  ``'{0:g}'.format(float(v))`` (6 significant digits) and joined by single
  spaces, exactly as ``data_io.write`` of the AutoDL ingestion program.
* ``start.txt``: ``ingestion_pid``, ``task_name``, ``time_budget``,
  ``start_time``, then one ``<k>: <epoch seconds>`` line per prediction,
  written *before* the prediction file itself.
* ``end.txt``: ``ingestion_duration``, ``ingestion_success`` (0/1), ``end_time``.
* ``<task>.solution``: the 0/1 test labels, one row per test example.

Every reader raises :class:`~autodl_solver.errors.AutoDLInputError` naming
the file and what was expected; every writer is atomic.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..errors import AutoDLInputError
from ..utils.atomic import atomic_open, atomic_write_text

PathLike = Union[str, os.PathLike]

START_FILE = "start.txt"
END_FILE = "end.txt"
SOLUTION_SUFFIX = ".solution"

__all__ = [
    "START_FILE",
    "END_FILE",
    "prediction_filename",
    "write_prediction",
    "read_prediction",
    "read_solution",
    "find_solution_file",
    "task_name_from_solution",
    "list_predictions",
    "read_start_file",
    "start_timestamps",
    "read_end_file",
    "write_start_file",
    "append_timestamp",
    "write_end_file",
]


# ----------------------------------------------------------------- predictions
def prediction_filename(task: str, k: int) -> str:
    """``'<task>.predict_<k>'``, the official name of the k-th prediction."""
    return f"{task}.predict_{int(k)}"


def write_prediction(path: PathLike, array) -> None:
    """Write a prediction matrix as the official ingestion program does.

    One line per row; each value formatted with ``'{0:g}'`` after ``float()``
    and joined by single spaces; a 1-D array gives one value per line. The
    text goes to a temporary file in the same folder, renamed over ``path``,
    so the scorer never reads half a file. Like the official writer, values
    are not checked (NaN is written as ``nan``; :func:`read_prediction`
    rejects it).

    Parameters
    ----------
    path : str or os.PathLike
        Usually ``<output_dir>/<task>.predict_<k>``.
    array : array-like of shape (n_examples, n_classes) or (n_examples,)
    """
    try:
        values = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AutoDLInputError("prediction", f"expected a numeric matrix ({exc})") from None
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2:
        raise AutoDLInputError("prediction", f"expected 1 or 2 dimensions, got shape {values.shape}")
    # '%g' % float is the same conversion as '{0:g}'.format(float) (both use
    # repr-style 'g' with precision 6), but formats a whole row per call.
    line = " ".join(["%g"] * values.shape[1]) + "\n"
    with atomic_open(path, "w", encoding="ascii") as handle:
        handle.writelines(line % tuple(row) for row in values.tolist())


def _describe_shape(expected_shape: Sequence[int]) -> str:
    return f"{expected_shape[0]} rows of {expected_shape[1]} values"


def _load_matrix(path: Path, kind: str) -> np.ndarray:
    """``np.loadtxt`` with ``ndmin=2`` (a single column stays (n, 1))."""
    if not path.is_file():
        raise AutoDLInputError(path, f"{kind} file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns on an empty file; we raise below
            array = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AutoDLInputError(
            path, f"cannot be parsed as a {kind} matrix (space-separated numbers, one row per line): {exc}"
        ) from None
    if array.size == 0:
        raise AutoDLInputError(path, f"is empty; expected a {kind} matrix with one row per test example")
    return array


def read_prediction(path: PathLike, expected_shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """Read a ``<task>.predict_<k>`` file (``np.loadtxt`` semantics).

    Parameters
    ----------
    path : str or os.PathLike
    expected_shape : (n_examples, n_classes), optional
        When given, a different shape is an error.

    Returns
    -------
    numpy.ndarray of float64, shape (n_examples, n_classes)
        A single-column file gives shape (n, 1).

    Raises
    ------
    AutoDLInputError
        Naming the file: missing, unparsable, empty, NaN or infinite values,
        or not of ``expected_shape``.
    """
    path = Path(path)
    array = _load_matrix(path, "prediction")
    if expected_shape is not None:
        expected = tuple(int(d) for d in expected_shape)
        if array.shape != expected:
            raise AutoDLInputError(
                path, f"has {array.shape[0]} rows of {array.shape[1]} values; expected {_describe_shape(expected)}"
            )
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise AutoDLInputError(path, f"contains {bad} NaN or infinite values; expected finite scores")
    return array


def read_solution(path: PathLike) -> np.ndarray:
    """Read a ``<task>.solution`` file: 0/1 labels, one row per test example.

    Raises
    ------
    AutoDLInputError
        Naming the file when it is missing, unparsable, empty or holds values
        other than 0 and 1.
    """
    path = Path(path)
    array = _load_matrix(path, "solution")
    if not np.all((array == 0) | (array == 1)):
        raise AutoDLInputError(path, "expected 0/1 labels only (one row per test example)")
    return array


def find_solution_file(solution_dir: PathLike) -> Path:
    """The single ``*.solution`` file of ``solution_dir``.

    Raises
    ------
    AutoDLInputError
        Naming the folder when it is missing or holds zero or several.
    """
    solution_dir = Path(solution_dir)
    if not solution_dir.is_dir():
        raise AutoDLInputError(solution_dir, "solution folder not found")
    found = sorted(p for p in solution_dir.glob(f"*{SOLUTION_SUFFIX}") if p.is_file())
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise AutoDLInputError(
            solution_dir, f"expected exactly one '*{SOLUTION_SUFFIX}' file, found {len(found)} ({names})"
        )
    return found[0]


def task_name_from_solution(path: PathLike) -> str:
    """The task name of a solution file: ``name.split('.')[0]`` (official rule)."""
    return Path(path).name.split(".")[0]


def list_predictions(prediction_dir: PathLike, task: str) -> list[tuple[int, Path]]:
    """The ``<task>.predict_<k>`` files of a folder, sorted by integer ``k``.

    Names whose suffix is not an integer (for example temporary files) are
    ignored. A missing folder gives an empty list (ingestion may not have
    created it yet).

    Returns
    -------
    list of (k, pathlib.Path)
    """
    prediction_dir = Path(prediction_dir)
    if not prediction_dir.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(task)}\.predict_(\d+)$")
    found = []
    for entry in os.scandir(prediction_dir):
        match = pattern.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), Path(entry.path)))
    return sorted(found)


# --------------------------------------------------------- start.txt / end.txt
def _parse_value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _read_key_values(path: Path) -> dict:
    """Parse the ``key: value`` lines that ingestion writes (a YAML subset).

    Integer keys (the prediction timestamps) become ``int`` as with
    ``yaml.safe_load``. A last line without its newline may be an append in
    progress: it is ignored when it does not parse.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AutoDLInputError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AutoDLInputError(path, f"cannot be read: {exc}") from None
    lines = text.split("\n")
    info: dict = {}
    for number, line in enumerate(lines, start=1):
        incomplete = number == len(lines)  # text after the last newline
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            if incomplete:
                continue
            raise AutoDLInputError(path, f"line {number}: expected 'key: value', got {line!r}")
        parsed_key = int(key) if key.isdigit() else key
        if isinstance(parsed_key, int) or key in ("start_time", "time_budget", "end_time", "ingestion_duration"):
            try:
                info[parsed_key] = float(value)
            except ValueError:
                if incomplete:
                    continue
                raise AutoDLInputError(path, f"line {number}: {key} must be a number, got {value!r}") from None
        elif key == "task_name":
            info[key] = value
        else:
            info[key] = _parse_value(value)
    return info


def _require_number(info: dict, path: Path, key: str, positive: bool = False) -> float:
    if key not in info:
        raise AutoDLInputError(path, f"has no '{key}: <number>' line")
    value = float(info[key])
    if not math.isfinite(value) or (positive and value <= 0):
        raise AutoDLInputError(path, f"{key} must be a {'positive ' if positive else ''}finite number, got {value!r}")
    return value


def read_start_file(path: PathLike) -> dict:
    """Read ingestion's ``start.txt``.

    Returns
    -------
    dict
        The same mapping as the official ``yaml.safe_load``: ``ingestion_pid``
        (int, or absent), ``task_name`` (str), ``time_budget`` (float),
        ``start_time`` (float, epoch seconds) and one ``k: timestamp`` item
        (int key, float epoch seconds) per prediction written so far.

    Raises
    ------
    AutoDLInputError
        Naming the file when it is missing, malformed, or lacks a finite
        ``start_time`` or a positive ``time_budget``.
    """
    path = Path(path)
    info = _read_key_values(path)
    info["start_time"] = _require_number(info, path, "start_time")
    info["time_budget"] = _require_number(info, path, "time_budget", positive=True)
    if "ingestion_pid" in info and not isinstance(info["ingestion_pid"], int):
        raise AutoDLInputError(path, f"ingestion_pid must be an integer, got {info['ingestion_pid']!r}")
    return info


def start_timestamps(info: dict) -> dict[int, float]:
    """The ``{k: epoch seconds}`` prediction timestamps of a :func:`read_start_file` dict."""
    return {k: float(info[k]) for k in sorted(k for k in info if isinstance(k, int))}


def read_end_file(path: PathLike) -> dict:
    """Read ingestion's ``end.txt``.

    Returns
    -------
    dict
        ``ingestion_duration`` (float), ``ingestion_success`` (int 0/1),
        ``end_time`` (float), as far as present.

    Raises
    ------
    AutoDLInputError
        Naming the file when it is missing or malformed.
    """
    path = Path(path)
    info = _read_key_values(path)
    if "ingestion_success" in info:
        success = info["ingestion_success"]
        if success not in (0, 1):
            raise AutoDLInputError(path, f"ingestion_success must be 0 or 1, got {success!r}")
        info["ingestion_success"] = int(success)
    return info


def write_start_file(
    path: PathLike,
    *,
    ingestion_pid: int,
    task_name: str,
    time_budget: float,
    start_time: float,
) -> None:
    """Write ``start.txt`` in the official layout (atomically)."""
    atomic_write_text(
        path,
        f"ingestion_pid: {int(ingestion_pid)}\n"
        f"task_name: {task_name}\n"
        f"time_budget: {time_budget}\n"
        f"start_time: {float(start_time)}\n",
    )


def append_timestamp(path: PathLike, k: int, timestamp: float) -> None:
    """Add the ``<k>: <timestamp>`` line of prediction ``k`` to ``start.txt``.

    The file is rewritten through a temporary copy, so a reader sees either
    the old or the new content, never a half line.
    """
    path = Path(path)
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AutoDLInputError(path, "start file not found; write_start_file must come first") from None
    if old and not old.endswith("\n"):
        old += "\n"
    atomic_write_text(path, f"{old}{int(k)}: {float(timestamp)}\n")


def write_end_file(path: PathLike, *, ingestion_duration: float, ingestion_success: bool, end_time: float) -> None:
    """Write ``end.txt`` in the official layout (atomically)."""
    atomic_write_text(
        path,
        f"ingestion_duration: {float(ingestion_duration)}\n"
        f"ingestion_success: {int(bool(ingestion_success))}\n"
        f"end_time: {float(end_time)}\n",
    )
