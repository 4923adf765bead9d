"""Check a whole AutoDL dataset before anything uses it: one pass, no TensorFlow.

:func:`verify_dataset` reads every record file of both subsets once, in
order, and checks what would otherwise fail (or silently go wrong) deep
inside ingestion or a learner:

* the dataset name (``X`` of ``X.data``) is a plain name: not empty, not
  starting with ``.`` (``..data`` would make hidden ``..predict_<k>`` files),
  no path separator;
* every record's framing: length-field CRC, data CRC, nothing cut short
  (a 0-byte file is reported as such);
* every record parses as a ``SequenceExample`` whose labels fit
  ``output_dim`` and whose data matches the metadata: DENSE value counts,
  ``sequence_size``, sparse indices, and for COMPRESSED data every image
  decodes and has the metadata's ``row_count x col_count`` (``decode_images``);
* the number of records equals each subset's ``sample_count``, the train
  records carry labels, both subsets agree on ``output_dim``;
* ``X.solution`` (beside ``X.data`` or given) has one row per test record
  and ``output_dim`` columns; ``X_label.name`` one name per class.

Each problem names the file and, where there is one, the record number in
that file. ``inspect --verify`` prints them all; ``run`` and ``ingest``
stop at the first (:meth:`VerifyReport.raise_first`) before starting.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from google.protobuf.message import DecodeError

from ..errors import AutoDLInputError
from .decode import RecordError, decode_example, decode_labels
from .protos import SequenceExample
from .tfrecord import _FOOTER, _HEADER, masked_crc32c
from .textproto import METADATA_FILE, read_metadata

__all__ = ["Problem", "VerifyReport", "check_dataset_name", "record_bytes", "verify_dataset", "verify_subset"]

#: Problems reported per record file before the rest are only counted.
MAX_PROBLEMS_PER_FILE = 20


def check_dataset_name(name: str, where: str | os.PathLike) -> str:
    """``name`` (``X`` of ``X.data``) if it is a plain file name, else :class:`AutoDLInputError`.

    A name that is empty, starts with ``.`` or holds a path separator would
    make ingestion write hidden or misplaced prediction files.
    """
    if not name or name.startswith(".") or "/" in name or "\\" in name or os.sep in name \
            or (os.altsep and os.altsep in name):
        raise AutoDLInputError(where, f"dataset name {name!r} is not a plain name: expected X.data with X "
                                      "non-empty, not starting with '.' and without path separators")
    return name


def record_bytes(data_dir: str | os.PathLike) -> int:
    """Total size of the record files of both subsets of ``X.data`` (0 for what is missing)."""
    total = 0
    for subset in ("train", "test"):
        folder = Path(data_dir) / subset
        if folder.is_dir():
            total += sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and p.name != METADATA_FILE)
    return total


def _image_headers(example, metadata) -> None:
    """COMPRESSED without decoding: the step count and each image's size from its header."""
    import io
    import warnings

    from PIL import Image

    from .decode import _check_steps, _list_values

    _, rows, cols, _ = metadata.tensor_shape
    blobs = _list_values(example.feature_lists.feature_list, "0_compressed", "bytes_list")
    _check_steps(len(blobs), metadata, "images (0_compressed values)")
    for t, blob in enumerate(blobs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                width, height = Image.open(io.BytesIO(blob)).size
        except Exception as exc:  # Pillow raises many types for bad bytes
            raise RecordError(f"image {t}: undecodable image bytes ({len(blob)} bytes): "
                              f"{str(exc).split(' <_io.')[0] or type(exc).__name__}") from None
        if rows > 0 and cols > 0 and (height, width) != (rows, cols):
            raise RecordError(f"image {t} is {height}x{width}, expected {rows}x{cols} "
                              "(row_count x col_count) from the metadata")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset: the file, the record number in it (or None), what is wrong."""

    path: Path
    record: Optional[int]
    message: str

    def __str__(self) -> str:
        where = f"record {self.record}: " if self.record is not None else ""
        return f"{self.path}: {where}{self.message}"

    def error(self) -> AutoDLInputError:
        """The problem as the one-line error the CLI prints."""
        where = f"record {self.record}: " if self.record is not None else ""
        return AutoDLInputError(self.path, f"{where}{self.message}")


@dataclass
class VerifyReport:
    """What :func:`verify_dataset` found.

    Attributes
    ----------
    data_dir : Path
        The ``X.data`` folder.
    name : str
        ``X``.
    counts : dict
        Records found per subset (``{"train": n, "test": m}``; a subset that
        could not be read is absent).
    problems : list of Problem
        In the order found (train before test, file by file).
    omitted : int
        Problems counted but not listed (more than
        :data:`MAX_PROBLEMS_PER_FILE` in one file).
    """

    data_dir: Path
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    omitted: int = 0

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    def raise_first(self) -> None:
        """Raise the first problem as an :class:`AutoDLInputError` (nothing when ok)."""
        if self.problems:
            raise self.problems[0].error()


class _Stop(Exception):
    """Raised internally to stop at the first problem."""


class _Collector:
    def __init__(self, report: VerifyReport, first_only: bool) -> None:
        self.report = report
        self.first_only = first_only

    def add(self, path: Path, record: Optional[int], message: str, *, listed: bool = True) -> None:
        if listed:
            self.report.problems.append(Problem(Path(path), record, message))
        else:
            self.report.omitted += 1
        if self.first_only:
            raise _Stop


def _verify_file(path: Path, metadata, decode_images: bool, out: _Collector) -> tuple[int, int]:
    """Check every record of one file; return (records found, records carrying labels)."""
    size = path.stat().st_size
    if size == 0:
        out.add(path, None, "empty file (0 bytes); expected TFRecord records")
        return 0, 0
    count = labelled = problems = 0

    def report(record: Optional[int], message: str) -> None:
        nonlocal problems
        problems += 1
        out.add(path, record, message, listed=problems <= MAX_PROBLEMS_PER_FILE)

    with open(path, "rb") as handle:
        position = 0
        while True:
            header = handle.read(_HEADER.size)
            if not header:
                break
            if len(header) < _HEADER.size:
                report(count, f"at byte {position}: truncated header ({len(header)} of {_HEADER.size} bytes); "
                              "the file is cut short")
                break
            length, length_crc = _HEADER.unpack(header)
            if masked_crc32c(header[:8]) != length_crc:
                report(count, f"at byte {position}: corrupt length field (CRC mismatch); the file is damaged "
                              "or not a TFRecord file (the records after it cannot be found)")
                break
            end = position + _HEADER.size + length + _FOOTER.size
            if end > size:
                report(count, f"at byte {position}: truncated (needs {end} bytes, file has {size}); "
                              "the file is cut short")
                break
            blob = handle.read(length + _FOOTER.size)
            data = blob[:length]
            index = count
            count += 1
            position = end
            if masked_crc32c(data) != _FOOTER.unpack_from(blob, length)[0]:
                report(index, f"corrupt data (CRC mismatch) in bytes {end - length - _FOOTER.size}..{end - 1}")
                continue
            try:
                example = SequenceExample.FromString(data)
            except DecodeError as exc:
                report(index, f"not a serialized SequenceExample ({exc})")
                continue
            try:
                y = decode_labels(example.context, metadata.output_dim)
                labelled += bool(y.any())
                if decode_images or metadata.format != "COMPRESSED":
                    decode_example(example, metadata, "raise")
                else:
                    _image_headers(example, metadata)
            except RecordError as exc:
                report(index, str(exc))
    return count, labelled


def verify_subset(subset_dir: str | os.PathLike, *, decode_images: bool = True,
                  first_only: bool = False, report: Optional[VerifyReport] = None) -> VerifyReport:
    """Check one subset folder (``X.data/train`` or ``X.data/test``); see :func:`verify_dataset`."""
    subset_dir = Path(subset_dir)
    if report is None:
        report = VerifyReport(data_dir=subset_dir.parent, name=subset_dir.parent.name[: -len(".data")])
    out = _Collector(report, first_only)
    try:
        _subset(subset_dir, decode_images, out)
    except _Stop:
        pass
    return report


def _subset(subset_dir: Path, decode_images: bool, out: _Collector):
    from .reader import find_record_files

    subset = subset_dir.name
    if not subset_dir.is_dir():
        out.add(subset_dir.parent, None, f"no '{subset}' subset folder (expected train/ and test/)")
        return None
    try:
        metadata = read_metadata(subset_dir)
        files = find_record_files(subset_dir)
    except AutoDLInputError as exc:
        out.add(Path(exc.where), None, exc.problem)
        return None
    count = labelled = 0
    for path in files:
        n, with_labels = _verify_file(path, metadata, decode_images, out)
        count += n
        labelled += with_labels
    out.report.counts[subset] = count
    meta_file = subset_dir / METADATA_FILE
    if count != metadata.sample_count:
        out.add(meta_file, None, f"sample_count is {metadata.sample_count} but the {subset} records hold "
                                 f"{count} examples")
    if subset == "train" and count and not labelled:
        out.add(subset_dir, None, "no train record carries a label (label_index/label_score empty or 0 in "
                                  "every record); expected the training labels")
    return metadata


def verify_dataset(path: str | os.PathLike, *, decode_images: bool = True, first_only: bool = False,
                   solution: str | os.PathLike | None = None, check_solution: bool = True) -> VerifyReport:
    """Read and check every record of an AutoDL dataset (see the module docstring).

    Parameters
    ----------
    path : path
        A folder holding exactly one ``X.data``, or the ``X.data`` folder.
    decode_images : bool
        Decode every image of COMPRESSED data (the slow part); when False,
        COMPRESSED records are checked for framing, CRC, labels and the
        image sizes in their headers only.
    first_only : bool
        Stop at the first problem (what ``run`` and ``ingest`` need).
    solution : path, optional
        The ``X.solution`` file to check; default the one beside ``X.data``
        when it exists.
    check_solution : bool
        False skips the solution (ingestion does not need it).

    Returns
    -------
    VerifyReport

    Raises
    ------
    AutoDLInputError
        Only when ``path`` is not a dataset at all (missing, no or several
        ``*.data``); everything else is a :class:`Problem` in the report.
    """
    from .reader import _data_dir, _label_names, read_solution

    data_dir = _data_dir(Path(path))
    name = data_dir.name[: -len(".data")]
    check_dataset_name(name, data_dir)
    report = VerifyReport(data_dir=data_dir, name=name)
    out = _Collector(report, first_only)
    try:
        meta = {}
        for subset in ("train", "test"):
            meta[subset] = _subset(data_dir / subset, decode_images, out)
        train, test = meta["train"], meta["test"]
        if train is not None and test is not None and train.output_dim != test.output_dim:
            out.add(data_dir / "test" / METADATA_FILE, None, f"output_dim {test.output_dim} differs from the "
                                                             f"train metadata's {train.output_dim}")
        solution_path = Path(solution) if solution is not None else data_dir.parent / f"{name}.solution"
        if check_solution and test is not None and "test" in report.counts \
                and (solution is not None or solution_path.is_file()):
            try:
                read_solution(solution_path, expected_rows=report.counts["test"], output_dim=test.output_dim)
            except AutoDLInputError as exc:
                out.add(Path(exc.where), None, exc.problem)
        if train is not None:
            try:
                _label_names(data_dir.parent, name, train)
            except AutoDLInputError as exc:
                out.add(Path(exc.where), None, exc.problem)
    except _Stop:
        pass
    return report
