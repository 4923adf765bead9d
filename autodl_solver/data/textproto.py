"""``metadata.textproto``: the official ``DataSpecification`` in protobuf text format.

Reading goes through ``google.protobuf.text_format.Merge`` into the
``DataSpecification`` class of :mod:`autodl_solver.data.protos`, exactly as
the official ``AutoDLMetadata`` does, so the official defaults apply
(``sequence_size`` 1 when absent, ``num_channels`` -1 meaning "3 if
COMPRESSED else 1", ``format`` DENSE). Writing goes through
``text_format.MessageToString`` of the same class, so the official reader
accepts what we write, whatever the map keys contain (quotes, backslashes,
unicode, the empty string).

Map keys are kept verbatim. The official formatting toolkit writes keys as
``key: '<repr(str(k))>'`` (and its text converter already stores each token
as ``repr(token)[1:-1]``, i.e. escaped once more); both readers return the
key text after one level of text-format unescaping, and so do we.
"""
from __future__ import annotations

import os
from pathlib import Path

from google.protobuf import text_format

from ..errors import AutoDLInputError
from ..utils.atomic import atomic_write_text
from .metadata import Metadata, extras_from_text
from .protos import DataSpecification, MatrixSpec

METADATA_FILE = "metadata.textproto"
_FORMAT_NAMES = {MatrixSpec.DENSE: "DENSE", MatrixSpec.SPARSE: "SPARSE", MatrixSpec.COMPRESSED: "COMPRESSED"}
_FORMAT_VALUES = {name: value for value, name in _FORMAT_NAMES.items()}


def metadata_path(subset_dir: str | os.PathLike) -> Path:
    """``subset_dir/metadata.textproto`` (or ``subset_dir`` itself when it is that file)."""
    path = Path(subset_dir)
    return path if path.is_file() else path / METADATA_FILE


def _default_name(path: Path) -> str:
    """``X`` for ``.../X.data/<subset>/metadata.textproto``, else the subset folder."""
    data_dir = path.parent.parent
    if data_dir.name.endswith(".data") and len(data_dir.name) > 5:
        return data_dir.name[: -len(".data")]
    return str(path.parent)


def spec_to_metadata(spec, where: str | os.PathLike, name: str = "") -> Metadata:
    """Convert a parsed ``DataSpecification`` into :class:`Metadata`.

    Raises
    ------
    AutoDLInputError
        Naming ``where`` when ``output_dim`` or ``matrix_spec`` is missing,
        there is more than one bundle, or a size is invalid.
    """
    if not spec.HasField("output_dim"):
        raise AutoDLInputError(where, "no output_dim (the number of classes) in the metadata")
    if len(spec.matrix_spec) == 0:
        raise AutoDLInputError(where, "no matrix_spec in the metadata (expected exactly one)")
    if len(spec.matrix_spec) > 1:
        raise AutoDLInputError(where, f"{len(spec.matrix_spec)} matrix_spec bundles; only one is supported "
                                      "(every AutoDL 2019 dataset has one)")
    matrix = spec.matrix_spec[0]
    for axis in ("row_count", "col_count"):
        if not matrix.HasField(axis):
            raise AutoDLInputError(where, f"matrix_spec has no {axis} (expected a size or -1 for variable)")
    try:
        return Metadata(
            output_dim=int(spec.output_dim),
            sample_count=int(spec.sample_count),
            sequence_size=int(spec.sequence_size),
            row_count=int(matrix.row_count),
            col_count=int(matrix.col_count),
            raw_num_channels=int(matrix.num_channels),
            format=_FORMAT_NAMES[matrix.format],
            label_to_index={str(k): int(v) for k, v in spec.label_to_index_map.items()},
            channel_to_index={str(k): int(v) for k, v in spec.channel_to_index_map.items()},
            feature_to_index={str(k): int(v) for k, v in spec.feature_to_index_map.items()},
            is_sequence=bool(spec.is_sequence),
            is_sequence_col=bool(matrix.is_sequence_col),
            is_sequence_row=bool(matrix.is_sequence_row),
            has_locality_col=bool(matrix.has_locality_col),
            has_locality_row=bool(matrix.has_locality_row),
            name=name,
        )
    except AutoDLInputError as exc:
        raise AutoDLInputError(where, f"field {exc.where}: {exc.problem}") from None


def parse_metadata(text: str, where: str | os.PathLike = "metadata.textproto", name: str = "") -> Metadata:
    """Parse the text of a ``metadata.textproto`` into :class:`Metadata`.

    The facts our writer records in a comment line (:data:`~autodl_solver.data.metadata.EXTRAS_PREFIX`,
    the speech ``sample_rate``) are applied, so every reader sees them; official files have none.
    """
    spec = DataSpecification()
    try:
        text_format.Merge(text, spec)
    except text_format.ParseError as exc:
        raise AutoDLInputError(where, f"malformed text-format DataSpecification: {exc}") from None
    return spec_to_metadata(spec, where, name).with_extras(extras_from_text(text))


def read_metadata(subset_dir: str | os.PathLike) -> Metadata:
    """Read ``<subset_dir>/metadata.textproto`` with the official defaults.

    Parameters
    ----------
    subset_dir : path
        A subset folder such as ``X.data/train`` (or the metadata file itself).

    Returns
    -------
    Metadata
        ``name`` is ``X`` when the folder sits in ``X.data``; ``multilabel``
        is ``None`` (the format does not record it); ``sample_rate`` is the
        rate our writer recorded in its extras comment, else ``None``.

    Raises
    ------
    AutoDLInputError
        Naming the file when it is missing, unreadable or malformed.
    """
    path = metadata_path(subset_dir)
    if not path.is_file():
        raise AutoDLInputError(path, "metadata file not found (every AutoDL subset folder has one)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AutoDLInputError(path, f"cannot read the metadata file: {exc}") from None
    return parse_metadata(text, path, _default_name(path))


def metadata_to_spec(metadata: Metadata):
    """Build the official ``DataSpecification`` message for ``metadata``."""
    spec = DataSpecification(
        is_sequence=bool(metadata.is_sequence),
        sample_count=int(metadata.sample_count),
        sequence_size=int(metadata.sequence_size),
        output_dim=int(metadata.output_dim),
    )
    matrix = spec.matrix_spec.add(
        col_count=int(metadata.col_count),
        row_count=int(metadata.row_count),
        is_sequence_col=bool(metadata.is_sequence_col),
        is_sequence_row=bool(metadata.is_sequence_row),
        has_locality_col=bool(metadata.has_locality_col),
        has_locality_row=bool(metadata.has_locality_row),
        format=_FORMAT_VALUES[metadata.format],
    )
    if int(metadata.raw_num_channels) != -1:  # absent means "official default" on reading
        matrix.num_channels = int(metadata.raw_num_channels)
    for field, mapping in (("label_to_index_map", metadata.label_to_index),
                           ("channel_to_index_map", metadata.channel_to_index),
                           ("feature_to_index_map", metadata.feature_to_index)):
        target = getattr(spec, field)
        for key, value in mapping.items():
            target[str(key)] = int(value)
    return spec


def metadata_to_text(metadata: Metadata) -> str:
    """The ``metadata.textproto`` text for ``metadata`` (UTF-8, official field names)."""
    return text_format.MessageToString(metadata_to_spec(metadata), as_utf8=True)


def write_metadata(path: str | os.PathLike, metadata: Metadata) -> Path:
    """Write ``metadata`` as a ``metadata.textproto``, atomically.

    Parameters
    ----------
    path : path
        The file to write, or a folder (``metadata.textproto`` is written in it).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if path.is_dir():
        path = path / METADATA_FILE
    atomic_write_text(path, metadata_to_text(metadata))
    return path
