"""Metadata of an AutoDL dataset subset (train or test).

:class:`Metadata` holds the fields of the official ``DataSpecification``
protobuf (``metadata.textproto``) with the official defaults, plus two facts
the official format leaves implicit: the speech sample rate and whether the
task is multi-label. It also answers the official ``AutoDLMetadata`` methods
(``get_output_size()``, ``get_tensor_shape()``, ``size()`` …) so a
``model.py`` written for the official ingestion program works with it.

Variable dimensions are ``-1`` in :attr:`Metadata.tensor_shape`, exactly as
``AutoDLMetadata.get_tensor_shape()`` returns them; :attr:`Metadata.shape`
gives the same tuple with ``None`` for variable dimensions.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Optional

FORMATS = ("DENSE", "SPARSE", "COMPRESSED")
DEFAULT_SAMPLE_RATE = 16000
#: A comment line of ``metadata.textproto`` holding, as JSON, the facts the official format has no
#: field for (the speech sample rate). Text-format parsers, the official TensorFlow reader's
#: included, skip comments, so the file stays an official ``DataSpecification``.
EXTRAS_PREFIX = "# autodl_solver extras: "
EXTRA_FIELDS = ("sample_rate",)


@dataclass
class Metadata:
    """What a learner may know about a dataset before reading it.

    Parameters
    ----------
    output_dim : int
        Number of classes (columns of the label matrix).
    sample_count : int
        Number of examples in this subset.
    sequence_size, row_count, col_count : int
        The time, row and column axes; ``-1`` means variable.
    raw_num_channels : int
        ``num_channels`` as written in the metadata file (``-1`` when absent);
        :attr:`num_channels` applies the official default (3 if COMPRESSED else 1).
    format : {"DENSE", "SPARSE", "COMPRESSED"}
        Record encoding of bundle 0.
    label_to_index, channel_to_index, feature_to_index : dict
        The official maps; ``channel_to_index`` is the text vocabulary.
    is_sequence, is_sequence_col, is_sequence_row, has_locality_col, has_locality_row : bool
        Informational flags of the official format.
    sample_rate : int, optional
        Speech sample rate in Hz; ``None`` means unknown (16 kHz is assumed).
        Our writer records it in a comment line of ``metadata.textproto``
        (:data:`EXTRAS_PREFIX`, :func:`read_extras`), which official readers skip.
    multilabel : bool, optional
        Whether rows may have several positive labels; ``None`` until decided
        from the labels (see :func:`autodl_solver.data.labels.is_multilabel`).
    name : str
        Dataset name (``X`` for ``X.data``) or the subset path.
    subset_dir : str, optional
        The folder this subset was read from (``.../X.data/train``), where
        known; :meth:`get_dataset_name` then returns it, as the official
        ``AutoDLMetadata`` does. Not compared: the same data read from two
        places has equal metadata.
    """

    output_dim: int
    sample_count: int = 0
    sequence_size: int = 1
    row_count: int = 1
    col_count: int = 1
    raw_num_channels: int = -1
    format: str = "DENSE"
    label_to_index: dict[str, int] = field(default_factory=dict)
    channel_to_index: dict[str, int] = field(default_factory=dict)
    feature_to_index: dict[str, int] = field(default_factory=dict)
    is_sequence: bool = False
    is_sequence_col: bool = False
    is_sequence_row: bool = False
    has_locality_col: bool = False
    has_locality_row: bool = False
    sample_rate: Optional[int] = None
    multilabel: Optional[bool] = None
    name: str = ""
    subset_dir: Optional[str] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        from ..errors import AutoDLInputError

        if self.format not in FORMATS:
            raise AutoDLInputError("format", f"got {self.format!r}, expected one of {FORMATS}")
        if int(self.output_dim) < 1:
            raise AutoDLInputError("output_dim", f"got {self.output_dim}, expected an integer >= 1")
        for axis in ("sequence_size", "row_count", "col_count"):
            value = int(getattr(self, axis))
            if value == 0 or value < -1:
                raise AutoDLInputError(axis, f"got {value}, expected a positive size or -1 (variable)")

    # ------------------------------------------------------------------ shape
    @property
    def num_channels(self) -> int:
        """Channels with the official default: 3 if COMPRESSED else 1 when unset."""
        if self.raw_num_channels != -1:
            return int(self.raw_num_channels)
        return 3 if self.format == "COMPRESSED" else 1

    @property
    def tensor_shape(self) -> tuple[int, int, int, int]:
        """``(time, row, col, channel)`` with ``-1`` for variable dimensions."""
        return (int(self.sequence_size), int(self.row_count), int(self.col_count), self.num_channels)

    @property
    def shape(self) -> tuple[Optional[int], ...]:
        """:attr:`tensor_shape` with ``None`` for variable dimensions."""
        return tuple(None if d == -1 else d for d in self.tensor_shape)

    @property
    def vocabulary(self) -> dict[str, int]:
        """The text vocabulary (token -> index); empty for non-text data."""
        return self.channel_to_index

    @property
    def class_names(self) -> list[str]:
        """Class names ordered by index (``"0"``, ``"1"`` … when unnamed)."""
        names = [str(i) for i in range(self.output_dim)]
        for label, index in self.label_to_index.items():
            if 0 <= int(index) < self.output_dim:
                names[int(index)] = label
        return names

    @property
    def effective_sample_rate(self) -> int:
        """:attr:`sample_rate`, or 16 kHz when unknown (the official assumption)."""
        return int(self.sample_rate or DEFAULT_SAMPLE_RATE)

    def replace(self, **changes: Any) -> "Metadata":
        """A copy with some fields changed (for example the test ``sample_count``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (used by ``save``/``load`` and ``inspect --json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Metadata":
        """Inverse of :meth:`to_dict`; unknown keys are rejected."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            from ..errors import AutoDLInputError

            raise AutoDLInputError("metadata", f"unknown fields {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_official(cls, meta: Any) -> "Metadata":
        """Convert anything with the official ``AutoDLMetadata`` methods.

        Lets the drop-in ``model.py`` run under the official ingestion
        program, whose metadata object is not ours.
        """
        if isinstance(meta, Metadata):
            return meta
        seq, row, col, ch = (int(v) for v in meta.get_tensor_shape())
        fmt = "COMPRESSED" if meta.is_compressed(0) else ("SPARSE" if meta.is_sparse(0) else "DENSE")
        name = str(getattr(meta, "get_dataset_name", lambda: "")())
        return cls(
            output_dim=int(meta.get_output_size()),
            sample_count=int(meta.size()),
            sequence_size=seq,
            row_count=row,
            col_count=col,
            raw_num_channels=int(meta.get_num_channels(0)),
            format=fmt,
            label_to_index=dict(meta.get_label_to_index_map()),
            channel_to_index=dict(meta.get_channel_to_index_map()),
            name=name,
            # the official get_dataset_name() is the subset folder: keep it where it is one
            subset_dir=name if name and os.path.isdir(name) else None,
        )

    def extras(self) -> dict[str, Any]:
        """The facts :data:`EXTRAS_PREFIX` records (fields of :data:`EXTRA_FIELDS` that are set)."""
        return {k: getattr(self, k) for k in EXTRA_FIELDS if getattr(self, k) is not None}

    def with_extras(self, extras: dict[str, Any]) -> "Metadata":
        """A copy with the recorded extras filled in where this metadata has none."""
        changes = {k: v for k, v in extras.items() if k in EXTRA_FIELDS and getattr(self, k) is None}
        if "sample_rate" in changes:
            changes["sample_rate"] = int(changes["sample_rate"])
        return self.replace(**changes) if changes else self

    # ------------------------------------------- official AutoDLMetadata API
    def get_dataset_name(self) -> str:
        """The subset folder where known (the official meaning), else the dataset name."""
        return self.subset_dir or self.name

    def is_compressed(self, bundle_index: int = 0) -> bool:
        return self.format == "COMPRESSED"

    def is_sparse(self, bundle_index: int = 0) -> bool:
        return self.format == "SPARSE"

    def get_bundle_size(self) -> int:
        return 1

    def get_matrix_size(self, bundle_index: int = 0) -> tuple[int, int]:
        return (int(self.row_count), int(self.col_count))

    def get_num_channels(self, bundle_index: int = 0) -> int:
        return self.num_channels

    def get_tensor_size(self, bundle_index: int = 0) -> tuple[int, int, int]:
        return self.tensor_shape[1:]

    def get_tensor_shape(self, bundle_index: int = 0) -> tuple[int, int, int, int]:
        return self.tensor_shape

    def get_sequence_size(self) -> int:
        return int(self.sequence_size)

    def get_output_size(self) -> int:
        return int(self.output_dim)

    def size(self) -> int:
        return int(self.sample_count)

    def get_label_to_index_map(self) -> dict[str, int]:
        return self.label_to_index

    def get_channel_to_index_map(self) -> dict[str, int]:
        return self.channel_to_index

    def get_feature_to_index_map(self) -> dict[str, int]:
        return self.feature_to_index


def extras_comment(metadata: Metadata) -> str:
    """The comment line to append to ``metadata.textproto`` ('' when there is nothing to record)."""
    import json

    extras = metadata.extras()
    return f"{EXTRAS_PREFIX}{json.dumps(extras, sort_keys=True)}\n" if extras else ""


def extras_from_text(text: str) -> dict[str, Any]:
    """The extras recorded in the text of a ``metadata.textproto`` (:data:`EXTRAS_PREFIX` lines); ``{}`` when none.

    A damaged comment is skipped rather than failing the read: the official fields are intact.
    """
    import json

    found: dict[str, Any] = {}
    for line in text.splitlines():
        if line.startswith(EXTRAS_PREFIX):
            try:
                value = json.loads(line[len(EXTRAS_PREFIX):])
            except ValueError:
                continue
            if isinstance(value, dict):
                found.update({k: v for k, v in value.items() if k in EXTRA_FIELDS})
    if "sample_rate" in found:
        try:
            rate = int(found["sample_rate"])
        except (TypeError, ValueError):
            rate = 0
        if rate > 0:
            found["sample_rate"] = rate
        else:
            del found["sample_rate"]  # not a rate: as if unrecorded (16 kHz assumed)
    return found


def read_extras(path) -> dict[str, Any]:
    """The extras recorded in a ``metadata.textproto`` (a subset folder or the file); ``{}`` when none."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        path = path / "metadata.textproto"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return extras_from_text(text)
